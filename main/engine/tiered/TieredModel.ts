// One model opened by the tiered engine: the native model and its one GPU-tier context (sized to the
// GPU budget), a vocab-only node-llama-cpp model for tokens and chat templates, the CPU and disk tiers,
// and the document prefixes already read into them. Asks run one at a time: they share the GPU tier.
import { SerialQueue } from '../SerialQueue.ts';
import { createHash } from 'node:crypto';
import type { LlamaModel } from 'node-llama-cpp';
import type { IngestBreakdown, MemorySnapshot } from '../engineTypes.ts';
import type { ResolvedSettings } from '../settings/engineSettings.ts';
import type { KvCatalog, KvChunk, PrefixRender } from '../../catalog/KvCatalog.ts';
import type { AskOptions, EngineConversation, EngineDocument, EngineModel, LoadedModelInfo } from '../Engine.ts';
import { DisposedError, StrataError } from '../errors.ts';
import { kvBytesPerToken } from './defaultBudgets.ts';
import { packAbstracts } from './abstracts/scoreChunks.ts';
import { chunkKey, ingestPrefix } from './ingestPrefix.ts';
import type { AddonModelInfo, NativeTierContext, NativeTierModel } from './native/NativeAddon.ts';
import type { EngineTurn } from '../Engine.ts';
import type { TokenizerWorker } from '../tokenize/TokenizerWorker.ts';
import { TieredConversation } from './TieredConversation.ts';
import { TailRenderer } from './TailRenderer.ts';
import { TurnStore } from './TurnStore.ts';
import { TierManager, type SpliceSource } from './TierManager.ts';
import type { RopeSpec } from './positions/ropeRotation.ts';
import type { CpuTier } from './tiers/CpuTier.ts';
import { tieredSource } from './tiers/tieredSource.ts';
import { forgetStoredIngest } from './tiers/forgetStoredIngest.ts';
import type { DiskTier } from './tiers/DiskTier.ts';

export type SelectionMode = 'scores' | 'recent';

/** Numbers a test or the dashboards sample whenever the GPU tier changes. */
export interface TierSample {
  gpuResidentTokens: number;
  gpuBudgetTokens: number;
  cpuBytes: number;
  cpuBudgetBytes: number;
  diskBytes: number;
}

export interface TieredModelParts {
  canShift: boolean;
  ropeSpec: RopeSpec | null;
  info: LoadedModelInfo;
  modelId: string;
  native: NativeTierModel;
  context: NativeTierContext;
  vocab: LlamaModel;
  /** Tokenization and prompt rendering off the main thread (the same vocab in a worker). */
  tokenizer: TokenizerWorker;
  cpu: CpuTier;
  disk: DiskTier;
  kv: KvCatalog;
  /** The engine settings with the chunk bounds resolved for this GPU budget. */
  settings: ResolvedSettings;
  flashAttention: boolean;
  /** The addon's llama.cpp build ("node-llama-cpp@…/llama.cpp@…"): part of every ingest's fingerprint. */
  llamaCppRelease: string;
  gpuBudgetTokens: number;
  scoringLayers: number[];
  selectionMode: SelectionMode;
  onSample?: (sample: TierSample) => void;
  /** Device memory as llama.cpp sees it; null on a CPU-only machine. */
  vram: () => Promise<{ totalBytes: number; usedBytes: number } | null>;
  onDispose: () => void;
}

/** Bumped whenever what a blob holds or how it is parsed changes: old blobs are then read again. */
// 2: the sink ends between words (planChunks), so every chunk plan of version 1 is read again.
export const BLOB_FORMAT_VERSION = 2;
/** Document prefixes kept in memory (tokens, chunk rows, packed abstracts); older ones are re-read from the catalog. */
const MAX_CACHED_PREFIXES = 4;
/** A chunk blob's bytes beyond its KV: llama.cpp's per-cell header and the sequence state header. */
const BLOB_OVERHEAD_BYTES_PER_TOKEN = 16;

export interface DocumentPrefix {
  ingestId: string;
  tokens: number[];
  chunks: KvChunk[];
  /** Per chunk, the document its text starts in and the range in that document's text. */
  places: { documentId: string | null; charStart: number; charEnd: number }[];
  /** Every chunk's abstract, packed once for scoring (scoreChunks). */
  packedAbstracts: Float32Array;
}

