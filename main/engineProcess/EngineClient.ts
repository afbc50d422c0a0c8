// The UI side's handle on the engine process: the contract (StrataApi) as calls over a transport, the
// engine's events passed on, and a restart when the process dies. It owns nothing heavy: app.info is
// answered from the last engine's reply, file dialogs stay on the UI side, everything else crosses.
//
// When the engine dies (SIGKILL, a llama.cpp abort): every call in flight fails with ENGINE_STOPPED
// (an answer in flight ends as an error; the new engine stores it as one: StrataService's start-up
// repair), the user is told "The engine stopped: … restarting", a new process starts and reopens the
// last model — unless it died while opening a model, which may be the cause: then that model is not
// reopened and the notice says so. Calls made while it restarts wait for it. Three deaths within a
// minute stop the restarts; calls then fail with the reason.
import { buildApi, type AppInfo, type Channel, type Envelope, type StrataApi, type StrataEvents } from '../../preload/api.ts';
import { errorPayload, StrataError } from '../engine/errors.ts';
import type { EngineStartOptions, EngineTransport, FromEngine } from './protocol.ts';

export type EventSink = <E extends keyof StrataEvents>(event: E, payload: StrataEvents[E]) => void;

/** Channels the UI side answers itself (native dialogs live there). */
export type LocalHandlers = Partial<Record<Channel, (arg: unknown) => Promise<unknown>>>;

export interface EngineClientOptions {
  startOptions: Omit<EngineStartOptions, 'restoreModel'>;
  startProcess: (options: EngineStartOptions) => EngineTransport;
  emit: EventSink;
  local?: LocalHandlers;
  /** Lines the engine wrote on stderr (kept for the reason of a death, passed on for logs). */
  log?: (line: string) => void;
}

const CRASH_WINDOW_MS = 60_000;
const MAX_CRASHES_IN_WINDOW = 3;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const STDERR_LINES_KEPT = 20;

interface Pending {
  channel: Channel;
  resolve: (envelope: Envelope<unknown>) => void;
}

export class EngineClient {
  readonly api: StrataApi;
  private readonly options: EngineClientOptions;
  private transport: EngineTransport | null = null;
  private ready: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private appInfo: AppInfo | null = null;
  private crashes: number[] = [];
  private stoppedFor: string | null = null;
  private disposed = false;
  private exited: Promise<void> = Promise.resolve();
  private readonly stderr: string[] = [];
  /** The model the engine has open (from its models.onStatus), and the one it is opening. */
  private openPath: string | null = null;
  private openingPath: string | null = null;
  private starts = 0;

  constructor(options: EngineClientOptions) {
    this.options = options;
    this.api = buildApi((channel, arg) => this.call(channel, arg));
  }

  /** The engine process's id (tests kill it; logs name it). */
  get pid(): number | undefined {
    return this.transport?.pid;
  }

  /** How many engine processes were started (1 + restarts). */
  get startCount(): number {
    return this.starts;
  }

  /** Starts the first engine process; resolves when it is ready for calls. */
  start(): Promise<void> {
    return this.launch(true);
  }

  /** The contract call as an envelope, for the hosts' dispatchers. */
  async call(channel: Channel, arg: unknown): Promise<Envelope<unknown>> {
    const local = this.options.local?.[channel];
    if (local) {
      try {
        return { ok: true, value: (await local(arg)) ?? null };
      } catch (error) {
        return { ok: false, error: errorPayload(error) };
      }
    }
    // The UI side must answer this at once, whatever the engine is doing.
    if (channel === 'app.info' && this.appInfo) return { ok: true, value: this.appInfo };
    if (this.disposed) return { ok: false, error: { code: 'DISPOSED', message: 'Strata is shutting down.' } };
    await this.ready;
    if (this.stoppedFor !== null) return { ok: false, error: { code: 'ENGINE_STOPPED', message: this.stoppedFor } };
    const transport = this.transport;
    if (!transport) return { ok: false, error: { code: 'ENGINE_STOPPED', message: 'The engine is not running.' } };
    return this.send(transport, channel, arg);
  }

  /** One call to this engine process; resolved by its result, or by its death (onDeath). */
  private send(transport: EngineTransport, channel: Channel, arg: unknown): Promise<Envelope<unknown>> {
    const id = this.nextId++;
    return new Promise<Envelope<unknown>>((resolve) => {
      this.pending.set(id, { channel, resolve });
      try {
        transport.send({ kind: 'call', id, channel, arg });
      } catch (error) {
        this.pending.delete(id);
        resolve({ ok: false, error: { code: 'ENGINE_STOPPED', message: `The engine could not be reached: ${(error as Error).message}` } });
      }
    });
  }

