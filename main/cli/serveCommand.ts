// strata serve: the browser host. Prints the tokened URL and runs until interrupted. The engine runs
// in a child process (main/engineProcess/): this process only serves the page and routes calls.
import { engineEntryUrl } from '../engineProcess/engineEntry.ts';
import { EngineClient } from '../engineProcess/EngineClient.ts';
import { forkEngineProcess } from '../engineProcess/nodeTransport.ts';
import { appVersion } from '../host/appVersion.ts';
import { BrowserHost } from '../host/BrowserHost.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import { parseOptions } from './parseOptions.ts';
import { UsageError } from './UsageError.ts';

export async function runServe(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    port: { type: 'string', default: '0' },
    'data-dir': { type: 'string' },
    'renderer-dir': { type: 'string' },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got "${values.port}"`);
  const dataDir = resolveDataDir(values['data-dir']);
  // Before the service opens the catalog: a second Strata on this folder stops here (exit 2).
  const lock = claimDataDir(dataDir, 'strata serve');
  try {
    let host: BrowserHost | null = null;
    const entry = await engineEntryUrl();
    const engine: EngineClient = new EngineClient({
      startOptions: { dataDir, host: 'browser', version: appVersion() },
      startProcess: (options) => {
        const transport = forkEngineProcess(entry, options, (line) => engine.noteStderr(line));
        console.log(`Engine process started (pid ${transport.pid})`);
        return transport;
      },
      emit: (event, payload) => host?.broadcast(event, payload),
      log: (line) => process.stderr.write(`[engine] ${line}\n`),
    });
    host = new BrowserHost({ api: engine.api, port, rendererDir: values['renderer-dir'] });
    try {
      await engine.start();
      const url = await host.listen();
      console.log(`Strata is serving ${dataDir}`);
      console.log(`Open ${url}`);
    } catch (error) {
      await engine.dispose();
      throw error;
    }
    await new Promise<void>((resolvePromise) => {
      const stop = () => resolvePromise();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await host.close();
    await engine.dispose();
    return 0;
  } finally {
    lock.release();
  }
}
