import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from './createRng.ts';

test('createRng is reproducible and its normals have the requested spread', () => {
  const a = createRng(42);
  const b = createRng(42);
  const drawsA = Array.from({ length: 5 }, () => a.uniform());
  assert.deepEqual(Array.from({ length: 5 }, () => b.uniform()), drawsA);
  assert.notDeepEqual(Array.from({ length: 5 }, () => createRng(43).uniform()), drawsA);

  for (const draw of [(n: number) => createRng(1).fillNormal(new Float32Array(n), 0.02), (n: number) => {
    const rng = createRng(1);
    return Float32Array.from({ length: n }, () => rng.normal() * 0.02);
  }]) {
    const values = draw(200000);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(mean) < 0.0005, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.02) < 0.0005, `std ${std}`);
  }
  const rng = createRng(7);
  for (let i = 0; i < 1000; i++) {
    const k = rng.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
  }
  assert.deepEqual(rng.shuffled([1, 2, 3, 4]).sort(), [1, 2, 3, 4]);
  assert.throws(() => createRng(1.5), RangeError);
});
