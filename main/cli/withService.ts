// What every library command of the CLI shares: the data folder claimed (a second Strata on it stops
// with exit 2), the service started and disposed, and with --json one object on stdout for every
// outcome, failures included ({"error": {"code", "message"}}).
import { appVersion } from '../host/appVersion.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import type { EngineSettings } from '../../preload/api.ts';
import { errorPayload } from '../engine/errors.ts';
import { StrataService, type EventSink } from '../services/StrataService.ts';

export interface ServiceRun {
  dataDir?: string;
  json: boolean;
  command: string;
  /** Settings for this run only, over the stored ones (like strata ask's flags). */
  settingsOverride?: Partial<EngineSettings>;
  /** The service's events (notices are printed on stderr in any case). */
  onEvent?: EventSink;
}

/** Runs `work` on a started service; returns the exit code (0 done, 1 failed). */
export async function withService(run: ServiceRun, work: (service: StrataService) => Promise<unknown>): Promise<number> {
  const dataDir = resolveDataDir(run.dataDir);
  const lock = claimDataDir(dataDir, run.command);
  let service: StrataService | null = null;
  try {
    service = new StrataService({
      dataDir,
      host: 'browser',
      version: appVersion(),
      settingsOverride: run.settingsOverride,
      emit: (event, payload) => {
        if (event === 'app.onNotice') console.error(`strata: ${(payload as { message: string }).message}`);
        run.onEvent?.(event, payload);
      },
    });
    const result = await work(service);
    if (run.json) console.log(JSON.stringify(result ?? {}));
    return 0;
  } catch (error) {
    if (run.json) console.log(JSON.stringify({ error: errorPayload(error) }));
    console.error(`strata: ${(error as Error).message}`);
    return 1;
  } finally {
    await service?.dispose();
    lock.release();
  }
}
