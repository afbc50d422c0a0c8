import assert from 'node:assert/strict';
import test from 'node:test';
import { CpuTier } from './CpuTier.ts';

const blob = (bytes: number, fill = 1) => new Uint8Array(bytes).fill(fill);

test('the least recently used blob is evicted first, and get refreshes recency', () => {
  const tier = new CpuTier({ budgetBytes: 300 });
  assert.equal(tier.put('a', blob(100)), true);
  tier.put('b', blob(100));
  tier.put('c', blob(100));
  assert.ok(tier.get('a')); // a is now the most recent; b is the oldest
  tier.put('d', blob(100));
  assert.equal(tier.has('b'), false);
  assert.deepEqual(['a', 'c', 'd'].map((k) => tier.has(k)), [true, true, true]);
  assert.equal(tier.get('b'), undefined);
  assert.deepEqual(tier.stats(), { bytes: 300, budgetBytes: 300, entries: 3, hits: 1, misses: 1, evictions: 1 });
});

test('a blob larger than the whole budget is not cached and does not flush the cache', () => {
  const tier = new CpuTier({ budgetBytes: 300 });
  tier.put('a', blob(200));
  assert.equal(tier.put('huge', blob(301)), false);
  assert.equal(tier.has('huge'), false);
  assert.equal(tier.has('a'), true);
  // Replacing a key with an oversized blob drops the stale one instead of serving it.
  assert.equal(tier.put('a', blob(400)), false);
  assert.equal(tier.has('a'), false);
  assert.equal(tier.stats().bytes, 0);
});

test('replacing a key counts only the new blob, and the same bytes come back', () => {
  const tier = new CpuTier({ budgetBytes: 1000 });
  tier.put('a', blob(100, 1));
  tier.put('a', blob(50, 7));
  assert.equal(tier.stats().bytes, 50);
  assert.deepEqual(tier.get('a'), blob(50, 7));
  assert.equal(tier.delete('a'), true);
  assert.equal(tier.delete('a'), false);
  assert.equal(tier.stats().bytes, 0);
});

test('lowering the budget evicts down to it; clear empties the cache but keeps the counters', () => {
  const tier = new CpuTier({ budgetBytes: 1000 });
  for (let i = 0; i < 10; i++) tier.put(`k${i}`, blob(100));
  tier.setBudget(350);
  assert.deepEqual(tier.stats(), { bytes: 300, budgetBytes: 350, entries: 3, hits: 0, misses: 0, evictions: 7 });
  assert.deepEqual(['k7', 'k8', 'k9'].map((k) => tier.has(k)), [true, true, true]);
  tier.clear();
  assert.deepEqual(tier.stats(), { bytes: 0, budgetBytes: 350, entries: 0, hits: 0, misses: 0, evictions: 7 });
  assert.throws(() => tier.setBudget(-1), RangeError);
  assert.throws(() => new CpuTier({ budgetBytes: Number.NaN }), RangeError);
});

test('after dispose every method throws DisposedError, and dispose is idempotent', () => {
  const tier = new CpuTier({ budgetBytes: 10 });
  tier.dispose();
  tier.dispose();
  assert.throws(() => tier.get('a'), { code: 'DISPOSED' });
  assert.throws(() => tier.put('a', blob(1)), { code: 'DISPOSED' });
  assert.throws(() => tier.setBudget(1), { code: 'DISPOSED' });
});

test('over 10,000 random operations it matches a reference LRU and never exceeds its budget', () => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const tier = new CpuTier({ budgetBytes: 4096 });
  let reference: { key: string; size: number }[] = []; // least recent first
  let budget = 4096;
  const refBytes = () => reference.reduce((sum, e) => sum + e.size, 0);
  for (let op = 0; op < 10_000; op++) {
    const key = `k${Math.floor(rand() * 64)}`;
    const r = rand();
    if (r < 0.45) {
      const size = rand() < 0.05 ? Math.floor(rand() * 6000) : Math.floor(rand() * 700);
      const stored = tier.put(key, blob(size, op & 0xff));
      reference = reference.filter((e) => e.key !== key);
      assert.equal(stored, size <= budget);
      if (size <= budget) {
        while (refBytes() + size > budget) reference.shift();
        reference.push({ key, size });
      }
    } else if (r < 0.85) {
      const got = tier.get(key);
      const i = reference.findIndex((e) => e.key === key);
      assert.equal(got !== undefined, i >= 0);
      if (i >= 0) {
        assert.equal(got!.byteLength, reference[i].size);
        reference.push(...reference.splice(i, 1));
      }
    } else if (r < 0.95) {
      assert.equal(tier.delete(key), reference.some((e) => e.key === key));
      reference = reference.filter((e) => e.key !== key);
    } else if (r < 0.99) {
      budget = Math.floor(rand() * 8192);
      tier.setBudget(budget);
      while (refBytes() > budget) reference.shift();
    } else {
      tier.clear();
      reference = [];
    }
    const stats = tier.stats();
    assert.ok(stats.bytes <= stats.budgetBytes, `op ${op}: ${stats.bytes} > ${stats.budgetBytes}`);
    assert.equal(stats.bytes, refBytes());
    assert.equal(stats.entries, reference.length);
  }
});