export class TieredModel implements EngineModel {
  readonly info: LoadedModelInfo;
  private readonly parts: TieredModelParts;
  readonly tiers: TierManager;
  /** A conversation's stored turns: their blobs (CPU tier, disk) and rows. */
  readonly turnStore: TurnStore;
  readonly renderer: AsyncPromptRenderer;
  private readonly tailRenderer: TailRenderer;
  private readonly prefixes = new BoundedMap<string, DocumentPrefix>(MAX_CACHED_PREFIXES);
  private readonly prefixBySet = new BoundedMap<string, DocumentPrefix>(MAX_CACHED_PREFIXES);
  private readonly queue = new SerialQueue();
  private disposed = false;

  /** Whether chunks may be moved to compact positions (the model's cache can shift: llama_memory_can_shift). */
  readonly compactPositions: boolean;
  /** The model's RoPE, to score moved chunks where they will be; null: scored at their stored positions. */
  readonly ropeSpec: RopeSpec | null;

  constructor(parts: TieredModelParts) {
    this.parts = parts;
    this.turnStore = new TurnStore(parts);
    this.compactPositions = parts.canShift;
    this.ropeSpec = parts.ropeSpec;
    this.info = parts.info;
    this.renderer = workerRenderer(parts.tokenizer, parts.info.hasChatTemplate);
    this.tailRenderer = new TailRenderer(this.renderer, {
      get: (setKey) => parts.kv.findPrefixRender(setKey, parts.modelId)?.standInsOk ?? null,
      set: (setKey, ok) => parts.kv.setPrefixStandInsOk(setKey, parts.modelId, ok),
    });
    this.tiers = new TierManager(parts.context, parts.gpuBudgetTokens, () => this.sample());
  }

  get nativeInfo(): AddonModelInfo {
    return this.parts.native.info;
  }

  countTokens(text: string): Promise<number> {
    this.assertAlive();
    return this.parts.tokenizer.countTokens(text);
  }

  createConversation(options: { id?: string } = {}): EngineConversation {
    this.assertAlive();
    return new TieredConversation(this, options.id);
  }

  /** The engine settings this model opened with (chunk bounds resolved for its GPU budget). */
  get settings(): ResolvedSettings {
    return this.parts.settings;
  }

  get scoringLayers(): number[] {
    return this.parts.scoringLayers;
  }

  get selectionMode(): SelectionMode {
    return this.parts.selectionMode;
  }

  /** The model's vocabulary (node-llama-cpp, vocab-only): end-of-generation tokens, detokenizing a stream. */
  get vocab(): LlamaModel {
    return this.parts.vocab;
  }

  /** Bytes of KV now held by the CPU tier and stored on disk, for an answer's metrics. */
  lowerTierBytes(): { cpu: number; disk: number } {
    return { cpu: this.parts.cpu.stats().bytes, disk: this.parts.disk.usedBytes() };
  }

  /** Asks run one at a time: they share the GPU tier. */
  run<T>(task: () => Promise<T>): Promise<T> {
    return this.queue.run(() => {
      this.assertAlive();
      return task();
    });
  }

