// The one module that touches the tiered engine's native addon (native/build/Release/strata_tier.node).
//
// Every export of the addon is typed here by hand (`AddonBinding` and what it returns), like
// node-llama-cpp's AddonTypes.ts. The classes below are the only holders of the binding: they check
// arguments before crossing into C++ (TypeError / RangeError), turn native rejections into
// StrataErrors with the addon's stable code, queue calls on a context one at a time, and dispose
// children with their parents.
//
// Positions are llama.cpp positions on sequence 0 of a tiered context. Ranges are half-open: [start, end).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama } from 'node-llama-cpp';
import { isErrorCode, type ErrorCode } from '../../errorCodes.ts';
import { SerialQueue } from '../../SerialQueue.ts';
import { DisposedError, StrataError } from '../../errors.ts';

// ---------------------------------------------------------------------------------------------------
// The addon's exports, as C++ defines them (native/src/binding/*.cpp).

export type GgmlTypeName = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1';
export type LogitsMode = 'none' | 'last' | 'all';

export interface AddonInitInfo {
  binsDir: string;
  /** The libllama the addon dlopen()ed (the same mapping node-llama-cpp uses when it loaded it first). */
  libraryPath: string;
  /** True when the addon registered the ggml backends itself; false when node-llama-cpp already had. */
  loadedBackends: boolean;
  devices: Array<{ name: string; type: 'cpu' | 'gpu' | 'igpu' | 'accel' }>;
}

export interface AddonModelInfo {
  architecture: string;
  description: string;
  sizeBytes: number;
  layerCount: number;
  headCount: number;
  kvHeadCount: number;
  headDimK: number;
  headDimV: number;
  embdSize: number;
  vocabSize: number;
  trainContextLength: number;
  bosToken: number;
  eosToken: number;
  /** Sliding-window size, 0 when every layer sees the whole context, -1 when llama.cpp cannot tell. */
  slidingWindow: number;
  isRecurrent: boolean;
  isHybrid: boolean;
  hasEncoder: boolean;
  /** enum llama_rope_type: -1 none, 0 norm, 2 neox, 8 mrope, 24 vision, 40 imrope. */
  ropeType: number;
}

export interface AddonContextOptions {
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  sequenceCount: number;
  threads: number;
  batchThreads: number;
  flashAttention: boolean;
  typeK: number;
  typeV: number;
  offloadKqv: boolean;
  captureEnabled: boolean;
}

export interface AddonContextInfo {
  /** Cells of the KV cache (llama.cpp may round the requested size up). */
  contextSize: number;
  batchSize: number;
  ubatchSize: number;
  sequenceCount: number;
  flashAttention: boolean;
  typeK: number;
  typeV: number;
  threads: number;
  captureEnabled: boolean;
}

export interface AddonCaptureOptions {
  layers: Int32Array;
  keys: boolean;
  queries: boolean;
}

export interface AddonLayerCapture {
  layer: number;
  /** Post-RoPE keys, [token][kvHead][dim]; null when not asked for. */
  keys: Float32Array | null;
  /** Post-RoPE queries, [token][head][dim]; null when not asked for. */
  queries: Float32Array | null;
  kvHeadCount: number;
  headCount: number;
  headDim: number;
}

export interface AddonDecodeResult {
  /** logitRows × vocabSize floats, or null for logits 'none'. */
  logits: Float32Array | null;
  logitRows: number;
  /** null when capture was not armed for this decode. */
  captures: AddonLayerCapture[] | null;
  /** Wall time of the llama.cpp calls, captures included. */
  elapsedMs: number;
}

export interface AddonChunkInfo {
  cellCount: number;
  /** Smallest and largest position among the chunk's cells (inclusive). */
  posMin: number;
  posMax: number;
  /** Wall time of the llama.cpp calls (not the copy across N-API). */
  elapsedMs: number;
}

export interface AddonCapturedChunk extends AddonChunkInfo {
  blob: Uint8Array;
}

export interface AddonBlobInfo extends Omit<AddonChunkInfo, 'elapsedMs'> {
  flashAttention: boolean;
  layerCount: number;
  typeK: number;
  /** -1 when the model has no V cache. */
  typeV: number;
  kvBytes: number;
  sizeBytes: number;
}

export interface AddonTierContext {
  readonly disposed: boolean;
  getInfo(): AddonContextInfo;
  decode(tokens: Int32Array, positions: Int32Array, logits: LogitsMode, capture?: AddonCaptureOptions | null): Promise<AddonDecodeResult>;
  captureChunk(start: number, end: number): Promise<AddonCapturedChunk>;
  spliceChunk(blob: Uint8Array): Promise<AddonChunkInfo>;
  removeRange(start: number, end: number): Promise<void>;
  shiftRange(start: number, end: number, delta: number): Promise<void>;
  /** Throw code BUSY while an operation runs. */
  canShift(): boolean;
  seqPosMin(): number;
  seqPosMax(): number;
  dispose(): Promise<void>;
}

