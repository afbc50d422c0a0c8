// The one open model: opened on the engine the settings choose, or on the standard engine with a
// notice when the tiered one cannot run here or cannot split this model; one open at a time (a second
// waits for the first); a corrupt file refused before the open model is closed; the header told of
// every change (models.onStatus), including 'closed'.
import type { EngineKind, ModelInfo } from '../../preload/api.ts';
import type { Catalog } from '../catalog/Catalog.ts';
import type { Engine, EngineModel } from '../engine/Engine.ts';
import type { EngineSettings } from '../engine/engineTypes.ts';
import { RequestError, errorPayload } from '../engine/errors.ts';
import { inspectModel } from '../engine/inspectModel.ts';
import type { EventSink } from './StrataService.ts';

export interface OpenModel {
  info: ModelInfo;
  model: EngineModel;
}

/** Errors after which the standard engine serves the model instead of the tiered one. */
const FALLBACK_CODES = new Set(['TIERED_UNAVAILABLE', 'TIERED_UNSUPPORTED']);

export interface ModelHostOptions {
  catalog: Catalog;
  emit: EventSink;
  standardEngine: Engine;
  tieredEngine: Engine | null;
  settings: () => EngineSettings;
  /** A model opened (its token counts are made next). */
  onOpened: (info: ModelInfo) => void;
  /** Before a model closes: what uses it (the engine conversations) lets go. */
  onClosing: () => Promise<void>;
  isDisposed: () => boolean;
}

export class ModelHost {
  private readonly options: ModelHostOptions;
  private open: OpenModel | null = null;
  private opening: Promise<ModelInfo> | null = null;

  constructor(options: ModelHostOptions) {
    this.options = options;
  }

  get current(): OpenModel | null {
    return this.open;
  }

  get isOpening(): boolean {
    return this.opening !== null;
  }

  /** The open model, after any open in progress; NO_MODEL when there is none. */
  async require(): Promise<OpenModel> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.open) return this.open;
    throw new RequestError('NO_MODEL', 'Open a GGUF model first (Open model… or type its path).');
  }

  async openAt(path: string): Promise<ModelInfo> {
    // One model at a time: a second open waits for the first so they never load side by side.
    while (this.opening) await this.opening.catch(() => undefined);
    const opening = this.load(path);
    this.opening = opening;
    try {
      return await opening;
    } finally {
      this.opening = null;
    }
  }

  async close(): Promise<void> {
    const open = this.open;
    this.open = null;
    await this.options.onClosing();
    await open?.model.dispose();
    // The header must never show a model that is not open.
    if (open && !this.options.isDisposed()) this.options.emit('models.onStatus', { state: 'closed', path: open.info.path });
  }

  private async load(path: string): Promise<ModelInfo> {
    const { emit, catalog } = this.options;
    if (this.open?.info.path === path) return this.open.info;
    emit('models.onStatus', { state: 'loading', path });
    try {
      // Validate first: a corrupt or wrong file must not cost the user the model they have open.
      await inspectModel(path);
      if (this.open) {
        await this.close();
        emit('models.onStatus', { state: 'loading', path });
      }
      const { model, engine, notice } = await this.openWithPreferredEngine(path);
      const info: ModelInfo = { ...catalog.upsertModel({ ...model.info, path }), engine, engineNotice: notice };
      this.open = { info, model };
      this.options.onOpened(info);
      emit('models.onStatus', { state: 'ready', path, model: info });
      return info;
    } catch (error) {
      emit('models.onStatus', { state: 'failed', path, error: errorPayload(error) });
      throw error;
    }
  }

  /**
   * The engine chosen in settings, or the standard engine when the tiered one cannot run here or cannot
   * split this model; the notice says so to the user.
   */
  private async openWithPreferredEngine(path: string): Promise<{ model: EngineModel; engine: EngineKind; notice: string | null }> {
    const { standardEngine, tieredEngine } = this.options;
    if (this.options.settings().engine === 'tiered' && tieredEngine) {
      try {
        return { model: await tieredEngine.openModel(path), engine: 'tiered', notice: null };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !FALLBACK_CODES.has(code)) throw error;
        const notice = `${(error as Error).message} Using the standard engine (full KV cache): long documents need more memory and may not fit.`;
        return { model: await standardEngine.openModel(path), engine: 'standard', notice };
      }
    }
    return { model: await standardEngine.openModel(path), engine: 'standard', notice: null };
  }
}
