// The messages between the UI side (Electron main, the browser host) and the engine process. Calls
// carry a contract channel and its argument and come back as an envelope; events flow one way, up.
// Both sides send structured-cloneable values (Node's 'advanced' serialization, Electron's
// MessagePort), so a document's bytes cross as a Uint8Array, not as base64.
import type { Channel, Envelope, StrataEvents } from '../../preload/api.ts';

export type ToEngine = { kind: 'call'; id: number; channel: Channel; arg: unknown } | { kind: 'shutdown' };

export type FromEngine =
  | { kind: 'ready'; pid: number }
  | { kind: 'result'; id: number; envelope: Envelope<unknown> }
  | { [E in keyof StrataEvents]: { kind: 'event'; event: E; payload: StrataEvents[E] } }[keyof StrataEvents]
  | { kind: 'fatal'; message: string };

/** What the engine process is started with (an environment variable: both transports pass one). */
export interface EngineStartOptions {
  dataDir: string;
  host: 'electron' | 'browser';
  version: string;
  /** Reopen the last model on start; false after the engine died while opening one (it may be the cause). */
  restoreModel: boolean;
}

export const START_OPTIONS_ENV = 'STRATA_ENGINE_OPTIONS';

/** One way to run the engine process: a Node child (fork) or an Electron utilityProcess. */
export interface EngineTransport {
  readonly pid: number | undefined;
  send(message: ToEngine): void;
  onMessage(listener: (message: FromEngine) => void): void;
  /** Once, when the process is gone: its exit code, or the signal that ended it. */
  onExit(listener: (how: { code: number | null; signal: string | null }) => void): void;
  kill(signal?: NodeJS.Signals): void;
}
