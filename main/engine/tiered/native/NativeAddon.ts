// The wrappers around the tiered engine's native addon (native/build/Release/strata_tier.node): the
// only holders of the binding. They check arguments before crossing into C++ (checkArguments.ts), turn
// native rejections into StrataErrors (nativeErrors.ts), queue calls on a context one at a time, and
// dispose children with their parents. The binding's types: addonTypes.ts; loading: loadNativeAddon.ts.
//
// Positions are llama.cpp positions on sequence 0 of a tiered context. Ranges are half-open: [start, end).
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DisposedError } from '../../errors.ts';
import { SerialQueue } from '../../SerialQueue.ts';
import type { AddonBinding, AddonCaptureOptions, AddonContextInfo, AddonDecodeResult, AddonGreedyResult, AddonModelInfo, AddonTierContext, AddonTierModel, AddonBlobInfo, AddonChunkInfo, AddonCapturedChunk, AddonInitInfo, GgmlTypeName, LogitsMode } from './addonTypes.ts';
import { checkInteger, checkRange, checkScoreChunks, INT32_MAX, toInt32Array } from './checkArguments.ts';
import { readBinsRelease } from './llamaBinaries.ts';
import { fromNative, native, NativeTierError } from './nativeErrors.ts';

export type * from './addonTypes.ts';
export { NativeTierError } from './nativeErrors.ts';
export { loadNativeAddon, findAddonPath, type NativeAddonLoad } from './loadNativeAddon.ts';
export { getLlamaBinsDir } from './llamaBinaries.ts';

export interface LoadModelOptions {
  /** Layers to offload to the GPU; 0 keeps the model on the CPU, -1 offloads all. */
  gpuLayers?: number;
}

export interface TierContextOptions {
  /** KV cells (the GPU budget in tokens). */
  contextSize: number;
  /** Explicit, never auto: it sets the V layout inside blobs, which must match between capture and splice. */
  flashAttention: boolean;
  batchSize?: number;
  ubatchSize?: number;
  /** At least 2: sequence 0 and the scratch sequence used by capture/splice. Default 2. */
  sequenceCount?: number;
  threads?: number;
  batchThreads?: number;
  typeK?: GgmlTypeName;
  typeV?: GgmlTypeName;
  /**
   * llama_context_params.offload_kqv, default true: the KV cache and the attention over it live on the
   * GPU with the offloaded layers. false keeps them in host memory (a bench baseline; on a CPU-only
   * model it changes nothing).
   */
  offloadKqv?: boolean;
  /**
   * Installs the query/key capture hook (llama.cpp's cb_eval); default true. A context that never
   * captures can turn it off: with any callback installed, ggml's scheduler synchronizes after every
   * graph split, which costs on GPUs even when nothing is captured.
   */
  captureEnabled?: boolean;
}

export interface TierContextInfo extends Omit<AddonContextInfo, 'typeK' | 'typeV'> {
  typeK: GgmlTypeName;
  typeV: GgmlTypeName;
}

export interface DecodeRequest {
  tokens: Int32Array | readonly number[];
  /** Consecutive positions, one per token; when the context is not empty the first is seqPosMax() + 1. */
  positions: Int32Array | readonly number[];
  logits: LogitsMode;
  /**
   * Arms query/key capture for this decode only. `stopAfterLastLayer` (logits 'none'): llama.cpp stops
   * after the last listed layer's tensors are copied, so the layers after it
   * are not computed. The cells this decode adds are then unusable: remove them (a probe does).
   */
  capture?: { layers: readonly number[]; keys?: boolean; queries?: boolean; stopAfterLastLayer?: boolean };
}

export interface GreedyRequest {
  /** The token to decode first (the last one sampled); at `position`, one past the context's last. */
  token: number;
  position: number;
  /** At most this many decodes (and as many tokens produced). */
  maxSteps: number;
  capture?: DecodeRequest['capture'];
}

/** What scoreChunks.ts's ScoreChunksInput holds (that type satisfies this one). */
export interface ScoreChunksRequest {
  /** Per scoring layer, the queries laid out [token][head][dim]. */
  queries: readonly Float32Array[];
  nQueryTokens: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Chunks' abstracts packed [chunk][layer][kvHead][min|max][dim]; may hold more chunks than are scored. */
  abstracts: Float32Array;
}