export interface AddonTierModel {
  readonly disposed: boolean;
  getInfo(): AddonModelInfo;
  createContext(options: AddonContextOptions): Promise<AddonTierContext>;
  dispose(): Promise<void>;
}

export interface AddonBinding {
  initialize(binsDir: string): Promise<AddonInitInfo>;
  getInitInfo(): AddonInitInfo | null;
  loadModel(path: string, options: { gpuLayers: number }): Promise<AddonTierModel>;
  describeBlob(blob: Uint8Array): AddonBlobInfo;
  readonly ggmlTypes: Readonly<Record<GgmlTypeName, number>>;
  /** "node-llama-cpp@<version>/llama.cpp@<tag>" of the headers the addon was compiled against. */
  readonly llamaCppRelease: string;
}

// ---------------------------------------------------------------------------------------------------
// Errors

/** A failure reported by the addon; `code` is its stable code (BAD_BLOB, KV_FULL, EMPTY_RANGE, …). */
export class NativeTierError extends StrataError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NativeTierError';
  }
}

function fromNative(error: unknown): Error {
  if (error instanceof StrataError) return error;
  if (error instanceof TypeError || error instanceof RangeError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new NativeTierError(isErrorCode(code) ? code : 'INTERNAL', message, { cause: error });
}

async function native<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromNative(error);
  }
}

// ---------------------------------------------------------------------------------------------------
// Argument checks (before anything crosses into C++)

const INT32_MAX = 2 ** 31 - 1;

function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

function checkRange(start: number, end: number): void {
  checkInteger(start, 'start', 0, INT32_MAX);
  checkInteger(end, 'end', 0, INT32_MAX);
  if (start >= end) throw new RangeError(`the range [start, end) must have start < end, got [${start}, ${end})`);
}

function toInt32Array(values: Int32Array | readonly number[], name: string): Int32Array {
  if (values instanceof Int32Array) return values;
  if (!Array.isArray(values)) throw new TypeError(`${name} must be an Int32Array or an array of integers`);
  const array = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value: unknown = values[i];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value > INT32_MAX) {
      throw new RangeError(`${name}[${i}] must be an int32, got ${String(value)}`);
    }
    array[i] = value;
  }
  return array;
}

// ---------------------------------------------------------------------------------------------------
// The wrappers

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
  /** Arms query/key capture for this decode only. */
  capture?: { layers: readonly number[]; keys?: boolean; queries?: boolean };
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
   * Returns the logits asked for and, when `capture` is given, the post-RoPE keys/queries of those layers.
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
    if (request.logits !== 'none' && request.logits !== 'last' && request.logits !== 'all') {
      throw new TypeError(`logits must be 'none', 'last' or 'all', got ${String(request.logits)}`);
    }
    let capture: AddonCaptureOptions | null = null;
    if (request.capture !== undefined) {
      if (!this.info.captureEnabled) throw new RangeError('this context was created with captureEnabled: false');
      const { layers, keys = true, queries = false } = request.capture;
      if (!Array.isArray(layers) || layers.length === 0) throw new TypeError('capture.layers must be a non-empty array of layer indexes');
      const layerCount = this.model.info.layerCount;
      layers.forEach((layer, i) => checkInteger(layer, `capture.layers[${i}]`, 0, layerCount - 1));
      if (typeof keys !== 'boolean' || typeof queries !== 'boolean') throw new TypeError('capture.keys and capture.queries must be booleans');
      if (!keys && !queries) throw new RangeError('capture needs keys, queries or both');
      capture = { layers: Int32Array.from(layers), keys, queries };
    }
    return this.enqueue(() => this.handle.decode(tokens, positions, request.logits, capture));
  }

  /** Copies the cells with positions in [start, end) into a blob; the context is unchanged. */
  async captureChunk(start: number, end: number): Promise<AddonCapturedChunk> {
    this.assertAlive();
    checkRange(start, end);
    return this.enqueue(() => this.handle.captureChunk(start, end));
  }

  /** Puts a blob's cells back at the positions they were captured at. */
  async spliceChunk(blob: Uint8Array): Promise<AddonChunkInfo> {
    this.assertAlive();
    if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
    if (blob.byteLength === 0) throw new RangeError('the blob is empty');
    return this.enqueue(() => this.handle.spliceChunk(blob));
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

// ---------------------------------------------------------------------------------------------------
// Loading

export type NativeAddonLoad = { addon: NativeAddon } | { error: string };

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'strata_tier.node');
let loaded: NativeAddonLoad | null = null;

/**
 * Loads the addon once per process. Never throws: `{ error }` says why the tiered engine is not
 * available (not built, built for another node-llama-cpp, not loadable here) and the app falls back
 * to the standard engine.
 */
