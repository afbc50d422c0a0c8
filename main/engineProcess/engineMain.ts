// The engine process: the StrataService (node-llama-cpp, the addon, SQLite, tokenizer and parse
// workers) behind the UI side's calls. Started by EngineClient as a Node child (strata serve, tests)
// or an Electron utilityProcess (the app). If llama.cpp aborts, only this process dies; the UI side
// says so, starts a new one and the last model opens again.
import type { StrataEvents } from '../../preload/api.ts';
import { dispatch } from '../host/dispatch.ts';
import { StrataService } from '../services/StrataService.ts';
import { START_OPTIONS_ENV, type EngineStartOptions, type FromEngine, type ToEngine } from './protocol.ts';

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

const electronPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
const post = (message: FromEngine): void => {
  if (electronPort) electronPort.postMessage(message);
  else process.send?.(message);
};
const onMessage = (listener: (message: ToEngine) => void): void => {
  if (electronPort) electronPort.on('message', (event) => listener(event.data as ToEngine));
  else process.on('message', (message) => listener(message as ToEngine));
};

async function main(): Promise<void> {
  const options = JSON.parse(process.env[START_OPTIONS_ENV] ?? 'null') as EngineStartOptions | null;
  if (!options?.dataDir) throw new Error(`${START_OPTIONS_ENV} is missing: the engine process is started by EngineClient.`);
  const service = new StrataService({
    dataDir: options.dataDir,
    host: options.host,
    version: options.version,
    emit: <E extends keyof StrataEvents>(event: E, payload: StrataEvents[E]) => post({ kind: 'event', event, payload } as FromEngine),
  });
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= service.dispose().finally(() => process.exit(0));
    return stopping;
  };
  onMessage((message) => {
    if (message.kind === 'shutdown') return void stop();
    if (message.kind === 'call') void dispatch(service, message.channel, message.arg).then((envelope) => post({ kind: 'result', id: message.id, envelope }));
  });
  process.once('SIGTERM', () => void stop());
  // The UI side went away without a word (it crashed): no engine may outlive it.
  if (!electronPort) process.once('disconnect', () => void stop());
  post({ kind: 'ready', pid: process.pid });
  if (options.restoreModel) void service.restoreLastModel();
}

main().catch((error: unknown) => {
  post({ kind: 'fatal', message: (error as Error).message });
  process.exit(1);
});