export interface ScoreChunksOptions {
  /** Score chunks [firstChunk, firstChunk + chunkCount) of `abstracts`; default 0 and every chunk from there. */
  firstChunk?: number;
  chunkCount?: number;
  /** Most threads to use, 0 (default) for all cores; small inputs use one whatever this says. */
  threads?: number;
}

export interface BlobInfo extends Omit<AddonBlobInfo, 'typeK' | 'typeV'> {
  typeK: GgmlTypeName | number;
  typeV: GgmlTypeName | number | null;
}

export class NativeAddon {
  readonly llamaCppRelease: string;
  private readonly binding: AddonBinding;
  private readonly typeNames: Map<number, GgmlTypeName>;

  /** Use loadNativeAddon(). */
  constructor(binding: AddonBinding) {
    this.binding = binding;
    this.llamaCppRelease = binding.llamaCppRelease;
    this.typeNames = new Map(Object.entries(binding.ggmlTypes).map(([name, id]) => [id, name as GgmlTypeName]));
  }

  /** The addon's llama.cpp, or null before initialize(). */
  get initInfo(): AddonInitInfo | null {
    return this.binding.getInitInfo();
  }

  /**
   * Loads libllama and its backends from `binsDir` — the folder node-llama-cpp chose (getLlamaBinsDir).
   * Once per process; again with the same folder is a no-op, with another it fails.
   */
  async initialize(binsDir: string): Promise<AddonInitInfo> {
    if (typeof binsDir !== 'string') throw new TypeError('binsDir must be a string');
    if (!isAbsolute(binsDir)) throw new RangeError(`binsDir must be an absolute path, got "${binsDir}"`);
    if (!existsSync(binsDir)) throw new RangeError(`binsDir ${binsDir} does not exist`);
    const builtFor = this.llamaCppRelease.split('/llama.cpp@')[1];
    const binsRelease = readBinsRelease(binsDir);
    if (builtFor !== undefined && binsRelease !== null && binsRelease !== builtFor) {
      throw new NativeTierError('VERSION_MISMATCH', `the addon was built against llama.cpp ${builtFor} but ${binsDir} holds ${binsRelease}: run npm run build:native`);
    }
    return native(() => this.binding.initialize(binsDir));
  }

  async loadModel(path: string, options: LoadModelOptions = {}): Promise<NativeTierModel> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    const gpuLayers = checkInteger(options.gpuLayers ?? 0, 'gpuLayers', -1, INT32_MAX);
    if (!existsSync(path)) throw new NativeTierError('LOAD_FAILED', `no model file at ${path}`);
    if (this.binding.getInitInfo() === null) throw new NativeTierError('NOT_INITIALIZED', 'call initialize(binsDir) before loadModel()');
    const model = await native(() => this.binding.loadModel(path, { gpuLayers }));
    return new NativeTierModel(model, this);
  }

  /** Reads a blob's header without llama.cpp; throws NativeTierError BAD_BLOB on anything unreadable. */
  describeBlob(blob: Uint8Array): BlobInfo {
    if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
    let info: AddonBlobInfo;
    try {
      info = this.binding.describeBlob(blob);
    } catch (error) {
      throw fromNative(error);
    }
    return { ...info, typeK: this.typeName(info.typeK), typeV: info.typeV === -1 ? null : this.typeName(info.typeV) };
  }

  /**
   * scoreChunks.ts's scores (one per chunk, higher is more relevant; standardised over the chunks
   * scored) computed in C++ on the libuv pool, over several cores. The inputs are copied before this
   * returns, so the caller may keep growing its packed abstracts. Bounds are summed in float32: scores
   * agree with the TypeScript reference to about 1e-5. Needs no initialize().
   */
  async scoreChunks(request: ScoreChunksRequest, options: ScoreChunksOptions = {}): Promise<Float64Array> {
    const args = scoringArguments(request, options);
    return native(() => this.binding.scoreChunks(...args));
  }

  /**
   * The bounds scoreChunks standardises, [layer · head][chunk] (float32): chunks bounded with different
   * queries (library documents at their placements) are standardised together by the caller.
   */
  async chunkBounds(request: ScoreChunksRequest, options: ScoreChunksOptions = {}): Promise<Float32Array> {
    const args = scoringArguments(request, options);
    return native(() => this.binding.scoreChunks(...args, true));
  }

  /** @internal */
  typeId(name: GgmlTypeName | undefined, what: string): number {
    if (name === undefined) return this.binding.ggmlTypes.f16;
    const id = (this.binding.ggmlTypes as Record<string, number | undefined>)[name];
    if (id === undefined) throw new RangeError(`${what} must be one of ${Object.keys(this.binding.ggmlTypes).join(', ')}, got "${String(name)}"`);
    return id;
  }

  /** @internal */
  typeName(id: number): GgmlTypeName | number {
    return this.typeNames.get(id) ?? id;
  }
}

