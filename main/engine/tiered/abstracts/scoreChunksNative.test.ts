// The addon's chunk scores against the TypeScript reference (scoreChunks.ts): same scores to float32
// rounding, same ranking, same argument rules, and the fallback when there is no addon.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import { createRng } from '../../testModels/createRng.ts';
import { findAddonPath, loadNativeAddon } from '../native/NativeAddon.ts';
import type { AddonBinding, NativeAddon } from '../native/NativeAddon.ts';
import { abstractLength } from './computeAbstract.ts';
import { scoreChunks, scoreShiftedChunks } from './scoreChunks.ts';
import type { ScoreChunksInput } from './scoreChunks.ts';
import { scoreChunksFast, scoreShiftedChunksFast } from './scoreChunksNative.ts';

const load = loadNativeAddon();
const addon: NativeAddon | null = 'addon' in load ? load.addon : null;
const skip = 'error' in load ? load.error : false;

// Scores are z-scores of order 1-10; float32 bounds move them by ~1e-6.
const TOLERANCE = 1e-4;

interface Shape {
  layers: number;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  chunks: number;
}

/** Random queries and valid abstracts (min <= max in every channel), plus `spareValues` unused floats at the end. */
function randomInput(shape: Shape, seed: number, spareValues = 0): ScoreChunksInput {
  const rng = createRng(seed);
  const { layers, tokens, heads, kvHeads, headDim, chunks } = shape;
  const queries = Array.from({ length: layers }, () => Float32Array.from({ length: tokens * heads * headDim }, () => rng.normal()));
  const abstracts = new Float32Array(chunks * layers * abstractLength(kvHeads, headDim) + spareValues);
  for (let block = 0; block + 2 * headDim <= abstracts.length; block += 2 * headDim) {
    for (let d = 0; d < headDim; d++) {
      const [x, y] = [rng.normal(), rng.normal()];
      abstracts[block + d] = Math.min(x, y);
      abstracts[block + headDim + d] = Math.max(x, y);
    }
  }
  return { queries, nQueryTokens: tokens, nHeads: heads, nKvHeads: kvHeads, headDim, abstracts };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length, 'as many scores');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function topK(scores: Float64Array, k: number): number[] {
  return [...scores.keys()].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
}

test('native scores equal the TypeScript scores: GQA, several layers, odd chunk counts', async (t) => {
  if (skip) return t.skip(skip);
  const shapes: Shape[] = [
    { layers: 3, tokens: 5, heads: 6, kvHeads: 2, headDim: 18, chunks: 37 }, // headDim not a multiple of 4: the kernel's tail
    { layers: 2, tokens: 8, heads: 32, kvHeads: 8, headDim: 128, chunks: 301 }, // an 8B shape, enough work for several threads
    { layers: 1, tokens: 3, heads: 3, kvHeads: 1, headDim: 256, chunks: 13 }, // the needle model's shape
    { layers: 2, tokens: 1, heads: 4, kvHeads: 4, headDim: 8, chunks: 1 }, // one chunk: every score is 0
  ];
  for (const [i, shape] of shapes.entries()) {
    const input = randomInput(shape, 10 + i);
    const expected = scoreChunks(input);
    const actual = await addon!.scoreChunks(input);
    const diff = maxAbsDiff(actual, expected);
    t.diagnostic(`${JSON.stringify(shape)}: max |native - ts| = ${diff.toExponential(2)}`);
    assert.ok(diff < TOLERANCE, `shape ${i}: scores differ by ${diff}`);
    assert.deepEqual(await addon!.scoreChunks(input, { threads: 1 }), actual, 'one thread gives the same scores as several');
  }
});

