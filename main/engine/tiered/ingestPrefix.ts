// Block-wise prefill of a document prefix under the GPU budget. Chunk by chunk: evaluate it on a working
// set of the sink, the older chunks most relevant to it and the recent window, capture its KV blob and the abstract of its keys,
// write the blob to disk (fsynced) before its catalog row, keep it in the CPU tier, and evict the
// oldest chunks when the next one would not fit. An ingest that stops half-way resumes from its last
// committed chunk. When the whole prefix fits the budget nothing is evicted and the prefill is exact.
import type { KvCatalog, KvChunk, KvIngest } from '../../catalog/KvCatalog.ts';
import { StrataError } from '../errors.ts';
import { computeAbstract, concatLayerAbstracts } from './abstracts/computeAbstract.ts';
import { chunkTokens, nextWordBoundary } from './chunking/chunkTokens.ts';
import type { AddonLayerCapture } from './native/NativeAddon.ts';
import { packAbstracts, scoreChunks } from './abstracts/scoreChunks.ts';
import { selectChunks } from './abstracts/selectChunks.ts';
import type { SpliceSource, TierManager } from './TierManager.ts';
import type { CpuTier } from './tiers/CpuTier.ts';
import { blobEnd, type DiskTier } from './tiers/DiskTier.ts';
import { tieredSource } from './tiers/tieredSource.ts';

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
  pieces: readonly string[];
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

/** Returns every chunk of the prefix and how many tokens this call evaluated (0 when it was complete). */
export async function ingestPrefix(input: IngestPrefixInput): Promise<{ chunks: KvChunk[]; evaluatedTokens: number }> {
  const { tiers, tokens, ingest, kv, disk, cpu } = input;
  const plan = planChunks(input.pieces, input.chunkMinTokens, input.chunkMaxTokens);
  const committed = kv.listChunks(ingest.id);
  if (ingest.state === 'complete' && committed.length === plan.length) return { chunks: committed, evaluatedTokens: 0 };
  for (const [i, chunk] of committed.entries()) {
    if (chunk.tokenStart !== plan[i]?.tokenStart || chunk.tokenEnd !== plan[i]?.tokenEnd) {
      throw new StrataError('INGEST_MISMATCH', `The stored chunks of this document no longer match its text (chunk ${i}). Remove the document and add it again.`);
    }
  }
  // Bytes past the last committed blob were written by an ingest that stopped before its catalog row.
  const last = committed.at(-1);
  const end = last ? blobEnd(last.ref) : { segment: 0, offset: 0 };
  await disk.truncateTo(ingest.id, end.segment, end.offset);

  await restoreWindow(input, committed, plan);
  const chunks = committed.slice();
  let evaluatedTokens = 0;
  let lastQueries: LastQueries | null = null;
  for (const planned of plan.slice(committed.length)) {
    if (input.signal?.aborted) throw new StrataError('CANCELLED', 'Reading the document into the KV tiers was cancelled; it resumes where it stopped next time.');
    const size = planned.tokenEnd - planned.tokenStart;
    await prepareWorkingSet(input, chunks, size, lastQueries);
    if (tiers.nextPosition !== planned.tokenStart) {
      throw new StrataError('INGEST_ORDER', `Chunk ${planned.index} must start at position ${tiers.nextPosition}, not ${planned.tokenStart}.`);
    }
    const result = await tiers.decode(tokens.slice(planned.tokenStart, planned.tokenEnd), 'none', { layers: input.scoringLayers, keys: true, queries: true });
    lastQueries = tailQueries(result.captures, input.scoringLayers, size);
    evaluatedTokens += size;
    const key = chunkKey(ingest.id, planned.index);
    const blob = await tiers.captureLoose(key, planned.tokenStart, planned.tokenEnd);
    const abstract = abstractOf(result.captures, input.scoringLayers, size);
    const ref = await disk.append(ingest.id, blob);
    const chunk: KvChunk = { ...planned, posStart: planned.tokenStart, posEnd: planned.tokenEnd, ref, abstract };
    kv.addChunk(ingest.id, chunk);
    cpu.put(key, blob);
    chunks.push(chunk);
    input.onProgress?.(planned.tokenEnd, tokens.length);
  }
  kv.completeIngest(ingest.id);
  return { chunks, evaluatedTokens };
}

