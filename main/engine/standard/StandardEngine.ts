// The reference engine: node-llama-cpp with the whole prompt in one full KV cache. Exactness tests
// and benchmarks compare the tiered engine against it, and it serves models the tiered engine cannot
// splice.
import type { KvCacheType } from '../engineTypes.ts';
import { SettingsError } from '../settings/engineSettings.ts';
import type { Llama, LlamaModel } from 'node-llama-cpp';
import type { Engine, EngineModel } from '../Engine.ts';
import { DisposedError, ModelError } from '../errors.ts';
import { inspectModel } from '../inspectModel.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { StandardModel } from './StandardModel.ts';

export class StandardEngine implements Engine {
  readonly kind = 'standard' as const;
  private disposed = false;
  private readonly models = new Set<EngineModel>();
  private readonly llamaPromise: Promise<Llama>;

  private readonly flashAttention: boolean;

  /** flashAttention is explicit (never "auto"): on, unless a test compares bit-level with it off. */
  private readonly kvCacheType: () => KvCacheType;

  /** kvCacheType: read when a model opens (the settings' value); f16 by default. */
  constructor(options: { llama?: Promise<Llama>; flashAttention?: boolean; kvCacheType?: () => KvCacheType } = {}) {
    this.llamaPromise = options.llama ?? getLlamaRuntime();
    this.flashAttention = options.flashAttention ?? true;
    this.kvCacheType = options.kvCacheType ?? (() => 'f16');
  }

  async openModel(path: string): Promise<EngineModel> {
    if (this.disposed) throw new DisposedError('StandardEngine');
    const info = await inspectModel(path);
    const llama = await this.llamaPromise;
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: path });
    } catch (error) {
      const reason = (error as Error).message;
      const code = /memory|alloc/i.test(reason) ? 'OUT_OF_MEMORY' : 'MODEL_LOAD_FAILED';
      throw new ModelError(code, `llama.cpp could not load ${info.name}: ${reason}`, { cause: error });
    }
    const kvCacheType = this.kvCacheType();
    if (kvCacheType !== 'f16' && !this.flashAttention) {
      await model.dispose();
      throw new SettingsError(`A ${kvCacheType} KV cache needs flash attention (llama.cpp stores a quantized V only with it), and this engine runs with it off. Use kvCacheType f16.`);
    }
    const opened = new StandardModel(info, model, llama, this.flashAttention, () => this.models.delete(opened), kvCacheType);
    this.models.add(opened);
    return opened;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.models].map((model) => model.dispose()));
  }
}
