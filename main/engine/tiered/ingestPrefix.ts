// Block-wise prefill of a document prefix under the GPU budget. Block by block (a quarter of the budget):
// evaluate it on a working set of the sink, the older chunks most relevant to it and the recent window;
// cut it into its planned chunks, each a KV blob plus the abstract of its keys; keep the blobs in the
// CPU tier and hand them to the write-behind queue, which fsyncs them while the next block decodes and
// writes each chunk's catalog row only after its blob is durable. An ingest that stops half-way resumes
// from its last committed chunk. When the whole prefix fits the budget nothing is evicted and the
// prefill is exact.
import type { KvCatalog, KvChunk, KvIngest } from '../../catalog/KvCatalog.ts';
import { StrataError } from '../errors.ts';
import { computeAbstract, concatLayerAbstracts } from './abstracts/computeAbstract.ts';
import { chunkTokens, nextWordBoundary } from './chunking/chunkTokens.ts';
import type { AddonLayerCapture } from './native/NativeAddon.ts';
import { GrowingAbstracts } from './abstracts/GrowingAbstracts.ts';
import { scoreChunksFast } from './abstracts/scoreChunksNative.ts';
import { selectChunks } from './abstracts/selectChunks.ts';
import type { SpliceSource, TierManager } from './TierManager.ts';
import type { CpuTier } from './tiers/CpuTier.ts';
import { blobEnd, type DiskTier } from './tiers/DiskTier.ts';
import { tieredSource } from './tiers/tieredSource.ts';
import { WriteBehind, type PendingChunk } from './tiers/WriteBehind.ts';
import type { IngestBreakdown } from '../engineTypes.ts';

/** Attention sinks (StreamingLLM): the first tokens stay on the GPU for every question. */
export const SINK_TOKENS = 4;

export interface PlannedChunk {
  index: number;
  tokenStart: number;
  tokenEnd: number;
  charStart: number;
  charEnd: number;
}

export interface IngestPrefixInput {
  tiers: TierManager;
  tokens: readonly number[];
  /** The tokens' text pieces, asked for only when something is left to read (planning the chunks needs them). */
  pieces: () => Promise<readonly string[]>;
  ingest: KvIngest;
  kv: KvCatalog;
  disk: DiskTier;
  cpu: CpuTier;
  chunkMinTokens: number;
  chunkMaxTokens: number;
  scoringLayers: readonly number[];
  signal?: AbortSignal;
  onProgress?: (tokensDone: number, tokenCount: number) => void;
}

export function chunkKey(ingestId: string, index: number): string {
  return `${ingestId}#${index}`;
}

/** How far the sink may grow to end between words ("US|ENIX" would start the first chunk mid-word). */
const SINK_WORD_SLACK_TOKENS = 16;

/** The sink (to the first word boundary after SINK_TOKENS), then chunks at semantic boundaries; positions equal token indices in a prefix. */
export function planChunks(pieces: readonly string[], minTokens: number, maxTokens: number): PlannedChunk[] {
  const sinkEnd = nextWordBoundary(pieces, Math.min(SINK_TOKENS, pieces.length), SINK_WORD_SLACK_TOKENS);
  const sinkChars = pieces.slice(0, sinkEnd).join('').length;
  const plan: PlannedChunk[] = [{ index: 0, tokenStart: 0, tokenEnd: sinkEnd, charStart: 0, charEnd: sinkChars }];
  if (sinkEnd === pieces.length) return plan;
  for (const chunk of chunkTokens(pieces.slice(sinkEnd), { minTokens, maxTokens, startToken: sinkEnd })) {
    plan.push({ ...chunk, index: plan.length, charStart: chunk.charStart + sinkChars, charEnd: chunk.charEnd + sinkChars });
  }
  return plan;
}

/** Most bytes of blobs an ingest keeps waiting for the disk before its decode waits too. */
const MAX_UNWRITTEN_BYTES = 256 * 2 ** 20;

/**
 * Tokens evaluated per decode: a quarter of the GPU budget (the rest holds the working set), at most
 * 2,048, at least one chunk. Whole blocks keep llama.cpp's batches full; per-chunk decodes of 100-odd
 * tokens ran at half its prefill speed.
 */
