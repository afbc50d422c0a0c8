import type { AppInfo, ErrorPayload, HostKind, LocalModelFile, ModelInfo, StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { ConnectionState } from '../bridge/createSocketBridge.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export interface ModelError extends ErrorPayload {
  path: string;
}

export interface Notice {
  id: number;
  message: string;
  tone: 'error' | 'info';
}

export interface AppSlice {
  host: HostKind;
  appInfo: AppInfo | null;
  connection: ConnectionState;
  /** Set once the first round of loads has finished (ok or not). */
  loaded: boolean;
  model: ModelInfo | null;
  recentModels: ModelInfo[];
  /** GGUF files found on disk (null until looked for). */
  localModels: LocalModelFile[] | null;
  /** Path being loaded right now, from a call here or a models.onStatus event. */
  modelLoadingPath: string | null;
  modelError: ModelError | null;
  notices: Notice[];

  openModel(path: string): Promise<void>;
  pickAndOpenModel(): Promise<void>;
  forgetModel(id: string): Promise<void>;
  refreshModels(): Promise<void>;
  findLocalModels(): Promise<void>;
  applyModelStatus(event: StrataEvents['models.onStatus']): void;
  dismissModelError(): void;
  notify(message: string, tone?: Notice['tone']): void;
  dismissNotice(id: number): void;
}

let nextNoticeId = 1;

export const createAppSlice: SliceCreator<AppSlice> = (set, get) => ({
  host: getStrataClient().bridge.host,
  appInfo: null,
  connection: getStrataClient().socket?.connection ?? 'open',
  loaded: false,
  model: null,
  recentModels: [],
  localModels: null,
  modelLoadingPath: null,
  modelError: null,
  notices: [],

  async openModel(path) {
    const trimmed = path.trim();
    if (!trimmed) return;
    const { api } = getStrataClient();
    set({ modelLoadingPath: trimmed, modelError: null });
    try {
      const model = await api.models.open({ path: trimmed });
      set({ model, modelLoadingPath: null, modelError: null });
      await get().refreshModels();
      // Token counts belong to a model; the engine may have recounted.
      await get().refreshDocuments();
    } catch (err) {
      set({ modelLoadingPath: null, modelError: { ...toErrorPayload(err), path: trimmed } });
    }
  },

  async findLocalModels() {
    try {
      set({ localModels: await getStrataClient().api.models.listLocal() });
    } catch {
      set({ localModels: [] }); // the path field and Open model… still work
    }
  },

  async pickAndOpenModel() {
    try {
      const path = await getStrataClient().api.models.pickFile();
      if (path) await get().openModel(path);
    } catch (err) {
      get().notify(`Could not show the file dialog: ${toErrorPayload(err).message}`);
    }
  },

  async forgetModel(id) {
    try {
      await getStrataClient().api.models.forget({ id });
    } catch (err) {
      get().notify(`Could not forget the model: ${toErrorPayload(err).message}`);
    }
    await get().refreshModels();
  },

  async refreshModels() {
    const { api } = getStrataClient();
    try {
      const [model, recentModels] = await Promise.all([api.models.current(), api.models.listRecent()]);
      set({ model, recentModels });
    } catch (err) {
      get().notify(`Could not list models: ${toErrorPayload(err).message}`);
    }
  },

  applyModelStatus(event) {
    if (event.state === 'loading') {
      set({ modelLoadingPath: event.path, modelError: null });
    } else if (event.state === 'ready') {
      set({ modelLoadingPath: null, modelError: null });
      void get().refreshModels();
    } else if (event.state === 'closed') {
      // The header must never show a model that is not open.
      set({ model: null, modelLoadingPath: null });
      void get().refreshModels();
    } else {
      set({
        modelLoadingPath: null,
        modelError: { code: event.error?.code ?? 'MODEL_LOAD_FAILED', message: event.error?.message ?? 'The model failed to load.', path: event.path },
      });
    }
  },

  dismissModelError() {
    set({ modelError: null });
  },

  notify(message, tone = 'error') {
    set((s) => ({ notices: [...s.notices, { id: nextNoticeId++, message, tone }] }));
  },

  dismissNotice(id) {
    set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
  },
});