export class NativeTierModel {
  readonly info: Readonly<AddonModelInfo>;
  private readonly handle: AddonTierModel;
  private readonly addon: NativeAddon;
  private readonly contexts = new Set<NativeTierContext>();
  private disposePromise: Promise<void> | null = null;

  /** @internal Made by NativeAddon.loadModel(). */
  constructor(handle: AddonTierModel, addon: NativeAddon) {
    this.handle = handle;
    this.addon = addon;
    this.info = Object.freeze(handle.getInfo());
  }

  get disposed(): boolean {
    return this.disposePromise !== null;
  }

  /**
   * Why the tiered engine cannot splice this model's KV cache, or null when it can: sliding-window
   * attention, recurrent or hybrid memory and encoders keep state that is not per-position cells.
   */
  get unsupportedReason(): string | null {
    const { info } = this;
    if (info.isRecurrent) return 'the model is recurrent';
    if (info.isHybrid) return 'the model is hybrid (attention and recurrent layers)';
    if (info.hasEncoder) return 'the model has an encoder';
    if (info.slidingWindow > 0) return `the model uses sliding-window attention (${info.slidingWindow} tokens)`;
    if (info.slidingWindow < 0) return 'this llama.cpp cannot tell whether the model uses sliding-window attention';
    return null;
  }

  async createContext(options: TierContextOptions): Promise<NativeTierContext> {
    if (this.disposed) throw new DisposedError('the tier model');
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    if (typeof options.flashAttention !== 'boolean') throw new TypeError('flashAttention must be true or false (never auto)');
    const contextSize = checkInteger(options.contextSize, 'contextSize', 1, INT32_MAX);
    const batchSize = checkInteger(options.batchSize ?? Math.min(512, contextSize), 'batchSize', 1, INT32_MAX);
    const ubatchSize = checkInteger(options.ubatchSize ?? batchSize, 'ubatchSize', 1, batchSize);
    const sequenceCount = checkInteger(options.sequenceCount ?? 2, 'sequenceCount', 2, 256);
    const threads = checkInteger(options.threads ?? 0, 'threads', 0, 1024);
    const batchThreads = checkInteger(options.batchThreads ?? threads, 'batchThreads', 0, 1024);
    const typeK = this.addon.typeId(options.typeK, 'typeK');
    const typeV = this.addon.typeId(options.typeV, 'typeV');
    const quantizedV = options.typeV !== undefined && !['f32', 'f16', 'bf16'].includes(options.typeV);
    if (quantizedV && !options.flashAttention) throw new RangeError('a quantized V cache needs flashAttention: true');
    const offloadKqv = options.offloadKqv ?? true;
    if (typeof offloadKqv !== 'boolean') throw new TypeError('offloadKqv must be a boolean');
    const captureEnabled = options.captureEnabled ?? true;
    if (typeof captureEnabled !== 'boolean') throw new TypeError('captureEnabled must be a boolean');
    const handle = await native(() => this.handle.createContext({
      contextSize, batchSize, ubatchSize, sequenceCount, threads, batchThreads, flashAttention: options.flashAttention, typeK, typeV, offloadKqv, captureEnabled,
    }));
    const context = new NativeTierContext(handle, this, this.addon);
    if (this.disposed) {
      await context.dispose();
      throw new DisposedError('the tier model');
    }
    this.contexts.add(context);
    return context;
  }

  /** Disposes the model's contexts, then the model. Idempotent. */
  dispose(): Promise<void> {
    this.disposePromise ??= (async () => {
      await Promise.all([...this.contexts].map((context) => context.dispose()));
      await native(() => this.handle.dispose());
    })();
    return this.disposePromise;
  }