export function ingestBlockTokens(budgetTokens: number, chunkMaxTokens: number): number {
  return Math.max(chunkMaxTokens, Math.min(2048, Math.floor(budgetTokens / 4)));
}

/** Consecutive planned chunks, grouped into blocks of at most `blockTokens` (one chunk at least). */
function planBlocks(plan: readonly PlannedChunk[], blockTokens: number): PlannedChunk[][] {
  const blocks: PlannedChunk[][] = [];
  let block: PlannedChunk[] = [];
  for (const chunk of plan) {
    if (block.length > 0 && chunk.tokenEnd - block[0].tokenStart > blockTokens) {
      blocks.push(block);
      block = [];
    }
    block.push(chunk);
  }
  if (block.length > 0) blocks.push(block);
  return blocks;
}

type Timings = Omit<IngestBreakdown, 'tokens' | 'blocks' | 'totalMs' | 'diskWaitMs' | 'diskWriteMs'>;

async function timed<T>(timings: Timings, phase: keyof Timings, work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[phase] += performance.now() - started;
  }
}

/**
 * Returns every chunk of the prefix, how many tokens this call evaluated (0 when it was complete) and
 * where the time went. Block by block: choose the working set, decode the block, cut it into its
 * planned chunks (blob + abstract each), hand the blobs to the write-behind queue and go on.
 */
export async function ingestPrefix(input: IngestPrefixInput): Promise<{ chunks: KvChunk[]; evaluatedTokens: number; breakdown: IngestBreakdown }> {
  const startedAt = performance.now();
  const { tiers, tokens, ingest, kv, disk, cpu } = input;
  const committed = kv.listChunks(ingest.id);
  const timings: Timings = { decodeMs: 0, selectMs: 0, spliceMs: 0, captureMs: 0, abstractMs: 0 };
  const breakdown = (blocks: number, evaluated: number, writer: WriteBehind | null): IngestBreakdown => ({
    ...timings,
    tokens: evaluated,
    blocks,
    totalMs: performance.now() - startedAt,
    diskWaitMs: writer?.waitMs ?? 0,
    diskWriteMs: writer?.writeMs ?? 0,
  });
  // Complete means every token is in a committed chunk (KvCatalog.completeIngest checks it).
  if (ingest.state === 'complete') return { chunks: committed, evaluatedTokens: 0, breakdown: breakdown(0, 0, null) };
  const plan = planChunks(await input.pieces(), input.chunkMinTokens, input.chunkMaxTokens);
  for (const [i, chunk] of committed.entries()) {
    if (chunk.tokenStart !== plan[i]?.tokenStart || chunk.tokenEnd !== plan[i]?.tokenEnd) {
      throw new StrataError('INGEST_MISMATCH', `The stored chunks of this document no longer match its text (chunk ${i}). Remove the document and add it again.`);
    }
  }
  // Bytes past the last committed blob were written by an ingest that stopped before its catalog row.
  const last = committed.at(-1);
  const end = last ? blobEnd(last.ref) : { segment: 0, offset: 0 };
  await disk.truncateTo(ingest.id, end.segment, end.offset);

  const writer = new WriteBehind({ disk, documentKey: ingest.id, maxQueuedBytes: MAX_UNWRITTEN_BYTES, commit: (done) => kv.addChunks(ingest.id, done) });
  const state: IngestState = { input, writer, chunks: committed.slice(), abstracts: new GrowingAbstracts(committed.map((c) => c.abstract)) };
  await restoreWindow(state, plan);
  let evaluatedTokens = 0;
  let lastQueries: LastQueries | null = null;
  const blocks = planBlocks(plan.slice(committed.length), ingestBlockTokens(tiers.budgetTokens, input.chunkMaxTokens));
  try {
    for (const block of blocks) {
      if (input.signal?.aborted) throw new StrataError('CANCELLED', 'Reading the document into the KV tiers was cancelled; it resumes where it stopped next time.');
      const blockStart = block[0].tokenStart;
      const blockEnd = block[block.length - 1].tokenEnd;
      const size = blockEnd - blockStart;
      await prepareWorkingSet(state, size, lastQueries, timings);
      if (tiers.nextPosition !== blockStart) {
        throw new StrataError('INGEST_ORDER', `Chunk ${block[0].index} must start at position ${tiers.nextPosition}, not ${blockStart}.`);
      }
      const result = await timed(timings, 'decodeMs', () => tiers.decode(tokens.slice(blockStart, blockEnd), 'none', { layers: input.scoringLayers, keys: true, queries: true }));
      lastQueries = tailQueries(result.captures, input.scoringLayers, size);
      evaluatedTokens += size;
      for (const planned of block) {
        const key = chunkKey(ingest.id, planned.index);
        const blob = await timed(timings, 'captureMs', () => tiers.captureLoose(key, planned.tokenStart, planned.tokenEnd));
        const abstract = await timed(timings, 'abstractMs', () => abstractOf(result.captures, input.scoringLayers, size, planned.tokenStart - blockStart, planned.tokenEnd - blockStart));
        const chunk: PendingChunk = { ...planned, posStart: planned.tokenStart, posEnd: planned.tokenEnd, ref: null, abstract };
        cpu.put(key, blob);
        state.chunks.push(chunk);
        state.abstracts.push(abstract);
        await writer.add(key, chunk, blob);
      }
      input.onProgress?.(blockEnd, tokens.length);
    }
    await writer.drain();
  } catch (error) {
    // What was already decoded still lands on disk and in the catalog: the next read resumes after it.
    await writer.drain().catch(() => {});
    throw error;
  }
  kv.completeIngest(ingest.id);
  return { chunks: state.chunks as KvChunk[], evaluatedTokens, breakdown: breakdown(blocks.length, evaluatedTokens, writer) };
}

