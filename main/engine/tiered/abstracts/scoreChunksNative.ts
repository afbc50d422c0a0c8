// scoreChunks on the native addon when it is built, else the TypeScript reference. The addon computes
// the same scores (bounds summed in float32: equal to about 1e-5) off the JS thread and over several
// cores, so ranking thousands of chunks for a question does not stall the event loop.
import { checkScoreChunks } from '../native/checkArguments.ts';
import { loadNativeAddon } from '../native/NativeAddon.ts';
import type { NativeAddon } from '../native/NativeAddon.ts';
import { abstractLength } from './computeAbstract.ts';
import { scoreChunks } from './scoreChunks.ts';
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

function processAddon(): NativeAddon | null {
  const load = loadNativeAddon();
  return 'addon' in load ? load.addon : null;
}