  /** @internal */
  forget(context: NativeTierContext): void {
    this.contexts.delete(context);
  }
}

/**
 * One llama_context of the tiered engine. Calls run one at a time in the order they were made. The
 * context tracks nothing about chunks: splicing the same blob twice duplicates its cells, so the
 * caller keeps the residency of chunks.
 */
export class NativeTierContext {
  readonly info: Readonly<TierContextInfo>;
  readonly model: NativeTierModel;
  private readonly handle: AddonTierContext;
  private readonly addon: NativeAddon;
  private readonly queue = new SerialQueue();
  private disposePromise: Promise<void> | null = null;

  /** @internal Made by NativeTierModel.createContext(). */
  constructor(handle: AddonTierContext, model: NativeTierModel, addon: NativeAddon) {
    this.handle = handle;
    this.model = model;
    this.addon = addon;
    const info = handle.getInfo();
    this.info = Object.freeze({ ...info, typeK: addon.typeName(info.typeK) as GgmlTypeName, typeV: addon.typeName(info.typeV) as GgmlTypeName });
  }

  get disposed(): boolean {
    return this.disposePromise !== null;
  }

  /**
   * Evaluates tokens on sequence 0. All or nothing: on failure the context holds what it held before.
   * Returns the logits asked for (with 'argmax', only `argmax`: greedy decoding without copying a
   * vocabulary row) and, when `capture` is given, the post-RoPE keys/queries of those layers.
   */
  async decode(request: DecodeRequest): Promise<AddonDecodeResult> {
    this.assertAlive();
    if (request === null || typeof request !== 'object') throw new TypeError('decode(request) needs an object');
    const tokens = toInt32Array(request.tokens, 'tokens');
    const positions = toInt32Array(request.positions, 'positions');
    if (tokens.length === 0) throw new RangeError('no tokens to decode');
    if (positions.length !== tokens.length) throw new RangeError(`positions has ${positions.length} entries for ${tokens.length} tokens`);
    const vocabSize = this.model.info.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i]! < 0 || tokens[i]! >= vocabSize) throw new RangeError(`tokens[${i}] = ${tokens[i]} is outside the vocabulary [0, ${vocabSize})`);
    }
    if (positions[0]! < 0) throw new RangeError(`positions must be non-negative, got ${positions[0]}`);
    for (let i = 1; i < positions.length; i++) {
      if (positions[i] !== positions[0]! + i) throw new RangeError(`positions must be consecutive: positions[${i}] = ${positions[i]} after ${positions[i - 1]}`);
    }
    if (request.logits !== 'none' && request.logits !== 'last' && request.logits !== 'all' && request.logits !== 'argmax') {
      throw new TypeError(`logits must be 'none', 'last', 'all' or 'argmax', got ${String(request.logits)}`);
    }
    const capture = this.captureOptions(request.capture);
    if (capture?.stopAfterLastLayer && request.logits !== 'none') throw new RangeError("capture.stopAfterLastLayer leaves no logits: use logits 'none'");
    return this.enqueue(() => this.handle.decode(tokens, positions, request.logits, capture));
  }

  /**
   * Greedy generation in one call: decodes `token` at `position`, then each argmax in turn, up to
   * `maxSteps` decodes, stopping after an end-of-generation token (not decoded). Same tokens and cells
   * as that many one-token decode() calls with logits 'argmax', without a return to JavaScript between
   * them (the hop costs ~0.1 ms, a tenth of a small model's step on a CPU).
   */
  async decodeGreedy(request: GreedyRequest): Promise<AddonGreedyResult> {
    this.assertAlive();
    if (request === null || typeof request !== 'object') throw new TypeError('decodeGreedy(request) needs an object');
    checkInteger(request.token, 'token', 0, this.model.info.vocabSize - 1);
    checkInteger(request.position, 'position', 0, INT32_MAX);
    checkInteger(request.maxSteps, 'maxSteps', 1, INT32_MAX - request.position);
    const capture = this.captureOptions(request.capture);
    if (capture?.stopAfterLastLayer) throw new RangeError('a greedy run needs its logits: capture.stopAfterLastLayer is for probes');
    return this.enqueue(() => this.handle.decodeGreedy(request.token, request.position, request.maxSteps, capture));
  }

  private captureOptions(request: DecodeRequest['capture']): AddonCaptureOptions | null {
    if (request === undefined) return null;
    if (!this.info.captureEnabled) throw new RangeError('this context was created with captureEnabled: false');
    const { layers, keys = true, queries = false, stopAfterLastLayer = false } = request;
    if (!Array.isArray(layers) || layers.length === 0) throw new TypeError('capture.layers must be a non-empty array of layer indexes');
    const layerCount = this.model.info.layerCount;
    layers.forEach((layer, i) => checkInteger(layer, `capture.layers[${i}]`, 0, layerCount - 1));
    if (typeof keys !== 'boolean' || typeof queries !== 'boolean') throw new TypeError('capture.keys and capture.queries must be booleans');
    if (!keys && !queries) throw new RangeError('capture needs keys, queries or both');
    if (typeof stopAfterLastLayer !== 'boolean') throw new TypeError('capture.stopAfterLastLayer must be a boolean');
    return { layers: Int32Array.from(layers), keys, queries, stopAfterLastLayer };
  }

  /** Copies the cells with positions in [start, end) into a blob; the context is unchanged. */
  async captureChunk(start: number, end: number): Promise<AddonCapturedChunk> {
    this.assertAlive();
    checkRange(start, end);
    return this.enqueue(() => this.handle.captureChunk(start, end));
  }

  /**
   * Puts a blob's cells back at the positions they were captured at, plus `shift` (llama.cpp rotates
   * their keys at the next decode; cells already at the new positions are not touched). The result
   * gives the positions the cells now hold.
   */
  async spliceChunk(blob: Uint8Array, shift = 0, trim = 0): Promise<AddonChunkInfo> {
    this.assertAlive();
    if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
    if (blob.byteLength === 0) throw new RangeError('the blob is empty');
    checkInteger(shift, 'shift', -INT32_MAX, INT32_MAX);
    checkInteger(trim, 'trim', 0, INT32_MAX);
    return this.enqueue(() => this.handle.spliceChunk(blob, shift, trim));
  }

  /** Removes the cells with positions in [start, end). */
  async removeRange(start: number, end: number): Promise<void> {
    this.assertAlive();
    checkRange(start, end);
    return this.enqueue(() => this.handle.removeRange(start, end));
  }

  /**
   * Moves the cells at positions [start, end) by `delta`; llama.cpp rotates their keys to match
   * (RoPE) at the next decode. Compact positions for documents longer than the model's context.
   */
  async shiftRange(start: number, end: number, delta: number): Promise<void> {
    this.assertAlive();
    checkRange(start, end);
    if (!Number.isInteger(delta) || start + delta < 0) throw new RangeError(`delta must be an integer keeping positions ≥ 0, got ${delta}`);
    if (delta === 0) return;
    return this.enqueue(() => this.handle.shiftRange(start, end, delta));
  }

  /** Whether the model's KV cache can shift positions at all. */
  async canShift(): Promise<boolean> {
    this.assertAlive();
    return this.enqueue(async () => this.handle.canShift());
  }

  /** Smallest and largest position in the context (inclusive), -1/-1 when it is empty. */
  async positionRange(): Promise<{ min: number; max: number }> {
    this.assertAlive();
    return this.enqueue(async () => ({ min: this.handle.seqPosMin(), max: this.handle.seqPosMax() }));
  }

  /** Frees the context after the calls already made have finished. Idempotent. */
  dispose(): Promise<void> {
    this.disposePromise ??= (async () => {
      await this.queue.idle();
      await native(() => this.handle.dispose());
      this.model.forget(this);
    })();
    return this.disposePromise;
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('the tier context');
  }

  private enqueue<T>(call: () => Promise<T>): Promise<T> {
    return this.queue.run(() => native(call));
  }
}


/** The binding's scoreChunks arguments, checked (a TypeError or RangeError that says what is wrong). */
function scoringArguments(request: ScoreChunksRequest, options: ScoreChunksOptions) {
  const { firstChunk, chunkCount } = checkScoreChunks(request, options.firstChunk, options.chunkCount);
  const threads = checkInteger(options.threads ?? 0, 'threads', 0, 1024);
  const { queries, nQueryTokens, nHeads, nKvHeads, headDim, abstracts } = request;
  return [queries, nQueryTokens, nHeads, nKvHeads, headDim, abstracts, firstChunk, chunkCount, threads] as const;
}
