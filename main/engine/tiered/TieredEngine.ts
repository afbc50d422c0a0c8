// The tiered engine: the native addon over node-llama-cpp's own llama.cpp libraries, with the KV cache
// of each document split into chunks across the GPU (a context the size of the GPU budget), the CPU
// (an LRU of blobs) and the disk (checksummed segment files named in the catalog).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import type { EngineSettings } from '../engineTypes.ts';
import type { Catalog } from '../../catalog/Catalog.ts';
import { KvCatalog } from '../../catalog/KvCatalog.ts';
import type { Engine, EngineModel } from '../Engine.ts';
import { DisposedError, ModelError } from '../errors.ts';
import { inspectModel } from '../inspectModel.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { SettingsError, resolveChunkBounds } from '../settings/engineSettings.ts';
import { defaultGpuBudgetTokens, defaultScoringLayers, kvBytesPerToken } from './defaultBudgets.ts';
import { getLlamaBinsDir, loadNativeAddon, type NativeTierContext, type NativeTierModel } from './native/NativeAddon.ts';
import { readRopeSpec } from './positions/ropeRotation.ts';
import { TieredModel, type SelectionMode, type TierSample } from './TieredModel.ts';
import { CpuTier } from './tiers/CpuTier.ts';
import { TokenizerWorker } from '../tokenize/TokenizerWorker.ts';
import { turnsDiskKey } from './turnsDiskKey.ts';
import { DiskTier, type DiskTierOptions } from './tiers/DiskTier.ts';
import { forgetStoredIngest } from './tiers/forgetStoredIngest.ts';

export interface TieredEngineOptions {
  dataDir: string;
  catalog: Catalog;
  settings: () => EngineSettings;
  llama?: Promise<Llama>;
  /** 'recent' keeps the sink and the most recent chunks only (the baseline that selection must beat). */
  selectionMode?: SelectionMode;
  onSample?: (sample: TierSample) => void;
  /** The disk tier's write seam (fault tests inject ENOSPC or EIO through it). */
  diskWriteBlob?: DiskTierOptions['writeBlob'];
  /** Explicit, never "auto" (it sets the V layout inside blobs); on unless a test compares bit-level with it off. */
  flashAttention?: boolean;
}

/**
 * Threads for one-token decodes and for batches. A batch has enough work per graph node to use every
 * core; a one-token decode (or a batch of a few tokens: TierContext.cpp) waits at a barrier after each
 * node, so when another thread (Node's own, the OS) takes a core the whole step stalls. On a 2-core
 * machine that made every decode step several times slower on 2 threads than on 1. One core is left to
 * the rest of the process for decodes.
 */
export function decodeThreads(cores: number): { threads: number; batchThreads: number } {
  return { threads: Math.max(1, cores - 1), batchThreads: Math.max(1, cores) };
}

/** Why the tiered engine cannot run here, or null when it can. */
export function tieredEngineUnavailableReason(): string | null {
  const load = loadNativeAddon();
  return 'error' in load ? load.error : null;
}

/** The model's key in kv_ingests: the same file at the same size is the same model. */
export function tieredModelId(path: string, sizeBytes: number): string {
  return createHash('sha256').update(`${path}\0${sizeBytes}`).digest('hex').slice(0, 32);
}

export class TieredEngine implements Engine {
  readonly kind = 'tiered' as const;
  private readonly options: TieredEngineOptions;
  private readonly llamaPromise: Promise<Llama>;
  private readonly models = new Set<EngineModel>();
  private cpu: CpuTier | null = null;
  private disk: Promise<DiskTier> | null = null;
  private readonly kv: KvCatalog;
  private disposed = false;

  constructor(options: TieredEngineOptions) {
    this.options = options;
    this.llamaPromise = options.llama ?? getLlamaRuntime();
    this.kv = new KvCatalog(options.catalog.database);
  }

  /**
   * The start-up sweep: opens the disk tier and deletes whatever no catalog row owns (folders of removed
   * documents, conversations or models, bytes an interrupted write left past the last committed blob).
   */
  async sweep(): Promise<{ removedKeys: string[]; freedBytes: number }> {
    const disk = await this.diskTier(this.options.settings());
    return disk.sweep(this.kv.ownedDiskKeys());
  }

  /** Frees, at once, every stored KV read from this document (its rows and segment files). */
  async forgetDocument(documentId: string): Promise<void> {
    await this.forgetIngests(this.kv.ingestIdsOfDocument(documentId));
  }

  async forgetModel(model: { path: string; sizeBytes: number }): Promise<void> {
    await this.forgetIngests(this.kv.ingestIdsOfModel(tieredModelId(model.path, model.sizeBytes)));
  }

  async forgetConversation(conversationId: string): Promise<void> {
    this.kv.deleteTurnsFrom(conversationId, 0);
    const disk = await this.diskTier(this.options.settings());
    await disk.removeDocument(turnsDiskKey(conversationId));
  }

  private async forgetIngests(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const disk = await this.diskTier(this.options.settings());
    const open = [...this.models].find((m): m is TieredModel => m instanceof TieredModel);
    for (const id of ids) {
      // An open model also drops its in-memory copies; it waits for the answer using them to end.
      if (open) await open.run(() => open.discardIngest(id)).catch(() => undefined);
      await forgetStoredIngest(this.kv, disk, id);
    }
  }

