// The engine settings as the catalog stores them: validated over the defaults, with the host's
// per-process override (the CLI's flags) on top, and a "pending" set that a model reopen tries before
// it is stored (settings are transactional: stored only if the model opened with them).
import type { Catalog } from '../catalog/Catalog.ts';
import type { EngineSettings } from '../engine/engineTypes.ts';
import { DEFAULT_SETTINGS, mergeSettings } from '../engine/settings/engineSettings.ts';

const SETTINGS_KEY = 'engineSettings';

export class SettingsStore {
  private readonly catalog: Catalog;
  private readonly override: Partial<EngineSettings> | undefined;
  /** Settings being tried by a reopen; stored only once the model opened with them. */
  private pending: EngineSettings | null = null;

  constructor(catalog: Catalog, override?: Partial<EngineSettings>) {
    this.catalog = catalog;
    this.override = override;
  }

  /** In effect now: pending over stored over the defaults (a stored value that no longer validates falls back to the defaults), then the override. */
  current(): EngineSettings {
    let settings: EngineSettings;
    try {
      settings = this.pending ?? mergeSettings(DEFAULT_SETTINGS, this.stored());
    } catch {
      settings = { ...DEFAULT_SETTINGS };
    }
    return this.override ? mergeSettings(settings, this.override) : settings;
  }

  /** The stored values with `patch` applied and validated (throws SettingsError); nothing is saved. */
  withPatch(patch: Partial<EngineSettings>): EngineSettings {
    return mergeSettings(mergeSettings(DEFAULT_SETTINGS, this.stored()), patch);
  }

  save(settings: EngineSettings): void {
    this.catalog.setSetting(SETTINGS_KEY, settings);
  }

  /** Runs `reopen` with `settings` in effect; they are saved only if it succeeds. */
  async tryWith(settings: EngineSettings, reopen: () => Promise<void>): Promise<void> {
    this.pending = settings;
    try {
      await reopen();
    } finally {
      this.pending = null;
    }
    this.save(settings);
  }

  private stored(): Partial<EngineSettings> {
    return this.catalog.getSetting<Partial<EngineSettings>>(SETTINGS_KEY) ?? {};
  }
}
