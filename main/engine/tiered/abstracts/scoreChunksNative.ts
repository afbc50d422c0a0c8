// scoreChunks on the native addon when it is built, else the TypeScript reference. The addon computes
// the same scores (bounds summed in float32: equal to about 1e-5) off the JS thread and over several
// cores, so ranking thousands of chunks for a question does not stall the event loop.
import { checkScoreChunks } from '../native/checkArguments.ts';
import { loadNativeAddon } from '../native/NativeAddon.ts';
import type { NativeAddon } from '../native/NativeAddon.ts';
import { abstractLength } from './computeAbstract.ts';
import { queriesPerShift, scoreChunks, scoreShiftedChunks, standardizedScores } from './scoreChunks.ts';
import type { ScoreChunksInput } from './scoreChunks.ts';

/** Chunks [first, first + count) of the packed abstracts. */
export interface ChunkRange {
  first: number;
  count: number;
}

export interface ScoreChunksFastOptions {
  /** The addon to use; null forces the TypeScript fallback. Default: the process's addon if it loads. */
  addon?: NativeAddon | null;
  /** Most native threads, 0 (default) for all cores. */
  threads?: number;
}

/**
 * scoreChunks(input) for the chunks in `range` (default: all of them), scores standardised over those
 * chunks only. `input.abstracts` may hold more chunks than the range, so a caller can keep one growing
 * packed array and score its new tail or any window of it without copying.
 */
export async function scoreChunksFast(input: ScoreChunksInput, range?: ChunkRange, options: ScoreChunksFastOptions = {}): Promise<Float64Array> {
  const addon = options.addon === undefined ? processAddon() : options.addon;
  if (addon !== null) return addon.scoreChunks(input, { firstChunk: range?.first, chunkCount: range?.count, threads: options.threads });
  const { firstChunk, chunkCount } = checkScoreChunks(input, range?.first, range?.count);
  const stride = input.queries.length * abstractLength(input.nKvHeads, input.headDim);
  return scoreChunks({ ...input, abstracts: input.abstracts.subarray(firstChunk * stride, (firstChunk + chunkCount) * stride) });
}

/** Runs of equal shift past which per-run native calls cost more than the TypeScript reference (compact positions shift every chunk apart). */
const MAX_NATIVE_RUNS = 64;

/**
 * scoreShiftedChunks on the addon: each run of chunks sharing a shift (a library document placed in a
 * prompt, the glue between documents) is bounded natively with the queries rotated once for it, and
 * the bounds are standardised together, as the reference does.
 */
export async function scoreShiftedChunksFast(input: ScoreChunksInput, shifts: Int32Array, rotate: (queries: Float32Array, delta: number) => Float32Array, options: ScoreChunksFastOptions = {}): Promise<Float64Array> {
  const addon = options.addon === undefined ? processAddon() : options.addon;
  const runs: { start: number; end: number }[] = [];
  for (let start = 0; start < shifts.length; ) {
    let end = start + 1;
    while (end < shifts.length && shifts[end] === shifts[start]) end++;
    runs.push({ start, end });
    start = end;
  }
  if (addon === null || runs.length > MAX_NATIVE_RUNS) return scoreShiftedChunks(input, shifts, rotate);
  const LH = input.queries.length * input.nHeads;
  const C = shifts.length;
  const bounds = new Float64Array(LH * C);
  const queriesAt = queriesPerShift(input.queries, rotate);
  for (const { start, end } of runs) {
    const queries = queriesAt(shifts[start]);
    const count = end - start;
    const part = await addon.chunkBounds({ ...input, queries }, { firstChunk: start, chunkCount: count, threads: options.threads });
    for (let lh = 0; lh < LH; lh++) for (let c = 0; c < count; c++) bounds[lh * C + start + c] = part[lh * count + c];
  }
  return standardizedScores(bounds, LH);
}

function processAddon(): NativeAddon | null {
  const load = loadNativeAddon();
  return 'addon' in load ? load.addon : null;
}