export function loadNativeAddon(): NativeAddonLoad {
  if (loaded !== null) return loaded;
  try {
    const path = findAddonPath();
    if (path === null) {
      loaded = { error: `the native addon is not built (no ${ADDON_RELATIVE_PATH}); run npm run build:native` };
      return loaded;
    }
    const binding = createRequire(import.meta.url)(path) as AddonBinding;
    const installed = installedNodeLlamaCppVersion();
    const builtFor = /^node-llama-cpp@([^/]+)\//.exec(binding.llamaCppRelease)?.[1];
    if (installed !== null && builtFor !== undefined && installed !== builtFor) {
      loaded = { error: `the native addon was built against node-llama-cpp ${builtFor} but ${installed} is installed; run npm run build:native` };
      return loaded;
    }
    loaded = { addon: new NativeAddon(binding) };
  } catch (error) {
    loaded = { error: `the native addon could not be loaded: ${error instanceof Error ? error.message : String(error)}` };
  }
  return loaded;
}

/**
 * native/build/Release/strata_tier.node in the first ancestor of `from` that has it (the source tree,
 * the bundled out/main, or a packaged app, where it sits in app.asar.unpacked beside app.asar).
 */
export function findAddonPath(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    const unpacked = candidate.replace(`.asar${sep}`, `.asar.unpacked${sep}`);
    if (existsSync(unpacked)) return unpacked;
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

function findPackageDir(name: string): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

function installedNodeLlamaCppVersion(): string | null {
  const dir = findPackageDir('node-llama-cpp');
  if (dir === null) return null;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
}

/** The llama.cpp release a bins folder was built from (its _nlcBuildMetadata.json), or null. */
function readBinsRelease(binsDir: string): string | null {
  try {
    const metadata = JSON.parse(readFileSync(join(binsDir, '_nlcBuildMetadata.json'), 'utf8')) as { buildOptions?: { llamaCpp?: { release?: string } } };
    return metadata.buildOptions?.llamaCpp?.release ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Which binaries node-llama-cpp uses

const LLAMA_LIBRARY = /^(lib)?llama(\.[\w.-]+)?\.(so|dylib|dll)$/;

/**
 * The folder of shared libraries (libllama, libggml*, backends) that `llama` runs on, to pass to
 * NativeAddon.initialize() so that the addon and node-llama-cpp share one copy of llama.cpp.
 *
 * node-llama-cpp does not keep the path it loaded (Llama has no public or internal field for it):
 * getLlama() picks a variant folder (a local build, node-llama-cpp/bins/<name>, or the
 * @node-llama-cpp/<platform>-<arch>[-<gpu>] package's bins/<name>) and require()s its
 * llama-addon.node, which links libllama from the same folder. So:
 * 1. where the OS lists mapped files (/proc/self/maps on Linux), the folder of the libllama that is
 *    mapped — exactly the one node-llama-cpp loaded;
 * 2. otherwise the prebuilt folder node-llama-cpp resolves for `llama.gpu`, the same way it does
 *    (getPrebuiltBinaryPath in dist/bindings/utils/compileLLamaCpp.js).
 */
export async function getLlamaBinsDir(llama: Llama): Promise<string> {
  const gpu = llama.gpu;
  const fromMaps = binsDirFromProcessMaps(gpu);
  if (fromMaps !== null) return fromMaps;
  if (llama.buildType !== 'prebuilt') {
    throw new NativeTierError('BINS_NOT_FOUND', `cannot locate node-llama-cpp's local build (${String(gpu)}) on this platform`);
  }
  const platform = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : process.platform;
  const folderName = `${platform}-${process.arch}${gpu === false ? '' : `-${gpu}`}`;
  const candidates: string[] = [];
  const nodeLlamaCppDir = findPackageDir('node-llama-cpp');
  if (nodeLlamaCppDir !== null) candidates.push(join(nodeLlamaCppDir, 'bins', folderName));
  for (const packageName of [folderName, `${folderName}-ext`]) {
    const packageDir = findPackageDir(`@node-llama-cpp/${packageName}`);
    if (packageDir !== null) candidates.push(join(packageDir, 'bins', folderName));
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'llama-addon.node')) && hasLlamaLibrary(dir));
  if (found === undefined) throw new NativeTierError('BINS_NOT_FOUND', `no node-llama-cpp binaries for ${folderName} (looked in ${candidates.join(', ') || 'nothing'})`);
  return found;
}

function hasLlamaLibrary(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => LLAMA_LIBRARY.test(name));
  } catch {
    return false;
  }
}

function binsDirFromProcessMaps(gpu: Llama['gpu']): string | null {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  const dirs = new Set<string>();
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash === -1) continue;
    const path = line.slice(slash).replace(/ \(deleted\)$/, '');
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (LLAMA_LIBRARY.test(name) && existsSync(join(dirname(path), 'llama-addon.node'))) dirs.add(dirname(path));
  }
  if (dirs.size <= 1) return dirs.values().next().value ?? null;
  // Several variants mapped (getLlama() called with different gpu options): the one matching this Llama.
  const suffix = gpu === false ? null : `-${gpu}`;
  const matching = [...dirs].filter((dir) => {
    const base = dir.slice(dir.lastIndexOf(sep) + 1);
    return suffix === null ? !/-(cuda|vulkan|metal)/.test(base) : base.includes(suffix);
  });
  return matching.length === 1 ? matching[0]! : null;
}
