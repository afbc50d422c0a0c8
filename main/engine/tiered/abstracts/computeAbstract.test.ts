import assert from 'node:assert/strict';
import test from 'node:test';
import { createRng } from '../../testModels/createRng.ts';
import { abstractLength, computeAbstract, concatLayerAbstracts, mergeAbstracts } from './computeAbstract.ts';

/** Standard-normal samples from the project's seeded generator. */
function gaussian(seed: number): () => number {
  const rng = createRng(seed);
  return () => rng.normal();
}

const nTokens = 50;
const nKvHeads = 3;
const headDim = 8;
const rand = gaussian(7);
const keys = Float32Array.from({ length: nTokens * nKvHeads * headDim }, rand);
const captured = { keys, nTokens, nKvHeads, headDim };
const key = (t: number, g: number, d: number) => keys[(t * nKvHeads + g) * headDim + d];

test('the abstract holds per head and channel the min then the max of the keys in the range', () => {
  const abstract = computeAbstract(captured, 10, 20);
  assert.equal(abstract.length, abstractLength(nKvHeads, headDim));
  for (let g = 0; g < nKvHeads; g++) {
    for (let d = 0; d < headDim; d++) {
      const values = Array.from({ length: 10 }, (_, i) => key(10 + i, g, d));
      assert.equal(abstract[g * 2 * headDim + d], Math.min(...values));
      assert.equal(abstract[g * 2 * headDim + headDim + d], Math.max(...values));
    }
  }
});

test('the bound Σ max(q·min, q·max) is at least q·k for every key of the chunk, and exact for one token', () => {
  const abstract = computeAbstract(captured, 5, 35);
  const bound = (abs: Float32Array, q: number[], g: number) =>
    q.reduce((sum, v, d) => sum + Math.max(v * abs[g * 2 * headDim + d], v * abs[g * 2 * headDim + headDim + d]), 0);
  for (let trial = 0; trial < 100; trial++) {
    const q = Array.from({ length: headDim }, rand);
    for (let g = 0; g < nKvHeads; g++) {
      const ub = bound(abstract, q, g);
      for (let t = 5; t < 35; t++) assert.ok(ub >= q.reduce((sum, v, d) => sum + v * key(t, g, d), 0) - 1e-9);
      const single = computeAbstract(captured, 7, 8);
      assert.ok(Math.abs(bound(single, q, g) - q.reduce((sum, v, d) => sum + v * key(7, g, d), 0)) < 1e-9);
    }
  }
});

test('merging the abstracts of two batches equals the abstract of both, for one or several layers', () => {
  const whole = computeAbstract(captured, 3, 41);
  const merged = mergeAbstracts(computeAbstract(captured, 3, 17), computeAbstract(captured, 17, 41), headDim);
  assert.deepEqual(merged, whole);
  const twoLayers = mergeAbstracts(
    concatLayerAbstracts([computeAbstract(captured, 3, 17), computeAbstract(captured, 0, 9)]),
    concatLayerAbstracts([computeAbstract(captured, 17, 41), computeAbstract(captured, 9, 50)]),
    headDim,
  );
  assert.deepEqual(twoLayers, concatLayerAbstracts([whole, computeAbstract(captured, 0, 50)]));
});

test('empty or out-of-range token ranges and mismatched shapes are RangeErrors', () => {
  assert.throws(() => computeAbstract(captured, 5, 5), RangeError);
  assert.throws(() => computeAbstract(captured, 40, 51), RangeError);
  assert.throws(() => computeAbstract({ ...captured, nTokens: 49 }, 0, 1), RangeError);
  assert.throws(() => mergeAbstracts(new Float32Array(16), new Float32Array(32), headDim), RangeError);
  assert.throws(() => mergeAbstracts(new Float32Array(12), new Float32Array(12), headDim), RangeError);
});
