// The addon's exports as C++ defines them (native/src/binding/*.cpp), typed by hand like
// node-llama-cpp's AddonTypes.ts. Only NativeAddon.ts holds the binding; everything else sees these.
// Positions are llama.cpp positions on sequence 0 of a tiered context. Ranges are half-open: [start, end).

export type GgmlTypeName = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1';
/** 'argmax': only the index of the last token's largest logit (lowest index among ties), no logits row. */
export type LogitsMode = 'none' | 'last' | 'all' | 'argmax';

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
  /** llama_context_params.offload_kqv: false keeps the KV cache (and attention over it) in host memory. */
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
  /** Stop the graph after the last layer's capture (a probe: its cells are removed after). */
  stopAfterLastLayer?: boolean;
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
  /** logitRows × vocabSize floats, or null for logits 'none' and 'argmax'. */
  logits: Float32Array | null;
  logitRows: number;
  /** For logits 'argmax': the last token's most likely next token (lowest id among ties); else null. */
  argmax: number | null;
  /** null when capture was not armed for this decode. */
  captures: AddonLayerCapture[] | null;
  /** Wall time of the llama.cpp calls, captures included. */
  elapsedMs: number;
}

/** decodeGreedy(): the tokens one greedy run produced, and the captures of every token it decoded. */
export interface AddonGreedyResult {
  /** One per decode: each the argmax after the one before; the last may be an end-of-generation token (not decoded). */
  tokens: Int32Array;
  captures: AddonLayerCapture[] | null;
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
  decodeGreedy(token: number, position: number, maxSteps: number, capture?: AddonCaptureOptions | null): Promise<AddonGreedyResult>;
  captureChunk(start: number, end: number): Promise<AddonCapturedChunk>;
  spliceChunk(blob: Uint8Array, shift?: number, trim?: number): Promise<AddonChunkInfo>;
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
  /**
   * scoreChunks.ts's scores for chunks [firstChunk, firstChunk + chunkCount) of the packed `abstracts`,
   * computed on the libuv pool over up to `threads` threads (0: all cores). The inputs are copied
   * before it returns. Needs no initialize().
   */
  scoreChunks(
    queries: readonly Float32Array[], nQueryTokens: number, nHeads: number, nKvHeads: number, headDim: number,
    abstracts: Float32Array, firstChunk: number, chunkCount: number, threads: number,
  ): Promise<Float64Array>;
  /** With `raw` true: the bounds before standardisation, [layer·head][chunk] in float32. */
  scoreChunks(
    queries: readonly Float32Array[], nQueryTokens: number, nHeads: number, nKvHeads: number, headDim: number,
    abstracts: Float32Array, firstChunk: number, chunkCount: number, threads: number, raw: true,
  ): Promise<Float32Array>;
  readonly ggmlTypes: Readonly<Record<GgmlTypeName, number>>;
  /** "node-llama-cpp@<version>/llama.cpp@<tag>" of the headers the addon was compiled against. */
  readonly llamaCppRelease: string;
}

