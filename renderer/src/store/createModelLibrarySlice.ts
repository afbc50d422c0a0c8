import type { CatalogModel, DownloadInfo, HubModelFile, ModelFit } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export type FitState = { state: 'checking' } | { state: 'ready'; fit: ModelFit } | { state: 'failed'; message: string };
export type Recommendation = { state: 'checking' } | { state: 'ready'; model: CatalogModel; fit: ModelFit } | { state: 'none' };

export interface HubSearch {
  query: string;
  state: 'searching' | 'ready' | 'failed';
  repos: Array<{ repo: string; downloads: number; likes: number }>;
  message?: string;
}

export interface ModelLibrarySlice {
  catalog: CatalogModel[] | null;
  fits: Record<string, FitState>;
  downloads: Record<string, DownloadInfo>;
  recommendation: Recommendation | null;
  hubSearch: HubSearch | null;
  repoFiles: Record<string, HubModelFile[] | { error: string } | 'loading'>;
  /** Downloads to open as soon as they are done (the first-run "Download and open"). */
  openWhenDownloaded: string[];

  loadCatalog(): Promise<void>;
  checkFit(uri: string): Promise<void>;
  loadRecommendation(): Promise<void>;
  startDownload(uri: string, openWhenDone?: boolean): Promise<void>;
  cancelDownload(uri: string): Promise<void>;
  discardDownload(uri: string): Promise<void>;
  deleteModelFile(path: string): Promise<void>;
  searchHub(query: string): Promise<void>;
  loadRepoFiles(repo: string): Promise<void>;
  applyDownload(info: DownloadInfo): void;
}

export const createModelLibrarySlice: SliceCreator<ModelLibrarySlice> = (set, get) => ({
  catalog: null,
  fits: {},
  downloads: {},
  recommendation: null,
  hubSearch: null,
  repoFiles: {},
  openWhenDownloaded: [],

  async loadCatalog() {
    const { api } = getStrataClient();
    try {
      const [catalog, downloads] = await Promise.all([api.models.catalog(), api.models.downloads()]);
      set((s) => ({ catalog, downloads: { ...Object.fromEntries(downloads.map((d) => [d.uri, d])), ...liveOnly(s.downloads) } }));
    } catch (err) {
      set({ catalog: [] });
      get().notify(`Could not load the model catalog: ${toErrorPayload(err).message}`);
    }
  },

  async checkFit(uri) {
    const current = get().fits[uri];
    if (current && current.state !== 'failed') return;
    set((s) => ({ fits: { ...s.fits, [uri]: { state: 'checking' } } }));
    try {
      const fit = await getStrataClient().api.models.fit({ uri });
      set((s) => ({ fits: { ...s.fits, [uri]: { state: 'ready', fit } } }));
    } catch (err) {
      set((s) => ({ fits: { ...s.fits, [uri]: { state: 'failed', message: toErrorPayload(err).message } } }));
    }
  },

  async loadRecommendation() {
    if (get().recommendation) return;
    set({ recommendation: { state: 'checking' } });
    try {
      const found = await getStrataClient().api.models.recommended();
      set((s) => ({
        recommendation: found ? { state: 'ready', model: found.model, fit: found.fit } : { state: 'none' },
        fits: found ? { ...s.fits, [found.model.uri]: { state: 'ready', fit: found.fit } } : s.fits,
      }));
    } catch {
      set({ recommendation: { state: 'none' } });
    }
  },

  async startDownload(uri, openWhenDone = false) {
    if (openWhenDone) set((s) => ({ openWhenDownloaded: [...s.openWhenDownloaded, uri] }));
    try {
      const info = await getStrataClient().api.models.download({ uri });
      get().applyDownload(info);
    } catch (err) {
      get().notify(`Could not download the model: ${toErrorPayload(err).message}`);
    }
  },

  async cancelDownload(uri) {
    await getStrataClient().api.models.cancelDownload({ uri }).catch((err) => get().notify(`Could not pause the download: ${toErrorPayload(err).message}`));
  },

  async discardDownload(uri) {
    await getStrataClient().api.models.discardDownload({ uri }).catch((err) => get().notify(`Could not discard the download: ${toErrorPayload(err).message}`));
    set((s) => {
      const downloads = { ...s.downloads };
      delete downloads[uri];
      return { downloads };
    });
  },

  async deleteModelFile(path) {
    try {
      await getStrataClient().api.models.deleteFile({ path });
    } catch (err) {
      get().notify(`Could not delete the model: ${toErrorPayload(err).message}`);
    }
    await Promise.all([get().loadCatalog(), get().findLocalModels(), get().refreshModels()]);
  },

  async searchHub(query) {
    const trimmed = query.trim();
    if (!trimmed) return;
    // OWNER/REPO goes straight to its files; anything else is a search.
    if (/^[^/\s]+\/[^/\s]+$/.test(trimmed)) {
      set({ hubSearch: { query: trimmed, state: 'ready', repos: [{ repo: trimmed, downloads: 0, likes: 0 }] } });
      return get().loadRepoFiles(trimmed);
    }
    set({ hubSearch: { query: trimmed, state: 'searching', repos: [] } });
    try {
      const repos = await getStrataClient().api.models.searchHub({ query: trimmed });
      set((s) => (s.hubSearch?.query === trimmed ? { hubSearch: { query: trimmed, state: 'ready', repos } } : {}));
    } catch (err) {
      set({ hubSearch: { query: trimmed, state: 'failed', repos: [], message: toErrorPayload(err).message } });
    }
  },

  async loadRepoFiles(repo) {
    set((s) => ({ repoFiles: { ...s.repoFiles, [repo]: 'loading' } }));
    try {
      const files = await getStrataClient().api.models.repoFiles({ repo });
      set((s) => ({ repoFiles: { ...s.repoFiles, [repo]: files } }));
    } catch (err) {
      set((s) => ({ repoFiles: { ...s.repoFiles, [repo]: { error: toErrorPayload(err).message } } }));
    }
  },

  applyDownload(info) {
    set((s) => {
      const downloads = { ...s.downloads };
      if (info.state === 'discarded' || info.state === 'done') delete downloads[info.uri];
      else downloads[info.uri] = info;
      return { downloads };
    });
    if (info.state === 'downloading') ended.delete(info.uri);
    // The end arrives twice (the event, and download's reply): act on it once.
    if ((info.state === 'done' || info.state === 'failed') && !ended.has(info.uri)) {
      ended.add(info.uri);
      if (info.state === 'failed' && info.error) get().notify(`${info.fileName}: ${info.error.message}`);
      void get().loadCatalog();
      void get().findLocalModels();
      const wanted = get().openWhenDownloaded.includes(info.uri);
      if (wanted) set((s) => ({ openWhenDownloaded: s.openWhenDownloaded.filter((u) => u !== info.uri) }));
      if (wanted && info.state === 'done' && info.path) void get().openModel(info.path);
    }
  },
});

/** Downloads whose end this window has acted on (refreshed the lists, told the user, opened the model). */
const ended = new Set<string>();

/** Downloads this window has seen running: newer than a list fetched meanwhile. */
function liveOnly(downloads: Record<string, DownloadInfo>): Record<string, DownloadInfo> {
  return Object.fromEntries(Object.entries(downloads).filter(([, d]) => d.state === 'downloading' || d.state === 'verifying'));
}