  /**
   * The document prefix in the tiers: read now (block-wise, resumable) unless an earlier ingest, in
   * this run or a previous one, already stored it. Returns how many tokens this call evaluated.
   */
  async documentPrefix(documents: readonly EngineDocument[], options: AskOptions): Promise<{ prefix: DocumentPrefix | null; evaluatedTokens: number; ingest: IngestBreakdown | null }> {
    if (documents.length === 0) return { prefix: null, evaluatedTokens: 0, ingest: null };
    // Rendering a long prefix tokenizes the documents twice: remember it per document set and texts.
    const setKey = documentSetKey(documents);
    const known = this.prefixBySet.get(setKey);
    if (known) {
      this.parts.kv.touchIngest(known.ingestId);
      return { prefix: known, evaluatedTokens: 0, ingest: null };
    }
    // A set read before (in this process or an earlier one) keeps its prefix tokens in the catalog.
    const stored = this.parts.kv.findPrefixRender(setKey, this.parts.modelId);
    const tokens = stored?.tokens ?? (await this.renderer.prefix(documents));
    const fingerprint = this.fingerprint(tokens);
    const cached = this.prefixes.get(fingerprint);
    if (cached) {
      this.parts.kv.touchIngest(cached.ingestId);
      this.prefixBySet.set(setKey, cached);
      return { prefix: cached, evaluatedTokens: 0, ingest: null };
    }
    const { kv, disk, cpu, settings, vocab } = this.parts;
    const key = { documentId: documents[0].id, modelId: this.parts.modelId, configFingerprint: fingerprint };
    const existing = kv.findIngest(key);
    if (existing?.state !== 'complete') this.checkDiskRoom(tokens.length);
    const ingest = kv.startIngest({ ...key, documentIds: documents.map((doc) => doc.id), tokenCount: tokens.length });
    if (ingest.state !== 'complete') await this.makeDiskRoom(ingest.id, ingest.tokenCount - ingest.tokensDone, options);
    let pieces: Promise<string[]> | null = null;
    const prefixPieces = () => (pieces ??= this.parts.tokenizer.detokenizePieces(tokens));
    const { chunks, evaluatedTokens, breakdown } = await ingestPrefix({
      tiers: this.tiers,
      tokens,
      pieces: prefixPieces,
      ingest,
      kv,
      disk,
      cpu,
      chunkMinTokens: settings.chunkMinTokens,
      chunkMaxTokens: settings.chunkMaxTokens,
      scoringLayers: this.parts.scoringLayers,
      signal: options.signal,
      onProgress: this.longReadWatch(tokens.length, ingest.tokensDone, options),
    });
    const documentStarts = stored?.documentStarts ?? findDocumentStarts((await prefixPieces()).join(''), documents);
    if (!stored) kv.savePrefixRender(setKey, this.parts.modelId, documents[0].id, { tokens, documentStarts, standInsOk: null });
    const prefix: DocumentPrefix = {
      ingestId: ingest.id,
      tokens,
      chunks,
      places: placeChunks(documentStarts, chunks),
      packedAbstracts: packAbstracts(chunks.map((c) => c.abstract)),
    };
    this.prefixes.set(fingerprint, prefix);
    this.prefixBySet.set(setKey, prefix);
    return { prefix, evaluatedTokens, ingest: evaluatedTokens > 0 ? breakdown : null };
  }

  /** The whole prompt of an ask; with the documents' stored prefix given, their text is not tokenized again. */
  renderPrompt(documents: readonly EngineDocument[], prefix: readonly number[] | null, turns: readonly EngineTurn[], question: string, instructions: string | null): Promise<number[]> {
    return this.tailRenderer.render(documentSetKey(documents), documents, prefix, turns, question, instructions);
  }

  /** The prompt every next question shares (documents, instructions, turns), likewise. */
  renderPrefixWithTurns(documents: readonly EngineDocument[], prefix: readonly number[] | null, turns: readonly EngineTurn[], instructions: string | null): Promise<number[]> {
    return this.tailRenderer.prefixWithTurns(documentSetKey(documents), documents, prefix, turns, instructions);
  }

  /** Prefill speed of the last read on this model (tokens/s), to tell the next long read how long it takes. */
  private readTokensPerSecond: number | null = null;

  /**
   * A read longer than the model's trained context is said before it goes on: the numbers, and the
   * time it takes at the rate measured on this machine (the last read's, else the first third of a second of this
   * one). Returns the progress callback that measures the rate and passes progress on.
   */
  private longReadWatch(tokenCount: number, tokensDone: number, options: AskOptions): (done: number, total: number) => void {
    const trained = this.info.trainContextTokens;
    const tooLong = trained > 0 && tokenCount > trained;
    const startedAt = performance.now();
    let told = false;
    const tell = (rate: number) => {
      told = true;
      const left = tokenCount - tokensDone;
      options.onNotice?.(
        `These documents are ${tokenCount.toLocaleString('en-US')} tokens, longer than the ${trained.toLocaleString('en-US')} tokens ${this.info.name} was trained on: ` +
          (this.compactPositions
            ? `each answer reads only the parts that matter, moved next to each other so the model never looks farther back than it was trained to (the read itself still runs past it). `
            : `past that the model attends at distances it never saw in training, and answers may suffer. `) +
          `Reading the ${left.toLocaleString('en-US')} tokens left takes about ${formatDuration((left / rate) * 1000)} at the measured ${Math.round(rate)} tokens/s.`,
      );
    };
    if (tooLong && this.readTokensPerSecond !== null) tell(this.readTokensPerSecond);
    return (done, total) => {
      const seconds = (performance.now() - startedAt) / 1000;
      // A third of a second of reading measures the rate well enough and still tells the user early on
      // a fast machine (a 6K-token read takes ~1.5 s on 2 CPU cores).
      if (seconds >= 0.3 && done > tokensDone) {
        this.readTokensPerSecond = (done - tokensDone) / seconds;
        if (tooLong && !told) tell(this.readTokensPerSecond);
      }
      options.onIngestProgress?.(done, total);
    };
  }

