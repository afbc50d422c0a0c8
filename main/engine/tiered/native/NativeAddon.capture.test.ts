// Query/key capture: the post-RoPE keys the addon hands to TypeScript (for chunk abstracts) are the
// keys in the KV cache, and queries come in the shape scoring needs; nothing is captured unless asked.
// Also: positions far beyond the context size work, since the tiered engine keeps a document's
// original positions in a small context.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeRandomModel } from '../../testModels/makeRandomModel.ts';
import type { NativeTierModel } from './NativeAddon.ts';
import { maxAbsDiff, randomTokens, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';
import type { NativeTestSetup } from './nativeTestSupport.ts';

const VOCAB = 600;
const LAYERS = 3;
const HEADS = 8;
const KV_HEADS = 2;
const HEAD_DIM = 32;

let dir = '';
let setup: NativeTestSetup | { skip: string };
let model: NativeTierModel | undefined;

before(async () => {
  setup = await setUpNativeAddon();
  if ('skip' in setup) return;
  dir = await mkdtemp(join(tmpdir(), 'strata-native-capture-'));
  const path = join(dir, 'random-f32.gguf');
  await makeRandomModel(path, { layers: LAYERS, embd: 256, heads: HEADS, kvHeads: KV_HEADS, headDim: HEAD_DIM, vocab: VOCAB, type: 'f32', seed: 3 });
  model = await setup.addon.loadModel(path, { gpuLayers: 0 });
});

after(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The f16 K rows of `layer` in a blob (see native/src/core/BlobLayout.h), as floats [cell][kvHead·dim]. */
function blobKeys(blob: Uint8Array, layer: number): Float32Array {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const cellCount = view.getUint32(12, true);
  let offset = 16 + cellCount * 12 + 8; // header, cells, v_trans + n_layer
  for (let l = 0; ; l++) {
    const type = view.getInt32(offset, true);
    const rowBytes = Number(view.getBigUint64(offset + 4, true));
    offset += 12;
    if (l === layer) {
      assert.equal(type, 1, 'K is f16');
      const keys = new Float32Array((cellCount * rowBytes) / 2);
      for (let i = 0; i < keys.length; i++) keys[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
      return keys;
    }
    offset += cellCount * rowBytes;
  }
}

test('captured post-RoPE keys are the keys in the KV cache, [token][kvHead][dim]', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const context = await model!.createContext({ contextSize: 512, batchSize: 128, flashAttention: false, threads: TEST_THREADS });
  try {
    const tokenCount = 300; // three ubatches: captures are stitched across them
    const result = await context.decode({
      tokens: randomTokens(tokenCount, VOCAB, 5),
      positions: range(0, tokenCount),
      logits: 'last',
      capture: { layers: [1, 2], keys: true, queries: true },
    });
    assert.equal(result.captures?.length, 2);
    for (const capture of result.captures!) {
      assert.equal(capture.kvHeadCount, KV_HEADS);
      assert.equal(capture.headCount, HEADS);
      assert.equal(capture.headDim, HEAD_DIM);
      assert.equal(capture.keys?.length, tokenCount * KV_HEADS * HEAD_DIM);
      assert.equal(capture.queries?.length, tokenCount * HEADS * HEAD_DIM);
      assert.ok(capture.keys!.every(Number.isFinite) && capture.queries!.every(Number.isFinite));
      const { blob } = await context.captureChunk(0, tokenCount);
      const cached = blobKeys(blob, capture.layer);
      // The cache holds the keys rounded to f16: equal to within half an f16 ulp.
      let worst = 0;
      for (let i = 0; i < cached.length; i++) {
        const key = capture.keys![i]!;
        worst = Math.max(worst, Math.abs(key - cached[i]!) / Math.max(Math.abs(key), 2 ** -14));
      }
      t.diagnostic(`layer ${capture.layer}: worst relative |captured - cached key| = ${worst.toExponential(2)}`);
      assert.ok(worst <= 2 ** -11, `captured keys of layer ${capture.layer} differ from the cache by ${worst}`);
    }
  } finally {
    await context.dispose();
  }
});

test('without capture nothing is returned, and capture does not change the logits', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const tokens = randomTokens(64, VOCAB, 9);
  const logits: Float32Array[] = [];
  for (const capture of [undefined, { layers: [0], keys: true, queries: true }]) {
    const context = await model!.createContext({ contextSize: 256, flashAttention: false, threads: TEST_THREADS });
    try {
      const result = await context.decode({ tokens, positions: range(0, 64), logits: 'last', ...(capture ? { capture } : {}) });
      if (capture === undefined) assert.equal(result.captures, null);
      else assert.equal(result.captures?.[0]?.keys?.length, 64 * KV_HEADS * HEAD_DIM);
      logits.push(result.logits!);
    } finally {
      await context.dispose();
    }
  }
  assert.equal(maxAbsDiff(logits[0]!, logits[1]!), 0);

  const noHook = await model!.createContext({ contextSize: 256, flashAttention: false, threads: TEST_THREADS, captureEnabled: false });
  try {
    await assert.rejects(noHook.decode({ tokens, positions: range(0, 64), logits: 'none', capture: { layers: [0] } }), RangeError);
    const result = await noHook.decode({ tokens, positions: range(0, 64), logits: 'last' });
    assert.equal(maxAbsDiff(result.logits!, logits[0]!), 0, 'a context without the hook computes the same');
  } finally {
    await noHook.dispose();
  }
});

test('positions far beyond the context size: a chunk at 50,000+ in a 1024-cell context', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const base = 50_000;
  const tokens = randomTokens(400, VOCAB, 11);
  const next = [42];
  const reference = await model!.createContext({ contextSize: 1024, flashAttention: false, threads: TEST_THREADS });
  const spliced = await model!.createContext({ contextSize: 1024, flashAttention: false, threads: TEST_THREADS });
  try {
    await reference.decode({ tokens, positions: range(base, base + 400), logits: 'none' });
    const expected = await reference.decode({ tokens: next, positions: [base + 400], logits: 'last' });

    await spliced.decode({ tokens, positions: range(base, base + 400), logits: 'none' });
    const first = await spliced.captureChunk(base, base + 250);
    const second = await spliced.captureChunk(base + 250, base + 400);
    assert.deepEqual([first.posMin, first.posMax, second.posMin, second.posMax], [base, base + 249, base + 250, base + 399]);
    await spliced.removeRange(base, base + 400);
    assert.deepEqual(await spliced.positionRange(), { min: -1, max: -1 });
    await spliced.spliceChunk(first.blob);
    await spliced.spliceChunk(second.blob);
    assert.deepEqual(await spliced.positionRange(), { min: base, max: base + 399 });
    const actual = await spliced.decode({ tokens: next, positions: [base + 400], logits: 'last' });
    assert.equal(maxAbsDiff(actual.logits!, expected.logits!), 0);

    // The same chunk spliced into another context, far from where any batch ran there.
    const elsewhere = await model!.createContext({ contextSize: 1024, flashAttention: false, threads: TEST_THREADS });
    try {
      await elsewhere.spliceChunk(second.blob);
      assert.deepEqual(await elsewhere.positionRange(), { min: base + 250, max: base + 399 });
    } finally {
      await elsewhere.dispose();
    }
  } finally {
    await reference.dispose();
    await spliced.dispose();
  }
});

