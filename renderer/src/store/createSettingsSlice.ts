import type { EngineSettings, ErrorPayload } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export interface SettingsSlice {
  settings: EngineSettings | null;
  /** Loading the settings failed (e.g. an engine process without the channel). */
  settingsLoadError: string | null;
  settingsSaving: boolean;

  loadSettings(): Promise<void>;
  /** Resolves with the engine's refusal ({code, message}) or null when it took the change. */
  updateSettings(patch: Partial<EngineSettings>): Promise<ErrorPayload | null>;
}

export const createSettingsSlice: SliceCreator<SettingsSlice> = (set, get) => ({
  settings: null,
  settingsLoadError: null,
  settingsSaving: false,

  async loadSettings() {
    try {
      set({ settings: await getStrataClient().api.settings.get(), settingsLoadError: null });
    } catch (err) {
      set({ settingsLoadError: toErrorPayload(err).message });
    }
  },

  async updateSettings(patch) {
    set({ settingsSaving: true });
    try {
      const settings = await getStrataClient().api.settings.update(patch);
      set({ settings, settingsSaving: false });
    } catch (err) {
      set({ settingsSaving: false });
      // Nothing was stored. The panel keeps the user's draft; only if the engine's values differ from the
      // ones shown (another window changed them) do they replace them, so Revert shows what is stored.
      const stored = await getStrataClient().api.settings.get().catch(() => null);
      if (stored && JSON.stringify(stored) !== JSON.stringify(get().settings)) set({ settings: stored });
      await get().refreshModels();
      return toErrorPayload(err);
    }
    // The engine reopened the model under the new settings: its engine, budgets and residency changed.
    await get().refreshModels();
    await get().refreshMemory();
    const conversationId = get().activeConversationId;
    if (conversationId) await get().refreshResidency(conversationId);
    return null;
  },
});