test('shifted scoring in the addon (runs of chunks sharing a shift, as library documents) equals the TypeScript reference', async (t) => {
  if (skip) return t.skip(skip);
  const input = randomInput({ layers: 2, tokens: 4, heads: 8, kvHeads: 2, headDim: 32, chunks: 60 }, 77);
  // Glue (0), a document at +37, glue, a document at +900, and one chunk alone at -5.
  const shifts = Int32Array.from({ length: 60 }, (_, c) => (c < 2 ? 0 : c < 25 ? 37 : c < 27 ? 0 : c < 59 ? 900 : -5));
  // Any rotation-like change of the queries per shift shows whether each run got its own.
  const rotate = (queries: Float32Array, delta: number) => queries.map((v, i) => v * Math.cos(delta * 0.001 * (1 + (i % 7))));
  const expected = scoreShiftedChunks(input, shifts, rotate);
  const actual = await scoreShiftedChunksFast(input, shifts, rotate);
  const diff = maxAbsDiff(actual, expected);
  t.diagnostic(`max |native runs - ts| = ${diff.toExponential(2)}`);
  assert.ok(diff < TOLERANCE, `scores differ by ${diff}`);
  assert.ok(maxAbsDiff(actual, await scoreChunksFast(input)) > 0.01, 'the shifts change the scores');
  // Every chunk shifted apart (compact positions): the same scores, by whichever path.
  const apart = Int32Array.from({ length: 60 }, (_, c) => c * 3);
  assert.ok(maxAbsDiff(await scoreShiftedChunksFast(input, apart, rotate), scoreShiftedChunks(input, apart, rotate)) < TOLERANCE);
});

test('a range of a larger packed array scores like that range alone, and the inputs are copied', async (t) => {
  if (skip) return t.skip(skip);
  const shape = { layers: 2, tokens: 4, heads: 8, kvHeads: 2, headDim: 32, chunks: 50 };
  // 7 spare floats: a packed array with room to grow holds no whole number of chunks.
  const input = randomInput(shape, 20, 7);
  const stride = shape.layers * abstractLength(shape.kvHeads, shape.headDim);
  const range = { first: 13, count: 21 };
  const expected = scoreChunks({ ...input, abstracts: input.abstracts.subarray(range.first * stride, (range.first + range.count) * stride) });

  const pending = scoreChunksFast(input, range);
  // The caller may reuse its arrays as soon as the call returns.
  input.abstracts.fill(0);
  input.queries.forEach((layer) => layer.fill(0));
  const actual = await pending;
  assert.ok(maxAbsDiff(actual, expected) < TOLERANCE);
  assert.equal((await scoreChunksFast(input, { first: 50, count: 0 })).length, 0, 'an empty range has no scores');
});

test('the same top chunks as the reference on a needle-like case', async (t) => {
  if (skip) return t.skip(skip);
  const shape = { layers: 2, tokens: 4, heads: 8, kvHeads: 2, headDim: 64, chunks: 999 };
  const input = randomInput(shape, 30);
  // Layer 0, KV head 0 (query heads 0-3) reads channels 0-7; five chunks hold keys far out along
  // them, by different amounts: the reference ranks them first, strongest first.
  const needles = [611, 3, 998, 420, 77];
  needles.forEach((chunk, i) => {
    const maxAt = chunk * shape.layers * abstractLength(shape.kvHeads, shape.headDim) + shape.headDim;
    for (let d = 0; d < 8; d++) input.abstracts[maxAt + d] += 12 - 2 * i;
  });
  for (let h = 0; h < 4; h++) {
    for (let token = 0; token < shape.tokens; token++) input.queries[0]!.fill(3, (token * shape.heads + h) * shape.headDim, (token * shape.heads + h) * shape.headDim + 8);
  }
  const reference = topK(scoreChunks(input), 5);
  assert.deepEqual(reference, needles, 'the scenario ranks the needles first in the reference');
  assert.deepEqual(topK(await scoreChunksFast(input), 5), reference);
});

test('scoring does not block the event loop', async (t) => {
  if (skip) return t.skip(skip);
  const input = randomInput({ layers: 2, tokens: 64, heads: 32, kvHeads: 8, headDim: 128, chunks: 400 }, 40);
  let ticked = false;
  setImmediate(() => (ticked = true));
  await addon!.scoreChunks(input);
  assert.ok(ticked, 'the event loop turned while the scores were computed');
});