  /** The chunk indices the last question on each ingest chose; read from the catalog once per process. */
  private readonly lastSelections = new Map<string, number[]>();

  lastSelection(prefix: DocumentPrefix): number[] {
    let indices = this.lastSelections.get(prefix.ingestId);
    if (indices === undefined) {
      indices = this.parts.kv.lastSelection(prefix.ingestId);
      this.lastSelections.set(prefix.ingestId, indices);
    }
    return indices;
  }

  rememberSelection(prefix: DocumentPrefix, chunkIndices: readonly number[]): void {
    const sorted = [...chunkIndices].sort((a, b) => a - b);
    const before = this.lastSelections.get(prefix.ingestId);
    if (before && before.length === sorted.length && before.every((v, i) => v === sorted[i])) return;
    this.lastSelections.set(prefix.ingestId, sorted);
    this.parts.kv.setLastSelection(prefix.ingestId, sorted);
  }

  /** Counters since the model was opened, for the memory dashboard. */
  readonly counters = { gpuHits: 0, cpuHits: 0, diskHits: 0, bytesFromCpu: 0, bytesFromDisk: 0 };

  async memory(): Promise<Omit<MemorySnapshot, 'at' | 'engine'>> {
    const { cpu, disk } = this.parts;
    const bytesPerToken = this.kvBytesPerToken();
    const cpuStats = cpu.stats();
    return {
      tiers: {
        gpu: { bytes: this.tiers.residentTokens * bytesPerToken, budgetBytes: this.tiers.budgetTokens * bytesPerToken },
        cpu: { bytes: cpuStats.bytes, budgetBytes: cpuStats.budgetBytes },
        disk: { bytes: disk.usedBytes(), budgetBytes: disk.budgetBytes },
      },
      gpuResidentTokens: this.tiers.residentTokens,
      gpuBudgetTokens: this.tiers.budgetTokens,
      vram: await this.parts.vram(),
      hits: { gpu: this.counters.gpuHits, cpu: this.counters.cpuHits, disk: this.counters.diskHits },
      loadedBytes: { cpu: this.counters.bytesFromCpu, disk: this.counters.bytesFromDisk },
    };
  }

  /** Records a makeResident's outcome: `kept` chunks were already on the GPU. */
  countSplices(kept: number, stats: { bytesFromCpu: number; bytesFromDisk: number; splicedFromCpu: number; splicedFromDisk: number }): void {
    this.counters.gpuHits += kept;
    this.counters.cpuHits += stats.splicedFromCpu;
    this.counters.diskHits += stats.splicedFromDisk;
    this.counters.bytesFromCpu += stats.bytesFromCpu;
    this.counters.bytesFromDisk += stats.bytesFromDisk;
  }

  /** Which tier holds a document chunk now (the fastest one that has it). */
  tierOf(prefix: DocumentPrefix, chunk: KvChunk): 'gpu' | 'cpu' | 'disk' {
    const key = chunkKey(prefix.ingestId, chunk.index);
    if (this.tiers.isResident(key)) return 'gpu';
    return this.parts.cpu.has(key) ? 'cpu' : 'disk';
  }

  /** Bytes a prefix of `tokenCount` tokens takes in the disk tier (blobs with their headers). */
  blobBytesFor(tokenCount: number): number {
    const shape = this.nativeInfo;
    return tokenCount * (this.kvBytesPerToken() + BLOB_OVERHEAD_BYTES_PER_TOKEN);
  }

  /** One KV cell across all layers in this model's KV cache type. */
  kvBytesPerToken(): number {
    const shape = this.nativeInfo;
    return kvBytesPerToken({ layers: shape.layerCount, kvHeads: shape.kvHeadCount, headDimK: shape.headDimK, headDimV: shape.headDimV }, this.parts.settings.kvCacheType);
  }

