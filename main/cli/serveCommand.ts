// strata serve: the browser host. Prints the tokened URL and runs until interrupted.
import { appVersion } from '../host/appVersion.ts';
import { BrowserHost } from '../host/BrowserHost.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import { StrataService } from '../services/StrataService.ts';
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
    const service = new StrataService({
      dataDir,
      host: 'browser',
      version: appVersion(),
      emit: (event, payload) => host?.broadcast(event, payload),
    });
    host = new BrowserHost({ api: service, port, rendererDir: values['renderer-dir'] });
    try {
      const url = await host.listen();
      console.log(`Strata is serving ${dataDir}`);
      console.log(`Open ${url}`);
      void service.restoreLastModel();
    } catch (error) {
      await service.dispose();
      throw error;
    }
    await new Promise<void>((resolvePromise) => {
      const stop = () => resolvePromise();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await host.close();
    await service.dispose();
    return 0;
  } finally {
    lock.release();
  }
}