/** The abstract of all tokens of a decode, one layer after another in scoring-layer order. */
export function abstractOf(captures: AddonLayerCapture[] | null, layers: readonly number[], nTokens: number): Float32Array {
  if (!captures) throw new StrataError('CAPTURE_MISSING', 'The native engine returned no keys for a chunk.');
  return concatLayerAbstracts(
    layers.map((layer) => {
      const capture = captures.find((c) => c.layer === layer);
      if (!capture?.keys) throw new StrataError('CAPTURE_MISSING', `No keys were captured at layer ${layer}.`);
      return computeAbstract({ keys: capture.keys, nTokens, nKvHeads: capture.kvHeadCount, headDim: capture.headDim }, 0, nTokens);
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
 */
async function prepareWorkingSet(input: IngestPrefixInput, chunks: readonly KvChunk[], nextSize: number, lastQueries: LastQueries | null): Promise<void> {
  const { tiers, ingest } = input;
  const total = chunks.reduce((sum, c) => sum + (c.posEnd - c.posStart), 0);
  if (tiers.residentTokens + nextSize <= tiers.budgetTokens && total === tiers.residentTokens) return;
  if (chunks.length === 0) return;
  const room = tiers.budgetTokens - nextSize;
  const sizeOf = (c: KvChunk) => c.posEnd - c.posStart;
  const chosen = new Set<KvChunk>([chunks[0], chunks[chunks.length - 1]]);
  let used = sizeOf(chunks[0]) + (chunks.length > 1 ? sizeOf(chunks[chunks.length - 1]) : 0);
  if (used > room) {
    throw new StrataError('GPU_BUDGET_TOO_SMALL', `The GPU budget of ${tiers.budgetTokens} tokens cannot hold the sink, the previous chunk and the next one (${nextSize} tokens). Raise the GPU budget or lower the chunk size.`);
  }
  // The recent window first (contiguous, newest backwards), keeping a share for relevant older chunks.
  const relevantRoom = lastQueries ? Math.floor(tiers.budgetTokens * RELEVANT_SHARE) : 0;
  let windowStart = chunks.length - 1;
  for (let i = chunks.length - 2; i > 0; i--) {
    if (used + sizeOf(chunks[i]) > room - relevantRoom) break;
    chosen.add(chunks[i]);
    used += sizeOf(chunks[i]);
    windowStart = i;
  }
  const older = chunks.slice(1, windowStart);
  if (lastQueries && older.length > 0) {
    const scores = scoreChunks({ ...lastQueries, nQueryTokens: lastQueries.nTokens, abstracts: packAbstracts(older.map((c) => c.abstract)) });
    const picks = selectChunks({
      chunks: older.map((c, i) => ({ id: i, tokenCount: sizeOf(c), score: scores[i], position: c.posStart })),
      budgetTokens: room - used,
      pinnedIds: [],
    });
    for (const i of picks) chosen.add(older[i]);
  }
  await tiers.makeResident([...chosen].map((chunk) => chunkSource(input, ingest.id, chunk)));
}

function chunkSource(input: IngestPrefixInput, ingestId: string, chunk: KvChunk): SpliceSource {
  return tieredSource({ key: chunkKey(ingestId, chunk.index), posStart: chunk.posStart, posEnd: chunk.posEnd }, input.cpu, input.disk, ingestId, chunk.ref);
}

/** After a restart, the sink and the last committed chunks go back on the GPU so the next chunk can follow them. */
async function restoreWindow(input: IngestPrefixInput, committed: readonly KvChunk[], plan: readonly PlannedChunk[]): Promise<void> {
  const { tiers, ingest } = input;
  if (committed.length === 0) {
    await tiers.clear();
    return;
  }
  const nextSize = plan[committed.length] ? plan[committed.length].tokenEnd - plan[committed.length].tokenStart : 0;
  const window: KvChunk[] = [committed[0]];
  let used = committed[0].tokenEnd - committed[0].tokenStart;
  for (let i = committed.length - 1; i > 0; i--) {
    const size = committed[i].tokenEnd - committed[i].tokenStart;
    if (used + size + nextSize > tiers.budgetTokens) break;
    window.push(committed[i]);
    used += size;
  }
  await tiers.clear();
  await tiers.makeResident(window.map((chunk) => chunkSource(input, ingest.id, chunk)));
}