test('without the addon scoreChunksFast is the TypeScript reference', async () => {
  const input = randomInput({ layers: 2, tokens: 3, heads: 4, kvHeads: 2, headDim: 16, chunks: 20 }, 50);
  const stride = 2 * abstractLength(2, 16);
  assert.deepEqual(await scoreChunksFast(input, undefined, { addon: null }), scoreChunks(input));
  assert.deepEqual(await scoreChunksFast(input, { first: 5, count: 9 }, { addon: null }), scoreChunks({ ...input, abstracts: input.abstracts.subarray(5 * stride, 14 * stride) }));
  await assert.rejects(scoreChunksFast(input, { first: 15, count: 9 }, { addon: null }), /chunks \[15, 24\) need/);
});

test('bad arguments are TypeErrors and RangeErrors that say what is wrong', async (t) => {
  if (skip) return t.skip(skip);
  const input = randomInput({ layers: 2, tokens: 2, heads: 4, kvHeads: 2, headDim: 8, chunks: 3 }, 60);
  const rejects = (call: () => Promise<unknown>, kind: typeof TypeError | typeof RangeError, message: RegExp) =>
    assert.rejects(call, (error: unknown) => error instanceof kind && message.test(error.message));
  await rejects(() => addon!.scoreChunks({ ...input, nKvHeads: 3 }), RangeError, /multiple of nKvHeads/);
  await rejects(() => addon!.scoreChunks({ ...input, headDim: 0 }), RangeError, /headDim/);
  await rejects(() => addon!.scoreChunks({ ...input, queries: [] }), RangeError, /at least one scoring layer/);
  await rejects(() => addon!.scoreChunks({ ...input, queries: [input.queries[0]!, new Float32Array(5)] }), RangeError, /queries\[1\] has 5 values/);
  await rejects(() => addon!.scoreChunks({ ...input, queries: [new Float64Array(64) as unknown as Float32Array] }), TypeError, /queries\[0\] must be a Float32Array/);
  await rejects(() => addon!.scoreChunks({ ...input, abstracts: [] as unknown as Float32Array }), TypeError, /abstracts must be a Float32Array/);
  await rejects(() => addon!.scoreChunks({ ...input, abstracts: input.abstracts.subarray(1) }), RangeError, /not a multiple of one chunk's 64/);
  await rejects(() => addon!.scoreChunks(input, { firstChunk: 2, chunkCount: 2 }), RangeError, /chunks \[2, 4\) need 256 abstract values/);
  await rejects(() => addon!.scoreChunks(input, { firstChunk: -1 }), RangeError, /firstChunk/);
  await rejects(() => addon!.scoreChunks(input, { threads: 0.5 }), RangeError, /threads/);

  // The C++ side checks again (the binding is reachable by require): errors, never a crash.
  const binding = createRequire(import.meta.url)(findAddonPath()!) as AddonBinding;
  const { queries, abstracts } = input;
  assert.throws(() => binding.scoreChunks(queries, 2, 4, 3, 8, abstracts, 0, 3, 0), /multiple of nKvHeads/);
  assert.throws(() => binding.scoreChunks(queries, 2, 4, 2, 8, abstracts, 1, 3, 0), (error: unknown) => error instanceof RangeError && /chunks \[1, 4\)/.test(error.message));
  assert.throws(() => binding.scoreChunks([new Float32Array(3)], 2, 4, 2, 8, abstracts, 0, 1, 0), /queries\[0\] has 3 values/);
  assert.throws(() => binding.scoreChunks(queries, 2, 4, 2, 8, new Uint8Array(4) as unknown as Float32Array, 0, 0, 0), TypeError);
  assert.throws(() => binding.scoreChunks(queries, 2 ** 31, 4, 2, 8, abstracts, 0, 0, 0), RangeError);
});
