// Electron main process: one window, and the contract's channels routed to the engine process (a
// utilityProcess running StrataService: main/engineProcess/). Nothing heavy runs here, so the window
// never waits on llama.cpp, and an engine that dies is restarted. The renderer reaches nothing but
// the contract's channels (sandboxed, context-isolated, no Node integration, CSP in the page,
// navigation and new windows refused, every permission request denied, links opened only after the
// user confirms).
import { BrowserWindow, app, dialog, ipcMain, session, shell, type IpcMainInvokeEvent } from 'electron';
import { fileURLToPath } from 'node:url';
import { listChannels, type Channel, type StrataEvents } from '../preload/api.ts';
import { engineEntryUrl } from './engineProcess/engineEntry.ts';
import { EngineClient } from './engineProcess/EngineClient.ts';
import { forkEngineUtilityProcess } from './engineProcess/electronTransport.ts';
import { appVersion } from './host/appVersion.ts';
import { resolveDataDir } from './host/dataDir.ts';
import { DataDirLockedError, claimDataDir, type DataDirLock } from './host/dataDirLock.ts';

app.setName('Strata');

const rendererDevUrl = process.env.ELECTRON_RENDERER_URL;
const rendererFile = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const preloadFile = fileURLToPath(new URL('../preload/index.cjs', import.meta.url));

let mainWindow: BrowserWindow | null = null;

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index >= 0) return process.argv[index + 1];
  return process.argv.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? '';
  if (rendererDevUrl) return url.startsWith(rendererDevUrl);
  return url.startsWith('file://') && fileURLToPath(url.split(/[?#]/)[0]) === rendererFile;
}

function emit<E extends keyof StrataEvents>(event: E, payload: StrataEvents[E]): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(event, payload);
}

async function pickModel(): Promise<string | null> {
  const result = await dialog.showOpenDialog(mainWindow!, {
    title: 'Open a GGUF model',
    properties: ['openFile'],
    filters: [{ name: 'GGUF models', extensions: ['gguf'] }],
  });
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

async function pickDocuments(): Promise<string[]> {
  const result = await dialog.showOpenDialog(mainWindow!, {
    title: 'Add documents',
    properties: ['openFile', 'multiSelections'],
    filters: [
      { name: 'Documents', extensions: ['txt', 'md', 'markdown', 'pdf', 'docx'] },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  return result.canceled ? [] : result.filePaths;
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'Strata',
    show: false,
    webPreferences: {
      preload: preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void confirmAndOpen(window, url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  if (rendererDevUrl) void window.loadURL(rendererDevUrl);
  else void window.loadFile(rendererFile);
  return window;
}

/** A link from an answer or a document opens in the browser only once the user said yes to that address. */
async function confirmAndOpen(window: BrowserWindow, url: string): Promise<void> {
  const { response } = await dialog.showMessageBox(window, {
    type: 'question',
    buttons: ['Open in browser', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    message: 'Open this link in your browser?',
    detail: url,
  });
  if (response === 0) await shell.openExternal(url);
}

function showMainWindow(): void {
  if (!mainWindow || mainWindow.isDestroyed()) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

/** The data dir's lock, or null after telling the user why Strata cannot use the folder (and exiting). */
async function claimOrExplain(dataDir: string): Promise<DataDirLock | null> {
  try {
    return claimDataDir(dataDir, 'the Strata app');
  } catch (error) {
    // Before 'ready' the box goes only to stderr on Linux.
    await app.whenReady();
    const locked = error instanceof DataDirLockedError;
    dialog.showErrorBox(locked ? 'Strata is already using this folder' : 'Strata cannot use its data folder', (error as Error).message);
    app.exit(locked ? 2 : 1);
    return null;
  }
}

async function start(): Promise<void> {
  const dataDir = resolveDataDir(argValue('--data-dir'));
  // Chromium's profile lives in the data dir (the default data dir is Electron's userData folder
  // already), so the single-instance lock below is per data dir: a second window on the same folder
  // focuses the first, and two apps on two folders can both run.
  app.setPath('userData', dataDir);
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => showMainWindow());
  // Another host (strata serve, strata ask) may hold the folder: say which, and exit 2.
  const lock = await claimOrExplain(dataDir);
  if (!lock) return;
  await app.whenReady();
  // Nothing in Strata needs the camera, microphone, notifications, geolocation…: deny them all.
  session.defaultSession.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  const entry = await engineEntryUrl();
  const engine: EngineClient = new EngineClient({
    startOptions: { dataDir, host: 'electron', version: appVersion() },
    startProcess: (options) => forkEngineUtilityProcess(entry, options, (line) => engine.noteStderr(line)),
    emit,
    local: { 'models.pickFile': () => pickModel(), 'documents.pickFiles': () => pickDocuments() },
    log: (line) => process.stderr.write(`[engine] ${line}\n`),
  });
  for (const channel of listChannels()) {
    ipcMain.handle(channel, (event, arg: unknown) => {
      if (!isTrustedSender(event)) return { ok: false, error: { code: 'FORBIDDEN', message: 'Untrusted sender' } };
      return engine.call(channel as Channel, arg);
    });
  }
  void engine.start().catch((error: unknown) => emit('app.onNotice', { message: `The engine could not start: ${(error as Error).message}`, tone: 'error' }));
  mainWindow = createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    // The lock also goes on process exit if quitting does not wait for the engine.
    void engine.dispose().finally(() => lock.release());
  });
}

void start();
