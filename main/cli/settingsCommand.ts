// strata settings get [KEY] | set KEY VALUE: the Settings tab's values, validated by the service
// exactly as the window's are (a refused value changes nothing and says why).
import type { EngineSettings } from '../../preload/api.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { parseOptions } from './parseOptions.ts';
import { UsageError } from './UsageError.ts';
import { withService } from './withService.ts';

const KEYS = Object.keys(DEFAULT_SETTINGS) as Array<keyof EngineSettings>;

export const SETTINGS_USAGE = `Usage:
  strata settings get [KEY]       every setting, or one
  strata settings set KEY VALUE   change one (VALUE as JSON: 2048, null for automatic, [1,3], "q8_0")
Keys: ${KEYS.join(', ')}
Options: --data-dir D, --json`;

export async function runSettings(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(SETTINGS_USAGE);
    return 0;
  }
  const [action, key, raw, ...extra] = positionals;
  const run = { dataDir: values['data-dir'], json: values.json === true, command: 'strata settings' };
  if (key !== undefined && !KEYS.includes(key as keyof EngineSettings)) throw new UsageError(`Unknown setting: ${key} (one of ${KEYS.join(', ')})`);
  if (action === 'get') {
    if (raw !== undefined) throw new UsageError('strata settings get takes at most one KEY');
    return withService(run, async (service) => {
      const settings = await service.settings.get();
      const shown = key === undefined ? settings : { [key]: settings[key as keyof EngineSettings] };
      if (!run.json) for (const [name, value] of Object.entries(shown)) console.log(`${name} = ${JSON.stringify(value)}`);
      return { settings: shown };
    });
  }
  if (action === 'set') {
    if (key === undefined || raw === undefined || extra.length > 0) throw new UsageError('strata settings set needs KEY VALUE');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw; // a bare word: kvCacheType q8_0, engine standard
    }
    return withService(run, async (service) => {
      const settings = await service.settings.update({ [key]: value } as Partial<EngineSettings>);
      if (!run.json) console.log(`${key} = ${JSON.stringify(settings[key as keyof EngineSettings])}`);
      return { settings };
    });
  }
  throw new UsageError(action === undefined ? 'strata settings needs get or set' : `Unknown settings action: ${action}`);
}
