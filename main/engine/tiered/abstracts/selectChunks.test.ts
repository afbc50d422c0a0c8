import assert from 'node:assert/strict';
import test from 'node:test';
import { selectChunks, type SelectableChunk } from './selectChunks.ts';

const chunk = (id: string, position: number, tokenCount: number, score: number): SelectableChunk<string> => ({ id, position, tokenCount, score });

test('pinned chunks first, then the best scores that fit, returned in position order', () => {
  const chunks = [
    chunk('sink', 0, 10, -5),
    chunk('a', 10, 100, 1),
    chunk('b', 110, 100, 9),
    chunk('c', 210, 100, 5),
    chunk('d', 310, 100, 7),
    chunk('recent', 410, 50, -9),
  ];
  assert.deepEqual(selectChunks({ chunks, budgetTokens: 260, pinnedIds: ['sink', 'recent'] }), ['sink', 'b', 'd', 'recent']);
});

test('a chunk that does not fit is skipped and smaller, lower-scoring ones still fill the budget', () => {
  const chunks = [chunk('sink', 0, 10, 0), chunk('big', 10, 300, 9), chunk('mid', 310, 150, 8), chunk('small', 460, 40, 1), chunk('tiny', 500, 5, 0.5)];
  assert.deepEqual(selectChunks({ chunks, budgetTokens: 204, pinnedIds: ['sink'] }), ['sink', 'mid', 'small']);
  assert.deepEqual(selectChunks({ chunks, budgetTokens: 205, pinnedIds: ['sink'] }), ['sink', 'mid', 'small', 'tiny']);
});

test('ties go to the earlier chunk, NaN scores come last, numeric ids work', () => {
  const chunks = [
    { id: 3, position: 30, tokenCount: 10, score: 1 },
    { id: 1, position: 10, tokenCount: 10, score: 1 },
    { id: 2, position: 20, tokenCount: 10, score: Number.NaN },
    { id: 4, position: 40, tokenCount: 10, score: -1e9 },
  ];
  assert.deepEqual(selectChunks({ chunks, budgetTokens: 10, pinnedIds: [] }), [1]);
  assert.deepEqual(selectChunks({ chunks, budgetTokens: 30, pinnedIds: [] }), [1, 3, 4]);
});

test('pinned chunks over the budget are an error that says what to do; unknown pinned ids are refused', () => {
  const chunks = [chunk('sink', 0, 600, 0), chunk('recent', 900, 500, 0), chunk('x', 600, 10, 3)];
  assert.throws(
    () => selectChunks({ chunks, budgetTokens: 1000, pinnedIds: ['sink', 'recent'] }),
    (error: Error & { code?: string }) => error.code === 'PINNED_OVER_BUDGET' && /1100 tokens/.test(error.message) && /1000 tokens/.test(error.message),
  );
  assert.throws(() => selectChunks({ chunks, budgetTokens: 1000, pinnedIds: ['nope'] }), RangeError);
  assert.throws(() => selectChunks({ chunks: [...chunks, chunk('x', 5, 1, 1)], budgetTokens: 1000, pinnedIds: [] }), RangeError);
});

test('over random inputs the budget is never exceeded, pinned chunks are always in, and the order is by position', () => {
  let seed = 99;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 500; trial++) {
    const n = 1 + Math.floor(rand() * 60);
    const positions = Array.from({ length: n }, (_, i) => i * 1000).sort(() => rand() - 0.5);
    const chunks = positions.map((position, i) => chunk(`c${i}`, position, 1 + Math.floor(rand() * 500), rand() * 10 - 5));
    const pinnedIds = chunks.filter(() => rand() < 0.1).map((c) => c.id);
    const pinnedTokens = chunks.filter((c) => pinnedIds.includes(c.id)).reduce((sum, c) => sum + c.tokenCount, 0);
    const budgetTokens = pinnedTokens + Math.floor(rand() * 5000);
    const ids = selectChunks({ chunks, budgetTokens, pinnedIds });
    const picked = ids.map((id) => chunks.find((c) => c.id === id)!);
    assert.ok(picked.reduce((sum, c) => sum + c.tokenCount, 0) <= budgetTokens);
    for (const id of pinnedIds) assert.ok(ids.includes(id));
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < picked.length; i++) assert.ok(picked[i - 1].position < picked[i].position);
    // Greedy: every chunk left out either did not fit when its turn came or scored below all picks' floor.
    const used = picked.reduce((sum, c) => sum + c.tokenCount, 0);
    for (const c of chunks) if (!ids.includes(c.id)) assert.ok(used + c.tokenCount > budgetTokens || picked.every((p) => pinnedIds.includes(p.id) || p.score >= c.score));
  }
});
