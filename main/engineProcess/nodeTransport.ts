// The engine process as a Node child (strata serve, the tests): fork with Node's 'advanced'
// serialization (structured clone: Uint8Array bytes cross as they are), stderr kept for the reason
// of a death, stdout passed to our stderr so a host's own stdout (its URL line) stays clean.
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { START_OPTIONS_ENV, type EngineStartOptions, type EngineTransport, type FromEngine } from './protocol.ts';

export function forkEngineProcess(entry: URL, options: EngineStartOptions, onStderrLine: (line: string) => void): EngineTransport {
  const child = fork(fileURLToPath(entry), [], {
    env: { ...process.env, [START_OPTIONS_ENV]: JSON.stringify(options) },
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Not the parent's flags (a test runner's --test…); Node strips the sources' types by itself.
    execArgv: [],
  });
  createInterface({ input: child.stderr! }).on('line', onStderrLine);
  child.stdout!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return {
    get pid() {
      return child.pid;
    },
    send: (message) => {
      if (!child.connected) throw new Error('the engine process is not connected');
      child.send(message);
    },
    onMessage: (listener) => child.on('message', (message) => listener(message as FromEngine)),
    onExit: (listener) => child.once('exit', (code, signal) => listener({ code, signal })),
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}
