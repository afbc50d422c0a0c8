// One model opened by the tiered engine: the native model and its one GPU-tier context (sized to the
// GPU budget), a vocab-only node-llama-cpp model for tokens and chat templates, the CPU and disk tiers,
// and the document prefixes already read into them. Asks run one at a time: they share the GPU tier.
import { SerialQueue } from '../SerialQueue.ts';
import { createHash } from 'node:crypto';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { withBeginningToken } from '../bosToken.ts';
import { composePrefix, type ComposedChunk, type LibraryDocument } from './library/composePrefix.ts';
import { evaluateGlue } from './library/evaluateGlue.ts';
import type { IngestBreakdown, MemorySnapshot } from '../engineTypes.ts';
import type { ResolvedSettings } from '../settings/engineSettings.ts';
import type { KvCatalog, KvChunk, KvIngestKind, PrefixRender } from '../../catalog/KvCatalog.ts';
import type { AskOptions, DocumentKvState, EngineConversation, EngineDocument, EngineModel, LoadedModelInfo } from '../Engine.ts';
import { DisposedError, RequestError, StrataError } from '../errors.ts';
import { commonPrefix } from '../commonPrefixLength.ts';
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
/** Library documents whose chunk rows stay in memory (rows and abstracts, ~8 MB for a 128K-token document of the 8B shape; blobs are in the CPU tier). */
const MAX_CACHED_LIBRARY_DOCUMENTS = 16;
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
  /** The library mode: per chunk, glue evaluated for this set or a library chunk placed in it. */
  composed?: ComposedChunk[];
  /** Of a composed prefix's tokens, the last ones are the template's text after the last document (what every question's tail starts with). */
  trailingTokens?: number;
  recomputedTokens?: number;
}

/** A document's tokens as the library reads it: the context before its own (the BOS), and their fingerprint. */
interface LibraryTokens {
  tokens: number[];
  contextTokens: number;
  fingerprint: string;
}

export interface PrefixOutcome {
  prefix: DocumentPrefix | null;
  /** Document tokens evaluated (reading documents; 0 when all were read before). */
  evaluatedTokens: number;
  ingest: IngestBreakdown | null;
  /** Tokens evaluated to compose a library prefix (template text and recomputed document tokens). */
  composedTokens: number;
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

  /** Why the library is off for this model (its template or cache), once an ask found out; null: not refused. */
  private libraryRefused: string | null = null;
  private libraryNoticeGiven = false;

  /** How this model reuses documents' KV now: the setting, unless the model cannot compose prompts. */
  get kvReuse(): 'library' | 'exact' {
    return this.parts.settings.kvReuse === 'library' && this.compactPositions && this.libraryRefused === null ? 'library' : 'exact';
  }