  /** Refuses, before anything is written, documents whose KV cache alone cannot fit the disk budget. */
  private checkDiskRoom(tokenCount: number): void {
    const budget = this.parts.disk.budgetBytes;
    if (budget === null) return;
    const needed = this.blobBytesFor(tokenCount);
    if (needed > budget) {
      throw new StrataError(
        'DISK_BUDGET_EXCEEDED',
        `These documents need about ${gib(needed)} of disk for their KV cache (${tokenCount} tokens), more than the whole disk budget of ${gib(budget)}. Raise the disk budget in the engine settings, or use fewer or shorter documents in this conversation.`,
      );
    }
  }

  /**
   * The disk budget is a cache: when the rest of this read (`tokensLeft` tokens; what is already
   * stored is not charged again) does not fit, whole least-recently-used document KVs are dropped
   * (they are read again when a question needs them) until it does.
   */
  private async makeDiskRoom(ingestId: string, tokensLeft: number, options: AskOptions): Promise<void> {
    const { disk, kv } = this.parts;
    const budget = disk.budgetBytes;
    if (budget === null || tokensLeft <= 0) return;
    const needed = this.blobBytesFor(tokensLeft);
    const dropped: { documentIds: string[]; bytes: number } = { documentIds: [], bytes: 0 };
    for (const candidate of kv.ingestsByLastUse()) {
      if (budget - disk.usedBytes() >= needed) break;
      if (candidate.id === ingestId) continue;
      const documentIds = kv.documentIdsOfIngest(candidate.id);
      const bytes = disk.documentBytes(candidate.id);
      await this.discardIngest(candidate.id);
      dropped.documentIds.push(...documentIds);
      dropped.bytes += bytes;
    }
    if (dropped.documentIds.length > 0) options.onKvEvicted?.({ documentIds: [...new Set(dropped.documentIds)], bytes: dropped.bytes });
    const free = budget - disk.usedBytes();
    if (free < needed) {
      throw new StrataError(
        'DISK_BUDGET_EXCEEDED',
        `Reading these documents needs about ${gib(needed)} more of disk for their KV cache, but only ${gib(Math.max(0, free))} of the ${gib(budget)} disk budget is free after dropping every other document's cache (conversation turns use the rest). Raise the disk budget in the engine settings.`,
      );
    }
  }

  /** Forgets a document's stored KV (catalog rows, disk segments, CPU and GPU copies) so it is read again. */
  async discardIngest(ingestId: string): Promise<void> {
    const { kv, disk, cpu } = this.parts;
    for (const [fingerprint, prefix] of this.prefixes) {
      if (prefix.ingestId !== ingestId) continue;
      for (const chunk of prefix.chunks) cpu.delete(chunkKey(ingestId, chunk.index));
      this.prefixes.delete(fingerprint);
    }
    for (const [setKey, prefix] of this.prefixBySet) if (prefix.ingestId === ingestId) this.prefixBySet.delete(setKey);
    for (const key of this.tiers.residentKeys()) if (key.startsWith(`${ingestId}#`)) await this.tiers.evict(key);
    await forgetStoredIngest(kv, disk, ingestId);
  }

  /** A splice source for a document chunk: the CPU tier first, else the disk tier (checksum verified). */
  documentSource(prefix: DocumentPrefix, chunk: KvChunk): SpliceSource {
    const { cpu, disk } = this.parts;
    return tieredSource({ key: chunkKey(prefix.ingestId, chunk.index), posStart: chunk.posStart, posEnd: chunk.posEnd }, cpu, disk, prefix.ingestId, chunk.ref);
  }


  /** What changes a prefix's blobs or abstracts; a new value means a new ingest. */
  private fingerprint(tokens: readonly number[]): string {
    const { settings, scoringLayers } = this.parts;
    const hash = createHash('sha256');
    // The llama.cpp build and the blob format: blobs are llama.cpp's own state layout, so after an upgrade
    // they are read again instead of failing to parse.
    hash.update(
      JSON.stringify({
        model: this.parts.modelId,
        llamaCpp: this.parts.llamaCppRelease,
        blobFormat: BLOB_FORMAT_VERSION,
        flashAttention: this.parts.flashAttention,
        typeK: settings.kvCacheType,
        typeV: settings.kvCacheType,
        scoringLayers,
        chunkMin: settings.chunkMinTokens,
        chunkMax: settings.chunkMaxTokens,
      }),
    );
    hash.update(new Uint8Array(Int32Array.from(tokens).buffer));
    return hash.digest('hex');
  }