test('stopAfterLastLayer: the same queries, the layers after the last one not computed, and nothing left behind once the cells are removed', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const open = () => model!.createContext({ contextSize: 512, batchSize: 128, flashAttention: false, threads: TEST_THREADS });
  const [stopped, full] = await Promise.all([open(), open()]);
  try {
    const prompt = randomTokens(100, VOCAB, 41);
    const probe = randomTokens(10, VOCAB, 42);
    for (const context of [stopped, full]) await context.decode({ tokens: prompt, positions: range(0, 100), logits: 'none' });
    const a = await stopped.decode({ tokens: probe, positions: range(100, 110), logits: 'none', capture: { layers: [0, 1], keys: true, queries: true, stopAfterLastLayer: true } });
    const b = await full.decode({ tokens: probe, positions: range(100, 110), logits: 'none', capture: { layers: [0, 1], keys: true, queries: true } });
    for (const i of [0, 1]) {
      assert.equal(maxAbsDiff(a.captures![i]!.queries!, b.captures![i]!.queries!), 0, 'the same queries');
      assert.equal(maxAbsDiff(a.captures![i]!.keys!, b.captures![i]!.keys!), 0, 'the same keys');
    }
    const blobA = (await stopped.captureChunk(100, 110)).blob;
    const blobB = (await full.captureChunk(100, 110)).blob;
    assert.equal(maxAbsDiff(blobKeys(blobA, 0), blobKeys(blobB, 0)), 0, 'layers before the last captured one are computed');
    assert.ok(maxAbsDiff(blobKeys(blobA, LAYERS - 1), blobKeys(blobB, LAYERS - 1)) > 0, 'the layer after it is not');
    for (const context of [stopped, full]) await context.removeRange(100, 110);
    const next = randomTokens(5, VOCAB, 43);
    const x = await stopped.decode({ tokens: next, positions: range(100, 105), logits: 'last' });
    const y = await full.decode({ tokens: next, positions: range(100, 105), logits: 'last' });
    assert.equal(maxAbsDiff(x.logits!, y.logits!), 0, 'removing the cells leaves nothing behind');
    await assert.rejects(stopped.decode({ tokens: [1], positions: [105], logits: 'last', capture: { layers: [1], queries: true, keys: false, stopAfterLastLayer: true } }), /logits 'none'/);
  } finally {
    await Promise.all([stopped.dispose(), full.dispose()]);
  }
});
