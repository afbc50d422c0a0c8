// One model opened by the tiered engine: the native model and its one GPU-tier context (sized to the
// GPU budget), a vocab-only node-llama-cpp model for tokens and chat templates, the CPU and disk tiers,
// and the document prefixes already read into them. Asks run one at a time: they share the GPU tier.
import { createHash } from 'node:crypto';
import type { LlamaModel } from 'node-llama-cpp';
import type { EngineSettings, MemorySnapshot } from '../../../preload/api.ts';
import type { KvCatalog, KvChunk } from '../../catalog/KvCatalog.ts';
import type { AskOptions, EngineConversation, EngineDocument, EngineModel, LoadedModelInfo } from '../Engine.ts';
import { DisposedError, StrataError } from '../errors.ts';
import { kvBytesPerToken } from './defaultBudgets.ts';
import { packAbstracts } from './abstracts/scoreChunks.ts';
import { chunkKey, ingestPrefix } from './ingestPrefix.ts';
import type { AddonModelInfo, NativeTierContext, NativeTierModel } from './native/NativeAddon.ts';
import { createPromptRenderer, type PromptRenderer } from './promptLayout.ts';
import { TieredConversation } from './TieredConversation.ts';
import { tokenPieces } from './tokenPieces.ts';
import { TierManager, type SpliceSource } from './TierManager.ts';
import type { CpuTier } from './tiers/CpuTier.ts';
import { tieredSource } from './tiers/tieredSource.ts';
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
  info: LoadedModelInfo;
  modelId: string;
  native: NativeTierModel;
  context: NativeTierContext;
  vocab: LlamaModel;
  cpu: CpuTier;
  disk: DiskTier;
  kv: KvCatalog;
  settings: EngineSettings;
  flashAttention: boolean;
  gpuBudgetTokens: number;
  scoringLayers: number[];
  selectionMode: SelectionMode;
  onSample?: (sample: TierSample) => void;
  /** Device memory as llama.cpp sees it; null on a CPU-only machine. */
  vram: () => Promise<{ totalBytes: number; usedBytes: number } | null>;
  onDispose: () => void;
}

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
  readonly parts: TieredModelParts;
  readonly tiers: TierManager;
  readonly renderer: PromptRenderer;
  private readonly prefixes = new Map<string, DocumentPrefix>();
  private readonly prefixBySet = new Map<string, DocumentPrefix>();
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(parts: TieredModelParts) {
    this.parts = parts;
    this.info = parts.info;
    this.renderer = createPromptRenderer(parts.vocab, parts.info.hasChatTemplate);
    this.tiers = new TierManager(parts.context, parts.gpuBudgetTokens, () => this.sample());
  }

  get nativeInfo(): AddonModelInfo {
    return this.parts.native.info;
  }

  countTokens(text: string): number {
    this.assertAlive();
    return this.parts.vocab.tokenize(text).length;
  }

  createConversation(): EngineConversation {
    this.assertAlive();
    return new TieredConversation(this);
  }

  /** Asks run one at a time: they share the GPU tier. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      this.assertAlive();
      return task();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * The document prefix in the tiers: read now (block-wise, resumable) unless an earlier ingest, in
   * this run or a previous one, already stored it. Returns how many tokens this call evaluated.
   */
  async documentPrefix(documents: readonly EngineDocument[], options: AskOptions): Promise<{ prefix: DocumentPrefix | null; evaluatedTokens: number }> {
    if (documents.length === 0) return { prefix: null, evaluatedTokens: 0 };
    // Rendering a long prefix tokenizes the documents twice: remember it per document set and texts.
    const setKey = createHash('sha256').update(JSON.stringify(documents.map((doc) => [doc.id, doc.text.length]))).update(documents.map((doc) => doc.text).join('\0')).digest('hex');
    const known = this.prefixBySet.get(setKey);
    if (known) return { prefix: known, evaluatedTokens: 0 };
    const tokens = this.renderer.prefix(documents);
    const fingerprint = this.fingerprint(tokens);
    const cached = this.prefixes.get(fingerprint);
    if (cached) {
      this.prefixBySet.set(setKey, cached);
      return { prefix: cached, evaluatedTokens: 0 };
    }
    const { kv, disk, cpu, settings, vocab } = this.parts;
    this.checkDiskRoom(tokens.length);
    const ingest = kv.startIngest({ documentId: documents[0].id, modelId: this.parts.modelId, configFingerprint: fingerprint, tokenCount: tokens.length });
    const pieces = tokenPieces(vocab, tokens);
    const { chunks, evaluatedTokens } = await ingestPrefix({
      tiers: this.tiers,
      tokens,
      pieces,
      ingest,
      kv,
      disk,
      cpu,
      chunkMinTokens: settings.chunkMinTokens,
      chunkMaxTokens: settings.chunkMaxTokens,
      scoringLayers: this.parts.scoringLayers,
      signal: options.signal,
      onProgress: options.onIngestProgress,
    });
    const prefix: DocumentPrefix = {
      ingestId: ingest.id,
      tokens,
      chunks,
      places: placeChunks(pieces.join(''), documents, chunks),
      packedAbstracts: packAbstracts(chunks.map((c) => c.abstract)),
    };
    this.prefixes.set(fingerprint, prefix);
    this.prefixBySet.set(setKey, prefix);
    return { prefix, evaluatedTokens };
  }

  /** Counters since the model was opened, for the memory dashboard. */
  readonly counters = { gpuHits: 0, cpuHits: 0, diskHits: 0, bytesFromCpu: 0, bytesFromDisk: 0 };

  async memory(): Promise<Omit<MemorySnapshot, 'at' | 'engine'>> {
    const { cpu, disk, native } = this.parts;
    const shape = native.info;
    const bytesPerToken = kvBytesPerToken({ layers: shape.layerCount, kvHeads: shape.kvHeadCount, headDimK: shape.headDimK, headDimV: shape.headDimV });
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

  /** Refuses, before anything is written, a document whose KV cache cannot fit the disk budget. */
  private checkDiskRoom(tokenCount: number): void {
    const { disk } = this.parts;
    const budget = disk.budgetBytes;
    if (budget === null) return;
    const shape = this.nativeInfo;
    const needed = tokenCount * kvBytesPerToken({ layers: shape.layerCount, kvHeads: shape.kvHeadCount, headDimK: shape.headDimK, headDimV: shape.headDimV });
    const free = budget - disk.usedBytes();
    if (needed > free) {
      const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
      throw new StrataError(
        'DISK_BUDGET_EXCEEDED',
        `These documents need about ${gib(needed)} of disk for their KV cache (${tokenCount} tokens), but the disk budget has ${gib(Math.max(0, free))} free of ${gib(budget)}. Raise the disk budget in the engine settings, remove documents, or use fewer documents in this conversation.`,
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
    await this.tiers.clear();
    kv.deleteIngest(ingestId);
    await disk.removeDocument(ingestId);
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
    hash.update(JSON.stringify({ model: this.parts.modelId, flashAttention: this.parts.flashAttention, typeK: 'f16', typeV: 'f16', scoringLayers, chunkMin: settings.chunkMinTokens, chunkMax: settings.chunkMaxTokens }));
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
    await this.queue;
    await this.parts.context.dispose();
    await this.parts.native.dispose();
    await this.parts.vocab.dispose();
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
function placeChunks(prefixText: string, documents: readonly EngineDocument[], chunks: readonly KvChunk[]): DocumentPrefix['places'] {
  const starts: { id: string; start: number; length: number }[] = [];
  let from = 0;
  for (const doc of documents) {
    const probe = doc.text.slice(0, 64);
    const at = probe === '' ? -1 : prefixText.indexOf(probe, from);
    if (at < 0) continue;
    starts.push({ id: doc.id, start: at, length: doc.text.length });
    from = at + doc.text.length;
  }
  return chunks.map((chunk) => {
    const home = [...starts].reverse().find((s) => chunk.charStart >= s.start - 1 && chunk.charStart < s.start + s.length);
    if (!home) return { documentId: null, charStart: 0, charEnd: 0 };
    const clamp = (v: number) => Math.max(0, Math.min(home.length, v - home.start));
    return { documentId: home.id, charStart: clamp(chunk.charStart), charEnd: clamp(chunk.charEnd) };
  });
}
