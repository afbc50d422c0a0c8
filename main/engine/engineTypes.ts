// The types the engine speaks in: settings, metrics, memory and residency snapshots, errors as they
// cross a boundary. The engine (main/engine/) and the catalog import them from here; the contract
// (preload/api.ts) re-exports them for the hosts and the renderer, so there is one definition and the
// engine does not depend on the IPC contract.
import type { ErrorCode } from './errorCodes.ts';

export type EngineKind = 'standard' | 'tiered';

export type TierName = 'gpu' | 'cpu' | 'disk';

/** The memory dashboard's numbers: pushed when the tiers change (at most every 100 ms) and every 200 ms while an answer runs. */
export interface MemorySnapshot {
  /** Milliseconds since the epoch, when it was taken. */
  at: number;
  engine: EngineKind | null;
  /** Bytes of KV resident in each tier and each tier's budget (null: no budget, e.g. the standard engine's GPU tier is its whole context). */
  tiers: Record<TierName, { bytes: number; budgetBytes: number | null }>;
  gpuResidentTokens: number;
  gpuBudgetTokens: number;
  /** Device memory as llama.cpp sees it; null on a CPU-only machine. */
  vram: { totalBytes: number; usedBytes: number } | null;
  /** Since the model was opened: chunks found already resident (gpu), spliced from RAM (cpu), read from disk (disk). */
  hits: Record<TierName, number>;
  /** Bytes spliced into the GPU tier from each lower tier, since the model was opened. */
  loadedBytes: { cpu: number; disk: number };
}

/** One chunk of the active conversation's KV cache, for the residency map. */
export interface ChunkResidency {
  index: number;
  /** The document the chunk's text belongs to; null for a conversation turn or the prompt's own text. */
  documentId: string | null;
  /** Character range [charStart, charEnd) in that document's text. */
  charStart: number;
  charEnd: number;
  tokenCount: number;
  tier: TierName;
  /** Spliced into the GPU tier for the current (or last) answer: what the model read. */
  read: boolean;
}

/**
 * Where a document read's wall time went: llama.cpp's decode, and everything else on the critical path
 * (working-set choice, splices, blob capture, abstracts, waiting for the disk). Disk writes run behind
 * the next block's decode; `diskWriteMs` is their own time, mostly hidden.
 */
export interface IngestBreakdown {
  tokens: number;
  blocks: number;
  totalMs: number;
  decodeMs: number;
  selectMs: number;
  spliceMs: number;
  captureMs: number;
  abstractMs: number;
  diskWaitMs: number;
  diskWriteMs: number;
}

/** What the tiered engine adds to an answer's metrics. Bytes moved are blob bytes spliced into the GPU tier. */
export interface TieredAskMetrics {
  /** 'library': the prefix was composed from documents read alone; 'exact': the set was read whole. */
  kvReuse: 'library' | 'exact';
  /** Tokens this ask evaluated to compose a library prefix: the text between documents and the recomputed tokens (0 when the set was composed before). */
  composedTokensEvaluated: number;
  /** Of the composed prefix, document tokens evaluated in place rather than reused (each document's first tokens). */
  recomputedTokens: number;
  probeMs: number;
  selectMs: number;
  spliceMs: number;
  /** Blob loads (CPU tier, disk reads on the thread pool) that ran while earlier chunks were spliced. */
  loadHiddenMs: number;
  /** Chunks whose read from the CPU or disk tier started while the question was probed (the last question's picks, a guess). */
  prefetchedChunks: number;
  bytesFromCpu: number;
  bytesFromDisk: number;
  chunksTotal: number;
  chunksSelected: number;
  /** Chunk indices spliced in for this answer (the document view marks what the model read). */
  selectedChunkIndices: number[];
  reselections: number;
  gpuBudgetTokens: number;
  kvCacheType: KvCacheType;
  /** Measured: bytes of the documents' stored blobs per token (KV, cell headers, blob header). */
  blobBytesPerToken: number;
  /** How many tokens of KV one GiB of the GPU tier holds at this model's shape and KV type. */
  gpuTierTokensPerGiB: number;
  peakGpuResidentTokens: number;
  residentBytes: { gpu: number; cpu: number; disk: number };
  /** Document tokens evaluated for this answer: 0 when the whole document came from the tiers. */
  documentTokensEvaluated: number;
  /** Time spent reading documents into the tiers before this answer (0 when they were already there). */
  ingestMs: number;
  /** How that read's time splits (null when nothing was read). */
  ingest: IngestBreakdown | null;
  /**
   * Past the model's trained context the chosen chunks were moved to compact positions (InfLLM-style;
   * llama.cpp rotates their keys): the farthest any query attended is then within a GPU budget.
   */
  compactPositions: boolean;
}

export interface AskMetrics {
  engine: EngineKind;
  tiered?: TieredAskMetrics;
  promptTokens: number;
  /** Prompt tokens evaluated for this ask (the rest were reused from the context). */
  evaluatedPromptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  timeToFirstTokenMs: number;
  decodeTokensPerSecond: number;
  totalMs: number;
  contextTokens: number;
  /** The highest KV position any cell of this answer held (tiered: the probe's, the chunks', the answer's). */
  maxPositionUsed: number;
  /** The longest distance a query attended over (highest minus lowest position in use): compare with the model's trained context. */
  maxAttentionDistance: number;
}

/** How errors cross a process boundary: Electron's ipcMain.handle keeps only `message`. */
export interface ErrorPayload {
  /** One of ERROR_CODES (main/engine/errorCodes.ts; the table in docs/ARCHITECTURE.md). */
  code: ErrorCode;
  message: string;
}

/** f16: 2 bytes per value; q8_0: 34 bytes per 32 values; q4_0: 18 bytes per 32 values. */
export type KvCacheType = 'f16' | 'q8_0' | 'q4_0';

export type KvReuse = 'library' | 'exact';

export interface EngineSettings {
  /** The engine new answers use; the tiered one falls back to standard for models it cannot splice. */
  engine: EngineKind;
  /** KV cells the GPU tier may hold; null derives it from free VRAM (or a CPU default). */
  gpuBudgetTokens: number | null;
  cpuTierBytes: number;
  diskBudgetBytes: number;
  /** Chunk size bounds in tokens; null follows the GPU budget (chunks of about 1/16 of it, 16 to 256). */
  chunkMinTokens: number | null;
  chunkMaxTokens: number | null;
  /** Layers whose keys are abstracted and whose queries score chunks; null picks them per model. */
  scoringLayers: number[] | null;
  /** The KV cache's element type, K and V alike, in every tier (a quantized V needs flash attention). */
  kvCacheType: KvCacheType;
  /** Re-select chunks every N generated tokens; 0 turns progressive selection off. */
  reselectEveryTokens: number;
  /**
   * How documents' KV is reused (tiered engine): 'library' reads each document once, alone, and
   * composes any set of them (the text between them evaluated fresh); 'exact' reads each ordered set
   * whole, bit-exact with the standard engine.
   */
  kvReuse: KvReuse;
  /** Library mode: the share (percent) of each document's tokens, from its start, evaluated again in each set (at most a chunk's worth). */
  recomputePercent: number;
  /** Longest answer in tokens; null: 1,024 with a chat template, 256 in raw completion. Applies without reopening the model. */
  answerMaxTokens: number | null;
  /** Sampling temperature; 0 is greedy (the same answer every time). Applies without reopening the model. */
  temperature: number;
  /**
   * The user's own instructions (a system prompt), placed after the documents in every prompt; null:
   * none. Applies without reopening the model, and changing it never reads the documents again.
   */
  systemPrompt: string | null;
}
