// Argument checks before anything crosses into C++: TypeError for a wrong kind, RangeError for a
// wrong value, as better-sqlite3 does.
import type { ScoreChunksRequest } from './NativeAddon.ts';

export const INT32_MAX = 2 ** 31 - 1;

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export function checkRange(start: number, end: number): void {
  checkInteger(start, 'start', 0, INT32_MAX);
  checkInteger(end, 'end', 0, INT32_MAX);
  if (start >= end) throw new RangeError(`the range [start, end) must have start < end, got [${start}, ${end})`);
}

export function toInt32Array(values: Int32Array | readonly number[], name: string): Int32Array {
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

/**
 * Checks a scoring request's shapes (the rules of scoreChunks.ts) and resolves its chunk range
 * [firstChunk, firstChunk + chunkCount). Without a count, `abstracts` must hold whole chunks and every
 * chunk from firstChunk on is scored; with one, it may hold more (a packed array with room to grow).
 */
export function checkScoreChunks(request: ScoreChunksRequest, firstChunk?: number, chunkCount?: number): { firstChunk: number; chunkCount: number } {
  if (request === null || typeof request !== 'object') throw new TypeError('the scoring request must be an object');
  const { queries, abstracts } = request;
  const nQueryTokens = checkInteger(request.nQueryTokens, 'nQueryTokens', 1, INT32_MAX);
  const nHeads = checkInteger(request.nHeads, 'nHeads', 1, INT32_MAX);
  const nKvHeads = checkInteger(request.nKvHeads, 'nKvHeads', 1, INT32_MAX);
  const headDim = checkInteger(request.headDim, 'headDim', 1, INT32_MAX);
  if (nHeads % nKvHeads !== 0) throw new RangeError(`nHeads (${nHeads}) must be a multiple of nKvHeads (${nKvHeads})`);
  if (!Array.isArray(queries)) throw new TypeError('queries must be an array of Float32Arrays (one per scoring layer)');
  if (queries.length < 1) throw new RangeError('queries must hold at least one scoring layer');
  const queryLength = nQueryTokens * nHeads * headDim;
  queries.forEach((layer: unknown, l) => {
    if (!(layer instanceof Float32Array)) throw new TypeError(`queries[${l}] must be a Float32Array`);
    if (layer.length !== queryLength) throw new RangeError(`queries[${l}] has ${layer.length} values, expected nQueryTokens * nHeads * headDim = ${queryLength}`);
  });
  if (!(abstracts instanceof Float32Array)) throw new TypeError('abstracts must be a Float32Array');
  const stride = queries.length * nKvHeads * 2 * headDim;
  const first = checkInteger(firstChunk ?? 0, 'firstChunk', 0, INT32_MAX);
  if (chunkCount === undefined) {
    if (abstracts.length % stride !== 0) {
      throw new RangeError(`abstracts has ${abstracts.length} values, not a multiple of one chunk's ${stride} (layers * nKvHeads * 2 * headDim)`);
    }
    const total = abstracts.length / stride;
    if (first > total) throw new RangeError(`firstChunk ${first} is past the ${total} chunks of abstracts`);
    return { firstChunk: first, chunkCount: total - first };
  }
  const count = checkInteger(chunkCount, 'chunkCount', 0, INT32_MAX);
  if ((first + count) * stride > abstracts.length) {
    throw new RangeError(`chunks [${first}, ${first + count}) need ${(first + count) * stride} abstract values, abstracts has ${abstracts.length}`);
  }
  return { firstChunk: first, chunkCount: count };
}