  /**
   * The document prefix in the tiers: read now (block-wise, resumable) unless an earlier ingest, in
   * this run or a previous one, already stored it. In the library mode each document is read alone
   * once and the prefix composed from them (only the text between them is evaluated). Returns how
   * many document tokens this call evaluated, and how many tokens it evaluated to compose.
   */
  async documentPrefix(documents: readonly EngineDocument[], options: AskOptions): Promise<PrefixOutcome> {
    if (documents.length === 0) return { prefix: null, evaluatedTokens: 0, ingest: null, composedTokens: 0 };
    if (this.parts.settings.kvReuse === 'library') {
      if (this.kvReuse === 'library') {
        try {
          return await this.libraryPrefix(documents, options);
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'LIBRARY_UNSUPPORTED') throw error;
          this.libraryRefused = (error as Error).message;
        }
      }
      if (!this.libraryNoticeGiven) {
        this.libraryNoticeGiven = true;
        options.onNotice?.(this.libraryRefused ?? `${this.info.name}'s KV cache cannot move positions, so documents cannot be reused across sets: each set of documents is read whole (the exact mode).`);
      }
    }
    return this.setPrefix(documents, options);
  }

  /** The exact mode: the ordered set's whole prefix, read as the standard engine reads it. */
  private async setPrefix(documents: readonly EngineDocument[], options: AskOptions): Promise<PrefixOutcome> {
    // Rendering a long prefix tokenizes the documents twice: remember it per document set and texts.
    const setKey = documentSetKey(documents);
    const known = this.prefixBySet.get(setKey);
    if (known) {
      this.parts.kv.touchIngest(known.ingestId);
      return { prefix: known, evaluatedTokens: 0, ingest: null, composedTokens: 0 };
    }
    // A set read before (in this process or an earlier one) keeps its prefix tokens in the catalog.
    const stored = this.parts.kv.findPrefixRender(setKey, this.parts.modelId);
    const tokens = stored?.tokens ?? (await this.renderer.prefix(documents));
    const fingerprint = this.fingerprint(tokens, 'set');
    const cached = this.prefixes.get(fingerprint);
    if (cached) {
      this.parts.kv.touchIngest(cached.ingestId);
      this.prefixBySet.set(setKey, cached);
      return { prefix: cached, evaluatedTokens: 0, ingest: null, composedTokens: 0 };
    }
    const read = await this.readIngest({ documents, tokens, fingerprint, kind: 'set', keep: new Set(), options });
    const documentStarts = stored?.documentStarts ?? findDocumentStarts((await read.pieces()).join(''), documents);
    if (!stored) this.parts.kv.savePrefixRender(setKey, this.parts.modelId, documents[0].id, { tokens, documentStarts, standInsOk: null });
    const prefix: DocumentPrefix = {
      ingestId: read.ingest.id,
      tokens,
      chunks: read.chunks,
      places: placeChunks(documentStarts, read.chunks),
      packedAbstracts: packAbstracts(read.chunks.map((c) => c.abstract)),
    };
    this.prefixes.set(fingerprint, prefix);
    this.prefixBySet.set(setKey, prefix);
    return { prefix, evaluatedTokens: read.evaluatedTokens, ingest: read.evaluatedTokens > 0 ? read.breakdown : null, composedTokens: 0 };
  }

  /** Reads `tokens` (whose fingerprint the caller made) into the tiers as one ingest owned by `documents` (resumed, or found complete). */
  private async readIngest(args: { documents: readonly EngineDocument[]; tokens: number[]; fingerprint: string; kind: KvIngestKind; keep: ReadonlySet<string>; options: AskOptions; progress?: (done: number, total: number) => void }) {
    const { kv, disk, cpu, settings } = this.parts;
    const { documents, tokens, kind, options } = args;
    const key = { documentId: documents[0].id, modelId: this.parts.modelId, configFingerprint: args.fingerprint };
    const existing = kv.findIngest(key);
    if (existing?.state !== 'complete') this.checkDiskRoom(tokens.length, kind);
    const ingest = kv.startIngest({ ...key, documentIds: documents.map((doc) => doc.id), tokenCount: tokens.length, kind, layout: this.layout() });
    if (ingest.state !== 'complete') await this.makeDiskRoom(ingest.id, ingest.tokenCount - ingest.tokensDone, options, args.keep);
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
      onProgress: this.longReadWatch(tokens.length, ingest.tokensDone, options, args.progress),
    });
    return { ingest, chunks, evaluatedTokens, breakdown, pieces: prefixPieces };
  }

  /** Documents read alone into the library, by ingest fingerprint: their chunks without a catalog read. */
  private readonly libraryDocuments = new BoundedMap<string, { ingestId: string; chunks: KvChunk[] }>(MAX_CACHED_LIBRARY_DOCUMENTS);

  /**
   * A document's library tokens ([BOS] + its own, remembered per document and model in the catalog)
   * and their ingest fingerprint: made once per document and ask.
   */
  private async libraryTokens(doc: EngineDocument): Promise<LibraryTokens> {
    const key = `doc:${documentSetKey([doc])}`;
    const contextTokens = withBeginningToken(this.parts.vocab, []).length;
    let tokens = this.parts.kv.findPrefixRender(key, this.parts.modelId)?.tokens;
    if (!tokens) {
      tokens = withBeginningToken(this.parts.vocab, (await this.parts.tokenizer.tokenize(doc.text)) as Token[]);
      this.parts.kv.savePrefixRender(key, this.parts.modelId, doc.id, { tokens, documentStarts: [{ id: doc.id, start: 0, length: doc.text.length }], standInsOk: null });
    }
    return { tokens, contextTokens, fingerprint: this.fingerprint(tokens, 'document') };
  }

  /**
   * Reads one document alone into the library (its [BOS] + tokens at positions 0…), unless it is
   * there already for this model and layout. `keep`: ingests the disk budget must not drop for it
   * (the other documents of the set being composed).
   */
  private async libraryDocument(doc: EngineDocument, { tokens, contextTokens, fingerprint }: LibraryTokens, keep: ReadonlySet<string>, options: AskOptions, progress?: (done: number, total: number) => void) {
    const own = tokens.slice(contextTokens);
    if (own.length === 0) return { own, contextTokens, ingestId: '', chunks: [] as KvChunk[], evaluatedTokens: 0, breakdown: null };
    const known = this.libraryDocuments.get(fingerprint);
    if (known) {
      this.parts.kv.touchIngest(known.ingestId);
      return { own, contextTokens, ...known, evaluatedTokens: 0, breakdown: null };
    }
    const read = await this.readIngest({ documents: [doc], tokens, fingerprint, kind: 'document', keep, options, progress });
    this.libraryDocuments.set(fingerprint, { ingestId: read.ingest.id, chunks: read.chunks });
    return { own, contextTokens, ingestId: read.ingest.id, chunks: read.chunks, evaluatedTokens: read.evaluatedTokens, breakdown: read.evaluatedTokens > 0 ? read.breakdown : null };
  }

  /** Each document's stored KV for this model and layout (EngineModel.documentKv). */
  documentKv(): DocumentKvState[] {
    const kind: KvIngestKind = this.kvReuse === 'library' ? 'document' : 'set';
    return this.parts.kv.documentKv(this.parts.modelId, this.layout(), kind).map(({ ingestId, ...row }) => ({ ...row, tier: this.ingestTier(ingestId) }));
  }

  /** The fastest tier holding any chunk of an ingest (GPU residency by key prefix, the CPU tier by its chunk keys when known). */
  private ingestTier(ingestId: string): 'gpu' | 'cpu' | 'disk' {
    if (this.tiers.residentKeys().some((key) => key.startsWith(`${ingestId}#`))) return 'gpu';
    const chunks = [...this.libraryDocuments.values()].find((d) => d.ingestId === ingestId)?.chunks ?? [...this.prefixes.values()].find((p) => p.ingestId === ingestId)?.chunks ?? [];
    return chunks.some((c) => this.parts.cpu.has(chunkKey(ingestId, c.index))) ? 'cpu' : 'disk';
  }

  /** Reads a document into the library ahead of any question (the Documents tab's Prepare); returns the tokens evaluated. */
  prepareDocument(doc: EngineDocument, options: AskOptions): Promise<number> {
    return this.run(async () => {
      if (this.kvReuse === 'library') return (await this.libraryDocument(doc, await this.libraryTokens(doc), new Set(), options)).evaluatedTokens;
      return (await this.setPrefix([doc], options)).evaluatedTokens;
    });
  }

  /**
   * The library mode's prefix: each document from the library (read alone now if it never was), placed
   * after the template text before it; that text and each document's first tokens are evaluated in
   * place (library/composePrefix.ts). Composed prefixes are kept in memory for the last few sets.
   */
  private async libraryPrefix(documents: readonly EngineDocument[], options: AskOptions): Promise<PrefixOutcome> {
    const { settings, tokenizer } = this.parts;
    const compositionKey = `lib:${documentSetKey(documents)}:${settings.recomputePercent}`;
    const known = this.prefixBySet.get(compositionKey);
    if (known) {
      for (const id of new Set(known.composed?.flatMap((c) => (c.kind === 'document' ? [c.ingestId] : [])))) this.parts.kv.touchIngest(id);
      return { prefix: known, evaluatedTokens: 0, ingest: null, composedTokens: 0 };
    }
    const n = documents.length;
    const chat = this.info.hasChatTemplate;
    const [pieces, check] = await Promise.all([tokenizer.renderPieces(n, [], 'A', chat, null), tokenizer.renderPieces(n, [], 'Z', chat, 'Z')]);
    if (!pieces.slice(0, n).every((piece, i) => sameTokens(piece, check[i]))) {
      throw new StrataError('LIBRARY_UNSUPPORTED', `${this.info.name}'s chat template changes the text between documents with the question or the instructions, so documents cannot be reused across sets: each set is read whole (the exact mode).`);
    }
    // Progress over the documents still to read, as one read.
    const own: LibraryTokens[] = [];
    for (const doc of documents) own.push(await this.libraryTokens(doc));
    let offset = 0;
    const total = own.reduce((sum, t) => sum + t.tokens.length, 0);
    // Documents of this set already in the library are never dropped to make room for the others.
    const keep = new Set<string>();
    for (const [i, doc] of documents.entries()) {
      const id = this.parts.kv.findIngest({ documentId: doc.id, modelId: this.parts.modelId, configFingerprint: own[i].fingerprint })?.id;
      if (id) keep.add(id);
    }
    const library: LibraryDocument[] = [];
    let evaluatedTokens = 0;
    const breakdowns: IngestBreakdown[] = [];
    for (const [i, doc] of documents.entries()) {
      const read = await this.libraryDocument(doc, own[i], keep, options, (done) => options.onIngestProgress?.(offset + done, total));
      offset += own[i].tokens.length;
      if (read.ingestId !== '') keep.add(read.ingestId);
      evaluatedTokens += read.evaluatedTokens;
      if (read.breakdown) breakdowns.push(read.breakdown);
      library.push({ documentId: doc.id, ingestId: read.ingestId, contextTokens: read.contextTokens, tokens: read.own, chunks: read.chunks, textLength: doc.text.length });
    }
    // The text after the last document that every question and instruction shares belongs to the prefix.
    const trailing = commonPrefix(pieces[n], check[n]);
    const composition = composePrefix(compositionKey, [...pieces.slice(0, n), trailing], library, settings.recomputePercent, settings.chunkMaxTokens, settings.chunkMaxTokens);
    await evaluateGlue(this.tiers, composition.chunks, (chunk) => this.composedSource(chunk), this.parts.scoringLayers);
    const chunks: KvChunk[] = composition.chunks.map((c, index) => {
      const abstract = c.kind === 'document' ? c.chunk.abstract : c.abstract!;
      const ref = c.kind === 'document' ? c.chunk.ref : { segment: -1, offset: 0, length: c.blob!.byteLength, crc32: 0 };
      return { index, tokenStart: c.posStart, tokenEnd: c.posEnd, posStart: c.posStart, posEnd: c.posEnd, charStart: c.place.charStart, charEnd: c.place.charEnd, ref, abstract };
    });
    const prefix: DocumentPrefix = {
      // Names the library ingests it is made of: turns stored after it go when any of them goes (forgetStoredIngest).
      ingestId: composedPrefixKey(library.map((doc) => doc.ingestId), compositionKey),
      tokens: composition.tokens,
      chunks,
      places: composition.chunks.map((c) => c.place),
      packedAbstracts: packAbstracts(chunks.map((c) => c.abstract)),
      composed: composition.chunks,
      trailingTokens: trailing.length,
      recomputedTokens: composition.recomputedTokens,
    };
    this.prefixBySet.set(compositionKey, prefix);
    this.boundGlueMemory(compositionKey);
    return { prefix, evaluatedTokens, ingest: mergeBreakdowns(breakdowns), composedTokens: composition.glueTokens };
  }

  /**
   * Glue blobs live in memory beside the CPU tier: the composed sets kept are bounded by their glue's
   * bytes (an eighth of the CPU tier's budget, at least 1 MiB), least recently used dropped first; the
   * set just composed always stays. A dropped set is composed again (its glue evaluated) when asked.
   */
  private boundGlueMemory(keep: string): void {
    const cap = Math.max(2 ** 20, this.parts.settings.cpuTierBytes / 8);
    const glueBytes = (prefix: DocumentPrefix) => prefix.composed?.reduce((sum, c) => sum + (c.kind === 'glue' ? (c.blob?.byteLength ?? 0) : 0), 0) ?? 0;
    let total = 0;
    for (const prefix of this.prefixBySet.values()) total += glueBytes(prefix);
    for (const [key, prefix] of this.prefixBySet) {
      if (total <= cap) break;
      if (key === keep || !prefix.composed) continue;
      total -= glueBytes(prefix);
      this.prefixBySet.delete(key);
    }
  }

  /** A composed chunk's splice source: glue from memory, a library chunk from its tiers, moved into place. */
  private composedSource(chunk: ComposedChunk): SpliceSource {
    if (chunk.kind === 'glue') {
      return {
        key: chunk.key,
        posStart: chunk.posStart,
        posEnd: chunk.posEnd,
        load: async () => {
          if (!chunk.blob) throw new StrataError('INTERNAL', `glue chunk ${chunk.key} was not evaluated`);
          return { blob: chunk.blob, from: 'cpu' };
        },
      };
    }
    const { cpu, disk } = this.parts;
    const source = tieredSource({ key: chunk.key, cpuKey: chunkKey(chunk.ingestId, chunk.chunk.index), posStart: chunk.posStart, posEnd: chunk.posEnd }, cpu, disk, chunk.ingestId, chunk.chunk.ref);
    return { ...source, placement: { shift: chunk.shift, trim: chunk.trim } };
  }

  /**
   * The whole prompt of an ask; with the documents' stored prefix given, their text is not tokenized
   * again. A composed (library) prefix is followed by the template's text after the last document.
   */
  async renderPrompt(documents: readonly EngineDocument[], prefix: DocumentPrefix | null, turns: readonly EngineTurn[], question: string, instructions: string | null): Promise<number[]> {
    if (prefix?.composed) return composedPrompt(prefix, (await this.parts.tokenizer.renderPieces(documents.length, turns, question, this.info.hasChatTemplate, instructions)).at(-1)!);
    return this.tailRenderer.render(documentSetKey(documents), documents, prefix?.tokens ?? null, turns, question, instructions);
  }

  /** The prompt every next question shares (documents, instructions, turns), likewise. */
  async renderPrefixWithTurns(documents: readonly EngineDocument[], prefix: DocumentPrefix | null, turns: readonly EngineTurn[], instructions: string | null): Promise<number[]> {
    if (prefix?.composed) return composedPrompt(prefix, (await this.parts.tokenizer.renderPieces(documents.length, turns, null, this.info.hasChatTemplate, instructions)).at(-1)!);
    return this.tailRenderer.prefixWithTurns(documentSetKey(documents), documents, prefix?.tokens ?? null, turns, instructions);
  }

  /** Prefill speed of the last read on this model (tokens/s), to tell the next long read how long it takes. */
  private readTokensPerSecond: number | null = null;

  /**
   * A read longer than the model's trained context is said before it goes on: the numbers, and the
   * time it takes at the rate measured on this machine (the last read's, else the first third of a second of this
   * one). Returns the progress callback that measures the rate and passes progress on.
   */
  private longReadWatch(tokenCount: number, tokensDone: number, options: AskOptions, progress = options.onIngestProgress): (done: number, total: number) => void {
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
      progress?.(done, total);
    };
  }

  /** The chunk indices the last question on each ingest chose; read from the catalog once per process. */
  private readonly lastSelections = new Map<string, number[]>();

  private storedSelection(ingestId: string): number[] {
    let indices = this.lastSelections.get(ingestId);
    if (indices === undefined) {
      indices = this.parts.kv.lastSelection(ingestId);
      this.lastSelections.set(ingestId, indices);
    }
    return indices;
  }

  /**
   * The prefix's chunks the last question chose. A composed prefix keeps it per library document (the
   * parts of that document the last question on it chose, in whatever set), so a new process and a
   * new combination have it too.
   */
  lastSelection(prefix: DocumentPrefix): number[] {
    if (!prefix.composed) return this.storedSelection(prefix.ingestId);
    const chosen = new Map<string, Set<number>>();
    const picks: number[] = [];
    prefix.composed.forEach((c, i) => {
      if (c.kind !== 'document') return;
      let set = chosen.get(c.ingestId);
      if (!set) chosen.set(c.ingestId, (set = new Set(this.storedSelection(c.ingestId))));
      if (set.has(c.chunk.index)) picks.push(i);
    });
    return picks;
  }

  rememberSelection(prefix: DocumentPrefix, chunkIndices: readonly number[]): void {
    if (!prefix.composed) return this.storeSelection(prefix.ingestId, chunkIndices);
    const byIngest = new Map<string, number[]>();
    for (const i of chunkIndices) {
      const c = prefix.composed[i];
      if (c?.kind === 'document') byIngest.set(c.ingestId, [...(byIngest.get(c.ingestId) ?? []), c.chunk.index]);
    }
    for (const [ingestId, indices] of byIngest) this.storeSelection(ingestId, indices);
  }

  private storeSelection(ingestId: string, chunkIndices: readonly number[]): void {
    const sorted = [...chunkIndices].sort((a, b) => a - b);
    const before = this.lastSelections.get(ingestId);
    if (before && before.length === sorted.length && before.every((v, i) => v === sorted[i])) return;
    this.lastSelections.set(ingestId, sorted);
    this.parts.kv.setLastSelection(ingestId, sorted);
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
    const composed = prefix.composed?.[chunk.index];
    if (composed) {
      if (this.tiers.isResident(composed.key)) return 'gpu';
      if (composed.kind === 'glue') return 'cpu';
      return this.parts.cpu.has(chunkKey(composed.ingestId, composed.chunk.index)) ? 'cpu' : 'disk';
    }
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
  private checkDiskRoom(tokenCount: number, kind: KvIngestKind): void {
    const budget = this.parts.disk.budgetBytes;
    if (budget === null) return;
    const needed = this.blobBytesFor(tokenCount);
    if (needed > budget) {
      throw new StrataError(
        'DISK_BUDGET_EXCEEDED',
        kind === 'document'
          ? `This document needs about ${gib(needed)} of disk for its KV cache (${tokenCount} tokens), more than the whole disk budget of ${gib(budget)}. Raise the disk budget in the engine settings, or split the document.`
          : `These documents need about ${gib(needed)} of disk for their KV cache (${tokenCount} tokens), more than the whole disk budget of ${gib(budget)}. Raise the disk budget in the engine settings, or use fewer or shorter documents in this conversation.`,
      );
    }
  }

  /**
   * The disk budget is a cache: when the rest of this read (`tokensLeft` tokens; what is already
   * stored is not charged again) does not fit, whole least-recently-used document KVs are dropped
   * (they are read again when a question needs them) until it does.
   */
  private async makeDiskRoom(ingestId: string, tokensLeft: number, options: AskOptions, keep: ReadonlySet<string>): Promise<void> {
    const { disk, kv } = this.parts;
    const budget = disk.budgetBytes;
    if (budget === null || tokensLeft <= 0) return;
    const needed = this.blobBytesFor(tokensLeft);
    const dropped: { documentIds: string[]; bytes: number } = { documentIds: [], bytes: 0 };
    for (const candidate of kv.ingestsByLastUse()) {
      if (budget - disk.usedBytes() >= needed) break;
      if (candidate.id === ingestId || keep.has(candidate.id)) continue;
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
        `Reading these documents needs about ${gib(needed)} more of disk for their KV cache, but only ${gib(Math.max(0, free))} of the ${gib(budget)} disk budget is free after dropping every other document's cache${keep.size > 0 ? ' not in this conversation' : ''} (conversation turns use the rest). Raise the disk budget in the engine settings${keep.size > 0 ? ', or use fewer documents at once' : ''}.`,
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
    const uses = (prefix: DocumentPrefix) => prefix.ingestId === ingestId || (prefix.composed?.some((c) => c.kind === 'document' && c.ingestId === ingestId) ?? false);
    for (const [setKey, prefix] of this.prefixBySet) if (uses(prefix)) this.prefixBySet.delete(setKey);
    for (const [fingerprint, known] of this.libraryDocuments) {
      if (known.ingestId !== ingestId) continue;
      for (const chunk of known.chunks) cpu.delete(chunkKey(ingestId, chunk.index));
      this.libraryDocuments.delete(fingerprint);
    }
    for (const key of this.tiers.residentKeys()) if (key.startsWith(`${ingestId}#`)) await this.tiers.evict(key);
    await forgetStoredIngest(kv, disk, ingestId);
  }

  /** A splice source for a document chunk: the CPU tier first, else the disk tier (checksum verified). */
  documentSource(prefix: DocumentPrefix, chunk: KvChunk): SpliceSource {
    const composed = prefix.composed?.[chunk.index];
    if (composed) return this.composedSource(composed);
    const { cpu, disk } = this.parts;
    return tieredSource({ key: chunkKey(prefix.ingestId, chunk.index), posStart: chunk.posStart, posEnd: chunk.posEnd }, cpu, disk, prefix.ingestId, chunk.ref);
  }


  /** What changes a prefix's blobs or abstracts; a new value means a new ingest. */
  private fingerprint(tokens: readonly number[], kind: KvIngestKind): string {
    const hash = createHash('sha256');
    hash.update(this.layout());
    if (kind === 'document') hash.update('document');
    hash.update(new Uint8Array(Int32Array.from(tokens).buffer));
    return hash.digest('hex');
  }

  /** The fingerprint's settings part: the Documents tab tells which documents are read for the model as configured now. */
  layout(): string {
    const { settings, scoringLayers } = this.parts;
    // The llama.cpp build and the blob format: blobs are llama.cpp's own state layout, so after an upgrade
    // they are read again instead of failing to parse.
    return createHash('sha256').update(
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
    ).digest('hex');
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

/** A composed prefix's key (its turns' prefix_key): `lib:` + its library ingests + the composition. */
export function composedPrefixKey(ingestIds: readonly string[], compositionKey: string): string {
  return `lib:${ingestIds.filter((id) => id !== '').join(',')}|${createHash('sha256').update(compositionKey).digest('hex').slice(0, 16)}`;
}

/** A composed prefix followed by the template's text after the last document (which starts with the prefix's trailing tokens). */
function composedPrompt(prefix: DocumentPrefix, tail: readonly number[]): number[] {
  const trailing = prefix.tokens.slice(prefix.tokens.length - (prefix.trailingTokens ?? 0));
  if (!sameTokens(tail.slice(0, trailing.length), trailing)) {
    throw new RequestError('PROMPT_LAYOUT', 'The prompt no longer starts with the text the documents were composed with; ask again.');
  }
  return [...prefix.tokens, ...tail.slice(trailing.length)];
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Several documents' reads as one (a library set read in one ask). */
function mergeBreakdowns(parts: readonly IngestBreakdown[]): IngestBreakdown | null {
  if (parts.length === 0) return null;
  const sum = { ...parts[0] } as Record<string, unknown>;
  for (const part of parts.slice(1)) {
    for (const [key, value] of Object.entries(part)) if (typeof value === 'number' && typeof sum[key] === 'number') sum[key] = (sum[key] as number) + value;
  }
  return sum as unknown as IngestBreakdown;
}
