// The engine process in the Electron app: a utilityProcess (a Node.js child Electron manages), with
// messages as structured clones over its MessagePort and stderr kept for the reason of a death.
import { utilityProcess } from 'electron';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { START_OPTIONS_ENV, type EngineStartOptions, type EngineTransport, type FromEngine } from './protocol.ts';

export function forkEngineUtilityProcess(entry: URL, options: EngineStartOptions, onStderrLine: (line: string) => void): EngineTransport {
  const child = utilityProcess.fork(fileURLToPath(entry), [], {
    env: { ...process.env, [START_OPTIONS_ENV]: JSON.stringify(options) },
    stdio: 'pipe',
    serviceName: 'Strata engine',
  });
  if (child.stderr) createInterface({ input: child.stderr }).on('line', onStderrLine);
  child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(chunk));
  // Messages posted before the process has spawned are queued by Electron.
  return {
    get pid() {
      return child.pid;
    },
    send: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message: unknown) => listener(message as FromEngine)),
    onExit: (listener) => child.once('exit', (code) => listener({ code, signal: null })),
    kill: () => void child.kill(),
  };
}