  async openModel(path: string): Promise<EngineModel> {
    if (this.disposed) throw new DisposedError('TieredEngine');
    const load = loadNativeAddon();
    if ('error' in load) throw new ModelError('TIERED_UNAVAILABLE', `The tiered engine is not available: ${load.error}.`);
    const info = await inspectModel(path);
    if (info.latentAttention) {
      // Checked before the weights load: the capture graph finds no per-layer post-RoPE K to score with.
      throw new ModelError('TIERED_UNSUPPORTED', `${info.name} cannot be split into KV chunks: it uses multi-head latent attention (MLA), whose cache holds one compressed latent per token instead of per-head keys.`);
    }
    const llama = await this.llamaPromise;
    const { addon } = load;
    if (addon.initInfo === null) await addon.initialize(await getLlamaBinsDir(llama));

    const settings = this.options.settings();
    const cleanup: Array<() => Promise<void>> = [];
    try {
      const native: NativeTierModel = await addon.loadModel(path, { gpuLayers: llama.gpu === false ? 0 : -1 });
      cleanup.push(() => native.dispose());
      const unsupported = native.unsupportedReason;
      if (unsupported !== null) throw new ModelError('TIERED_UNSUPPORTED', `${info.name} cannot be split into KV chunks: ${unsupported}.`);
      const shape = native.info;
      const scoringLayers = settings.scoringLayers ?? defaultScoringLayers(shape.layerCount);
      const badLayer = scoringLayers.find((layer) => layer >= shape.layerCount);
      if (badLayer !== undefined) throw new SettingsError(`scoringLayers names layer ${badLayer}, but ${info.name} has layers 0 to ${shape.layerCount - 1}.`);
      const kvType = settings.kvCacheType;
      const flashAttention = this.options.flashAttention ?? true;
      if (kvType !== 'f16' && !flashAttention) {
        throw new SettingsError(`A ${kvType} KV cache needs flash attention (llama.cpp stores a quantized V only with it), and this engine runs with it off. Use kvCacheType f16.`);
      }
      const bytesPerToken = kvBytesPerToken({ layers: shape.layerCount, kvHeads: shape.kvHeadCount, headDimK: shape.headDimK, headDimV: shape.headDimV }, kvType);
      const gpuBudgetTokens = settings.gpuBudgetTokens ?? (await defaultGpuBudgetTokens(llama, bytesPerToken));
      const resolved = resolveChunkBounds(settings, gpuBudgetTokens);
      let context: NativeTierContext;
      try {
        context = await native.createContext({
          contextSize: gpuBudgetTokens,
          flashAttention: this.options.flashAttention ?? true,
          batchSize: gpuBudgetTokens,
          ubatchSize: Math.min(512, gpuBudgetTokens),
          ...decodeThreads(llama.cpuMathCores),
          typeK: kvType,
          typeV: kvType,
        });
      } catch (error) {
        throw new ModelError('OUT_OF_MEMORY', `A GPU tier of ${gpuBudgetTokens} tokens does not fit next to ${info.name}: ${(error as Error).message}. Lower the GPU budget.`, { cause: error });
      }
      cleanup.push(() => context.dispose());
      const vocab: LlamaModel = await llama.loadModel({ modelPath: path, vocabOnly: true });
      cleanup.push(() => vocab.dispose());
      const tokenizer = await TokenizerWorker.open(path);
      cleanup.push(() => tokenizer.dispose());

      const opened: TieredModel = new TieredModel({
        info,
        canShift: await context.canShift(),
        ropeSpec: await readRopeSpec(path, shape.ropeType, shape.headDimK),
        modelId: tieredModelId(path, info.sizeBytes),
        native,
        context,
        vocab,
        tokenizer,
        cpu: this.cpuTier(settings),
        disk: await this.diskTier(settings),
        kv: this.kv,
        settings: resolved,
        flashAttention: this.options.flashAttention ?? true,
        llamaCppRelease: addon.llamaCppRelease,
        gpuBudgetTokens,
        scoringLayers,
        selectionMode: this.options.selectionMode ?? 'scores',
        onSample: this.options.onSample,
        vram: async () => {
          if (llama.gpu === false) return null;
          const state = await llama.getVramState();
          return { totalBytes: state.total, usedBytes: state.used };
        },
        onDispose: () => this.models.delete(opened),
      });
      this.models.add(opened);
      return opened;
    } catch (error) {
      for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
      throw error;
    }
  }

  private cpuTier(settings: EngineSettings): CpuTier {
    if (this.cpu === null) this.cpu = new CpuTier({ budgetBytes: settings.cpuTierBytes });
    else this.cpu.setBudget(settings.cpuTierBytes);
    return this.cpu;
  }

  private async diskTier(settings: EngineSettings): Promise<DiskTier> {
    this.disk ??= DiskTier.open({ root: join(this.options.dataDir, 'kv'), budgetBytes: settings.diskBudgetBytes, writeBlob: this.options.diskWriteBlob });
    const disk = await this.disk;
    disk.setBudget(settings.diskBudgetBytes);
    return disk;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.models].map((model) => model.dispose()));
    this.cpu?.dispose();
    (await this.disk?.catch(() => null))?.dispose();
  }
}