  /** Asks the engine to close its model and catalog, then ends it (killed if it does not stop in time). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const transport = this.transport;
    if (!transport) return;
    try {
      transport.send({ kind: 'shutdown' });
    } catch {
      // already gone
    }
    const timer = setTimeout(() => transport.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private launch(restoreModel: boolean): Promise<void> {
    this.starts++;
    this.stderr.length = 0;
    const transport = this.options.startProcess({ ...this.options.startOptions, restoreModel });
    this.transport = transport;
    let markExited!: () => void;
    this.exited = new Promise<void>((resolve) => (markExited = resolve));
    this.ready = new Promise<void>((resolve, reject) => {
      transport.onMessage((message) => this.receive(message, resolve));
      transport.onExit((how) => {
        markExited();
        if (this.transport === transport) this.onDeath(how, reject);
      });
    });
    // A caller waiting on `ready` sees the outcome through stoppedFor; never an unhandled rejection.
    this.ready = this.ready.catch(() => undefined);
    return this.ready.then(() => {
      if (this.stoppedFor !== null) throw new StrataError('ENGINE_STOPPED', this.stoppedFor);
    });
  }

  /** stderr lines from the transport, kept for the reason of a death. */
  noteStderr(line: string): void {
    this.stderr.push(line);
    if (this.stderr.length > STDERR_LINES_KEPT) this.stderr.shift();
    this.options.log?.(line);
  }

  private receive(message: FromEngine, ready: () => void): void {
    switch (message.kind) {
      case 'ready':
        this.stoppedFor = null;
        // Cache app.info at once so the UI side answers it without the engine from now on.
        void this.fetchAppInfo().finally(ready);
        return;
      case 'result': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        pending.resolve(message.envelope);
        return;
      }
      case 'event':
        if (message.event === 'models.onStatus') {
          const status = message.payload as StrataEvents['models.onStatus'];
          // Which model is open, and which one is opening (a death then may be its fault), from the
          // engine's own reports: a model it reopens by itself reports them too.
          if (status.state === 'loading') this.openingPath = status.path;
          else if (status.state === 'ready') [this.openPath, this.openingPath] = [status.path, null];
          else if (status.state === 'failed') [this.openPath, this.openingPath] = [null, null];
          else this.openPath = null;
        }
        this.options.emit(message.event, message.payload as never);
        return;
      case 'fatal':
        this.noteStderr(message.message);
        return;
    }
  }

  private async fetchAppInfo(): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    const envelope = await this.send(transport, 'app.info', undefined);
    if (envelope.ok) this.appInfo = envelope.value as AppInfo;
  }

  private onDeath(how: { code: number | null; signal: string | null }, failStart: (error: Error) => void): void {
    this.transport = null;
    const cause = how.signal ? `killed by ${how.signal}` : `exit code ${how.code}`;
    const last = this.stderr.filter((line) => line.trim() !== '').at(-1);
    const reason = `${cause}${last ? `; its last words: ${last.trim().slice(0, 300)}` : ''}`;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      const during = pending.channel === 'chat.ask' || pending.channel === 'chat.regenerate' ? ' The answer in progress ended with this error; ask again.' : '';
      pending.resolve({ ok: false, error: { code: 'ENGINE_STOPPED', message: `The engine stopped (${reason}).${during}` } });
    }
    if (this.disposed) return;
    // The header must not show a model no process has open.
    const wasOpen = this.openPath ?? this.openingPath;
    if (wasOpen) this.options.emit('models.onStatus', { state: 'closed', path: wasOpen });
    const suspect = this.openingPath;
    this.openPath = null;
    this.openingPath = null;
    const now = Date.now();
    this.crashes = [...this.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    if (this.crashes.length >= MAX_CRASHES_IN_WINDOW) {
      this.stoppedFor = `The engine stopped ${this.crashes.length} times within a minute (last: ${reason}); Strata stopped restarting it. Quit and start Strata again.`;
      this.options.emit('app.onNotice', { message: this.stoppedFor, tone: 'error' });
      failStart(new StrataError('ENGINE_STOPPED', this.stoppedFor));
      return;
    }
    const notReopened = suspect ? ` It stopped while opening ${suspect}, which may be the cause, so that model was not opened again.` : '';
    this.options.emit('app.onNotice', { message: `The engine stopped (${reason}); restarting it. Nothing stored was lost.${notReopened}`, tone: 'error' });
    failStart(new StrataError('ENGINE_STOPPED', reason));
    this.launch(suspect === null).catch(() => undefined);
  }
}