interface IngestState {
  input: IngestPrefixInput;
  writer: WriteBehind;
  /** Every chunk so far; the newest ones may still wait for their blob to be durable (ref null). */
  chunks: PendingChunk[];
  abstracts: GrowingAbstracts;
}

/** The abstract of tokens [from, to) of a decode (default: all of it), one layer after another in scoring-layer order. */
export function abstractOf(captures: AddonLayerCapture[] | null, layers: readonly number[], nTokens: number, from = 0, to = nTokens): Float32Array {
  if (!captures) throw new StrataError('CAPTURE_MISSING', 'The native engine returned no keys for a chunk.');
  return concatLayerAbstracts(
    layers.map((layer) => {
      const capture = captures.find((c) => c.layer === layer);
      if (!capture?.keys) throw new StrataError('CAPTURE_MISSING', `No keys were captured at layer ${layer}.`);
      return computeAbstract({ keys: capture.keys, nTokens, nKvHeads: capture.kvHeadCount, headDim: capture.headDim }, from, to);
    }),
  );
}

/** The queries of a block's last tokens: what the next block is likely to look for. */
interface LastQueries {
  queries: Float32Array[];
  nTokens: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

const RELEVANCE_QUERY_TOKENS = 8;
/** Share of the GPU budget given to older chunks most relevant to the next block (LeoAM-style). */
const RELEVANT_SHARE = 0.25;

function tailQueries(captures: AddonLayerCapture[] | null, layers: readonly number[], nTokens: number): LastQueries | null {
  const parts = layers.map((layer) => captures?.find((c) => c.layer === layer));
  const first = parts[0];
  if (!first?.queries || parts.some((p) => !p?.queries)) return null;
  const take = Math.min(RELEVANCE_QUERY_TOKENS, nTokens);
  const width = first.headCount * first.headDim;
  return {
    queries: parts.map((p) => p!.queries!.slice((nTokens - take) * width, nTokens * width)),
    nTokens: take,
    nHeads: first.headCount,
    nKvHeads: first.kvHeadCount,
    headDim: first.headDim,
  };
}

/**
 * The working set for the next block: the sink, the older chunks most relevant to it (scored from
 * their abstracts with the previous block's last queries), and the most recent chunks that fit. When
 * everything read so far fits the budget nothing changes, so a document inside the budget is exact.
 * The work per block depends on the budget, not the document, except the scoring (one pass over the
 * older chunks' packed abstracts).
 */
async function prepareWorkingSet(state: IngestState, nextSize: number, lastQueries: LastQueries | null, timings: Timings): Promise<void> {
  const { tiers } = state.input;
  const { chunks } = state;
  if (chunks.length === 0) return;
  const total = chunks[chunks.length - 1].posEnd - chunks[0].posStart;
  if (tiers.residentTokens + nextSize <= tiers.budgetTokens && total === tiers.residentTokens) return;
  const room = tiers.budgetTokens - nextSize;
  const sizeOf = (c: PendingChunk) => c.posEnd - c.posStart;
  const chosen = new Set<PendingChunk>([chunks[0], chunks[chunks.length - 1]]);
  let used = sizeOf(chunks[0]) + (chunks.length > 1 ? sizeOf(chunks[chunks.length - 1]) : 0);
  if (used > room) {
    throw new StrataError('GPU_BUDGET_TOO_SMALL', `The GPU budget of ${tiers.budgetTokens} tokens cannot hold the sink, the previous chunk and the next ${nextSize} tokens. Raise the GPU budget or lower the chunk size.`);
  }
  const started = performance.now();
  // The recent window first (contiguous, newest backwards), keeping a share for relevant older chunks.
  const relevantRoom = lastQueries ? Math.floor(tiers.budgetTokens * RELEVANT_SHARE) : 0;
  let windowStart = chunks.length - 1;
  for (let i = chunks.length - 2; i > 0; i--) {
    if (used + sizeOf(chunks[i]) > room - relevantRoom) break;
    chosen.add(chunks[i]);
    used += sizeOf(chunks[i]);
    windowStart = i;
  }
  if (lastQueries && windowStart > 1) {
    const older = chunks.slice(1, windowStart);
    const scores = await scoreChunksFast({ ...lastQueries, nQueryTokens: lastQueries.nTokens, abstracts: state.abstracts.view(1, windowStart - 1) });
    const picks = selectChunks({
      chunks: older.map((c, i) => ({ id: i, tokenCount: sizeOf(c), score: scores[i], position: c.posStart })),
      budgetTokens: room - used,
      pinnedIds: [],
    });
    for (const i of picks) chosen.add(older[i]);
  }
  timings.selectMs += performance.now() - started;
  await timed(timings, 'spliceMs', () => tiers.makeResident([...chosen].map((chunk) => chunkSource(state, chunk))));
}

/** A chunk's blob: from the write-behind queue while it is not yet on disk, else the CPU tier, else disk. */
function chunkSource(state: IngestState, chunk: PendingChunk): SpliceSource {
  const { input, writer } = state;
  const key = chunkKey(input.ingest.id, chunk.index);
  const placed = { key, posStart: chunk.posStart, posEnd: chunk.posEnd };
  const unwritten = writer.blobOf(key);
  if (unwritten || !chunk.ref) {
    return { ...placed, load: async () => ({ blob: unwritten ?? input.cpu.get(key) ?? writer.blobOf(key)!, from: 'cpu' }) };
  }
  return tieredSource(placed, input.cpu, input.disk, input.ingest.id, chunk.ref);
}

/** After a restart, the sink and the last committed chunks go back on the GPU so the next chunk can follow them. */
async function restoreWindow(state: IngestState, plan: readonly PlannedChunk[]): Promise<void> {
  const { tiers } = state.input;
  const committed = state.chunks;
  if (committed.length === 0) {
    await tiers.clear();
    return;
  }
  const nextSize = plan[committed.length] ? plan[committed.length].tokenEnd - plan[committed.length].tokenStart : 0;
  const window: PendingChunk[] = [committed[0]];
  let used = committed[0].tokenEnd - committed[0].tokenStart;
  for (let i = committed.length - 1; i > 0; i--) {
    const size = committed[i].tokenEnd - committed[i].tokenStart;
    if (used + size + nextSize > tiers.budgetTokens) break;
    window.push(committed[i]);
    used += size;
  }
  await tiers.clear();
  await tiers.makeResident(window.map((chunk) => chunkSource(state, chunk)));
}