  private sample(): void {
    const { cpu, disk, onSample } = this.parts;
    if (!onSample) return;
    const stats = cpu.stats();
    onSample({ gpuResidentTokens: this.tiers.residentTokens, gpuBudgetTokens: this.tiers.budgetTokens, cpuBytes: stats.bytes, cpuBudgetBytes: stats.budgetBytes, diskBytes: disk.usedBytes() });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.idle();
    await this.parts.context.dispose();
    await this.parts.native.dispose();
    await this.parts.vocab.dispose();
    await this.parts.tokenizer.dispose();
    this.parts.onDispose();
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('TieredModel');
  }
}

/**
 * Maps each chunk (char offsets in the prefix's detokenized text) to the document its text starts in.
 * The prefix text is the documents in order with the prompt's own text around them, so each document
 * is found by its opening characters after the previous one.
 */
/** Where each document's text starts in the prefix text (a document the template left out has none). */
function findDocumentStarts(prefixText: string, documents: readonly EngineDocument[]): PrefixRender['documentStarts'] {
  const starts: PrefixRender['documentStarts'] = [];
  let from = 0;
  for (const doc of documents) {
    const probe = doc.text.slice(0, 64);
    const at = probe === '' ? -1 : prefixText.indexOf(probe, from);
    if (at < 0) continue;
    starts.push({ id: doc.id, start: at, length: doc.text.length });
    from = at + doc.text.length;
  }
  return starts;
}

function placeChunks(starts: PrefixRender['documentStarts'], chunks: readonly KvChunk[]): DocumentPrefix['places'] {
  return chunks.map((chunk) => {
    const home = [...starts].reverse().find((s) => chunk.charStart >= s.start - 1 && chunk.charStart < s.start + s.length);
    if (!home) return { documentId: null, charStart: 0, charEnd: 0 };
    const clamp = (v: number) => Math.max(0, Math.min(home.length, v - home.start));
    return { documentId: home.id, charStart: clamp(chunk.charStart), charEnd: clamp(chunk.charEnd) };
  });
}

/** "40 s", "12 min", "6.8 hours". */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} hours`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** A Map that forgets its least recently used entries past `limit`. */
class BoundedMap<K, V> extends Map<K, V> {
  private readonly limit: number;
  constructor(limit: number) {
    super();
    this.limit = limit;
  }
  override get(key: K): V | undefined {
    const value = super.get(key);
    if (value !== undefined) {
      super.delete(key);
      super.set(key, value);
    }
    return value;
  }
  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.limit) super.delete(this.keys().next().value as K);
    return this;
  }
}

/** promptLayout's renderer, run in the tokenizer worker: a 25 MB library never blocks the main thread. */
export interface AsyncPromptRenderer {
  render(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, instructions: string | null): Promise<number[]>;
  prefix(documents: readonly EngineDocument[]): Promise<number[]>;
  prefixWithTurns(documents: readonly EngineDocument[], turns: readonly EngineTurn[], instructions: string | null): Promise<number[]>;
}

function workerRenderer(tokenizer: TokenizerWorker, hasChatTemplate: boolean): AsyncPromptRenderer {
  return {
    render: (documents, turns, question, instructions) => tokenizer.renderPrompt(documents, turns, question, hasChatTemplate, instructions),
    prefix: (documents) => tokenizer.renderPrefix(documents, hasChatTemplate),
    prefixWithTurns: (documents, turns, instructions) => tokenizer.renderPrefixWithTurns(documents, turns, hasChatTemplate, instructions),
  };
}

/**
 * Names a document set and its texts: from the catalog's SHA-256s when every document has one (an ask
 * then hashes no text), else by hashing the texts.
 */
function documentSetKey(documents: readonly EngineDocument[]): string {
  const hash = createHash('sha256').update(JSON.stringify(documents.map((doc) => [doc.id, doc.text.length, doc.sha256 ?? null])));
  if (documents.some((doc) => doc.sha256 === undefined)) for (const doc of documents) hash.update(doc.text).update('\0');
  return hash.digest('hex');
}
