// The Models panel's side of the service: the curated catalog with what is downloaded, "fits this
// machine" per model, Hub search, downloads, and deleting files from Strata's own models folder.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Llama } from 'node-llama-cpp';
import type { CatalogModel, DownloadInfo, EngineSettings, HubModelFile, ModelFit, StrataApi } from '../../../preload/api.ts';
import { RequestError } from '../../engine/errors.ts';
import { requireText } from '../requireArgs.ts';
import { curatedModels, type CuratedModel } from './curatedModels.ts';
import { isModelEntryFile } from './findLocalModels.ts';
import { listRepoFiles, parseHfUri, requireHfUri, searchGgufRepos } from './hubClient.ts';
import { estimateFit, pickRecommended } from './modelFit.ts';
import { ModelDownloads } from './ModelDownloads.ts';
import { pulledPath } from './pullModel.ts';

/** The models.* methods this class serves (StrataService wraps each in its liveness check). */
export const LIBRARY_METHOD_NAMES = ['catalog', 'fit', 'recommended', 'searchHub', 'repoFiles', 'downloads', 'download', 'cancelDownload', 'discardDownload', 'deleteFile'] as const;
type LibraryMethods = Pick<StrataApi['models'], (typeof LIBRARY_METHOD_NAMES)[number]>;

export interface ModelLibraryOptions {
  modelsDir: string;
  endpoint: () => string;
  settings: () => EngineSettings;
  llama: () => Promise<Llama>;
  onDownload: (info: DownloadInfo) => void;
  /** Called before a model file is deleted (the open model must be closed first). */
  beforeDelete: (path: string) => Promise<void>;
}

export class ModelLibrary {
  readonly downloadsManager: ModelDownloads;
  private readonly options: ModelLibraryOptions;

  constructor(options: ModelLibraryOptions) {
    this.options = options;
    this.downloadsManager = new ModelDownloads({ modelsDir: options.modelsDir, endpoint: options.endpoint, onChange: options.onDownload });
  }

  dispose(): Promise<void> {
    return this.downloadsManager.dispose();
  }

  readonly methods: LibraryMethods = {
    catalog: async () => this.catalog(),
    fit: async (req) => this.fit(requireText(req?.uri, 'uri')),
    recommended: async () => {
      const models = await this.catalog();
      const fits = new Map<string, ModelFit>();
      // Headers are read in parallel: a dozen small ranged reads from the Hub.
      await Promise.all(models.map(async (m) => fits.set(m.uri, await this.fit(m.uri))));
      const model = pickRecommended(models, fits);
      return model ? { model, fit: fits.get(model.uri)! } : null;
    },
    searchHub: async (req) => {
      const query = requireText(req?.query, 'query');
      return (await searchGgufRepos(this.options.endpoint(), query)).map((r) => ({ repo: r.id, downloads: r.downloads, likes: r.likes }));
    },
    repoFiles: async (req) => {
      const repo = requireText(req?.repo, 'repo');
      const match = /^([^/\s]+)\/([^/\s]+)$/.exec(repo);
      if (!match) throw new RequestError('INVALID_ARGUMENT', `${repo} is not a Hub repository; give it as OWNER/REPO.`);
      const files = await listRepoFiles(this.options.endpoint(), match[1], match[2]);
      return files
        .filter((f) => isModelEntryFile(f.path))
        .map((f): HubModelFile => ({ uri: `hf:${repo}/${f.path}`, fileName: basename(f.path), sizeBytes: f.sizeBytes }));
    },
    downloads: async () => this.downloadsManager.list(),
    download: async (req) => this.downloadsManager.start(requireHfUri(req?.uri)),
    cancelDownload: async (req) => this.downloadsManager.cancel(requireHfUri(req?.uri)),
    discardDownload: async (req) => this.downloadsManager.discard(requireHfUri(req?.uri)),
    deleteFile: async (req) => {
      const path = requireText(req?.path, 'path');
      // Only a .gguf directly in Strata's own folder: never LM Studio's, the Hub cache's, or anything else.
      if (join(this.options.modelsDir, basename(path)) !== path || !/\.gguf$/i.test(path)) {
        throw new RequestError('NOT_ALLOWED', `${path} is not in Strata's models folder (${this.options.modelsDir}); Strata deletes only the models it downloaded.`);
      }
      if (!existsSync(path)) throw new RequestError('NOT_FOUND', `File not found: ${path}`);
      await this.options.beforeDelete(path);
      await rm(path, { force: true });
    },
  };

  private async catalog(): Promise<CatalogModel[]> {
    const downloads = new Map((await this.downloadsManager.list()).map((d) => [d.uri, d]));
    return curatedModels().map((m: CuratedModel) => {
      const path = pulledPath(this.options.modelsDir, m.uri);
      return { ...m, localPath: existsSync(path) ? path : null, download: downloads.get(m.uri) ?? null };
    });
  }

  private async fit(uri: string): Promise<ModelFit> {
    // A file already here is read from disk; one on the Hub by its header's ranged reads.
    let source = uri;
    if (uri.startsWith('hf:')) {
      parseHfUri(uri);
      const local = pulledPath(this.options.modelsDir, uri);
      if (existsSync(local)) source = local;
    } else if (!existsSync(uri)) {
      throw new RequestError('NOT_FOUND', `File not found: ${uri}`);
    }
    return estimateFit({ uri, source, endpoint: this.options.endpoint(), llama: await this.options.llama(), settings: this.options.settings() });
  }
}
