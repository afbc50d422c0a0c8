// Splicing is exact: a document evaluated chunk by chunk, its chunks captured, removed and spliced
// back in position order, answers with the same logits as evaluating it in one go — and as
// node-llama-cpp's own evaluation of the same tokens.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Token } from 'node-llama-cpp';
import { makeRandomModel } from '../../testModels/makeRandomModel.ts';
import type { NativeTierModel } from './NativeAddon.ts';
import { maxAbsDiff, randomTokens, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';
import type { NativeTestSetup } from './nativeTestSupport.ts';

const VOCAB = 1024;
const DOCUMENT_TOKENS = 600;
const CHUNK_BOUNDS = [0, 96, 250, 400, 517, 600]; // five chunks of uneven sizes
const CONTEXT_SIZE = 1024;

let dir = '';
let modelPath = '';
let setup: NativeTestSetup | { skip: string };
let model: NativeTierModel | undefined;

before(async () => {
  setup = await setUpNativeAddon();
  if ('skip' in setup) return;
  dir = await mkdtemp(join(tmpdir(), 'strata-native-splice-'));
  modelPath = join(dir, 'random-f32.gguf');
  await makeRandomModel(modelPath, { layers: 4, embd: 256, heads: 8, kvHeads: 4, headDim: 32, vocab: VOCAB, type: 'f32', seed: 7 });
  model = await setup.addon.loadModel(modelPath, { gpuLayers: 0 });
});

after(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the addon runs on the llama.cpp node-llama-cpp loaded: one copy in the process', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  assert.equal(setup.initInfo.loadedBackends, false, 'node-llama-cpp had registered the backends already');
  assert.equal(dirname(setup.initInfo.libraryPath), setup.binsDir);
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return t.skip('no /proc/self/maps here');
  }
  const mapped = new Set(maps.split('\n').map((line) => line.slice(line.indexOf('/'))).filter((path) => /\/libllama[^/-]*\.so$/.test(path)));
  t.diagnostic(`libllama mapped: ${[...mapped].join(', ')}`);
  assert.deepEqual([...mapped], [setup.initInfo.libraryPath]);
});

const document = randomTokens(DOCUMENT_TOKENS, VOCAB, 12345);
const nextToken = 777;

for (const flashAttention of [false, true]) {
  describe(`splicing with flash attention ${flashAttention ? 'on' : 'off'}`, () => {
    let reference: Float32Array;

    test('the reference: the whole document in one context', async (t) => {
      if ('skip' in setup) return t.skip(setup.skip);
      const context = await model!.createContext({ contextSize: CONTEXT_SIZE, batchSize: 256, flashAttention, threads: TEST_THREADS });
      try {
        await context.decode({ tokens: document, positions: range(0, DOCUMENT_TOKENS), logits: 'none' });
        const result = await context.decode({ tokens: [nextToken], positions: [DOCUMENT_TOKENS], logits: 'last' });
        assert.equal(result.logits!.length, VOCAB);
        reference = result.logits!;
      } finally {
        await context.dispose();
      }
    });

    test('chunks captured, removed and spliced back in position order give the same logits', async (t) => {
      if ('skip' in setup) return t.skip(setup.skip);
      const context = await model!.createContext({ contextSize: CONTEXT_SIZE, batchSize: 256, flashAttention, threads: TEST_THREADS });
      try {
        const blobs: Uint8Array[] = [];
        for (let i = 0; i + 1 < CHUNK_BOUNDS.length; i++) {
          const [start, end] = [CHUNK_BOUNDS[i]!, CHUNK_BOUNDS[i + 1]!];
          await context.decode({ tokens: document.subarray(start, end), positions: range(start, end), logits: 'none' });
          const chunk = await context.captureChunk(start, end);
          assert.deepEqual([chunk.cellCount, chunk.posMin, chunk.posMax], [end - start, start, end - 1]);
          blobs.push(chunk.blob);
        }
        for (let i = 0; i + 1 < CHUNK_BOUNDS.length; i++) await context.removeRange(CHUNK_BOUNDS[i]!, CHUNK_BOUNDS[i + 1]!);
        assert.deepEqual(await context.positionRange(), { min: -1, max: -1 }, 'every chunk was removed');

        for (const blob of blobs) await context.spliceChunk(blob);
        assert.deepEqual(await context.positionRange(), { min: 0, max: DOCUMENT_TOKENS - 1 });
        const result = await context.decode({ tokens: [nextToken], positions: [DOCUMENT_TOKENS], logits: 'last' });
        const diff = maxAbsDiff(result.logits!, reference);
        const bytesPerToken = blobs.reduce((sum, blob) => sum + blob.byteLength, 0) / DOCUMENT_TOKENS;
        t.diagnostic(`max |spliced - reference| = ${diff} (blob ${bytesPerToken.toFixed(1)} B/token)`);
        assert.ok(diff <= 1e-5, `spliced logits differ from the reference by ${diff}`);
      } finally {
        await context.dispose();
      }
    });

    test("node-llama-cpp's own evaluation of the same tokens agrees", async (t) => {
      if ('skip' in setup) return t.skip(setup.skip);
      const { llama } = setup;
      const standardModel = await llama.loadModel({ modelPath, gpuLayers: 0 });
      try {
        const context = await standardModel.createContext({ contextSize: CONTEXT_SIZE, batchSize: 256, flashAttention, threads: TEST_THREADS });
        const sequence = context.getSequence();
        // The same batches as the addon's reference: the document, then the next token alone (with flash
        // attention, llama.cpp's CPU kernel for one query row accumulates differently from a batch's).
        await sequence.controlledEvaluate([...document] as Token[]);
        const outputs = await sequence.controlledEvaluate([[nextToken as Token, { generateNext: { logits: true } }]]);
        const logitMap = outputs[0]?.next.logits;
        assert.ok(logitMap !== undefined, 'node-llama-cpp returned logits');
        const standard = new Float32Array(VOCAB);
        for (const [token, logit] of logitMap) standard[token] = logit;
        assert.equal(logitMap.size, VOCAB);
        const diff = maxAbsDiff(standard, reference);
        t.diagnostic(`max |node-llama-cpp - addon| = ${diff}`);
        assert.ok(diff <= 1e-3, `node-llama-cpp's logits differ from the addon's by ${diff}`);
        await context.dispose();
      } finally {
        await standardModel.dispose();
      }
    });
  });
}

test('a chunk spliced with a shift answers like its tokens evaluated at the new positions, and leaves the cells already there alone', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const open = () => model!.createContext({ contextSize: CONTEXT_SIZE, batchSize: 256, flashAttention: true, threads: TEST_THREADS, typeK: 'f32', typeV: 'f32' });
  const [source, spliced, direct] = await Promise.all([open(), open(), open()]);
  try {
    const first = randomTokens(48, VOCAB, 21);
    const second = randomTokens(48, VOCAB, 22);
    const question = randomTokens(4, VOCAB, 23);
    // The second part evaluated alone at [0, 48), as a document read on its own would be.
    await source.decode({ tokens: second, positions: range(0, 48), logits: 'none' });
    const { blob } = await source.captureChunk(0, 48);
    // Another part already holds [0, 48); the blob lands at [48, 96).
    await spliced.decode({ tokens: first, positions: range(0, 48), logits: 'none' });
    const before = (await spliced.captureChunk(0, 48)).blob;
    const info = await spliced.spliceChunk(blob, 48);
    assert.deepEqual([info.posMin, info.posMax], [48, 95]);
    assert.deepEqual(await spliced.positionRange(), { min: 0, max: 95 });
    assert.deepEqual((await spliced.captureChunk(0, 48)).blob, before, 'the cells at the old positions are untouched');
    // Without the first part, the shifted cells answer like the tokens evaluated at [48, 96) directly.
    await spliced.removeRange(0, 48);
    await direct.decode({ tokens: second, positions: range(48, 96), logits: 'none' });
    const afterShift = await spliced.decode({ tokens: question, positions: range(96, 100), logits: 'last' });
    const reference = await direct.decode({ tokens: question, positions: range(96, 100), logits: 'last' });
    const error = maxAbsDiff(afterShift.logits!, reference.logits!);
    t.diagnostic(`largest logit difference, shifted splice vs evaluated there: ${error.toExponential(2)}`);
    assert.ok(error < 2e-2, `the shifted chunk answers differently by ${error}`);
    await assert.rejects(source.spliceChunk(blob, -1), /below 0/);
    // Trimmed: the blob's first 8 cells are left out (a document's lead, recomputed in place), the rest moved.
    await spliced.removeRange(0, 200);
    await spliced.decode({ tokens: first, positions: range(0, 48), logits: 'none' });
    const trimmed = await spliced.spliceChunk(blob, 40, 8);
    assert.deepEqual([trimmed.posMin, trimmed.posMax, trimmed.cellCount], [48, 87, 40]);
    assert.deepEqual(await spliced.positionRange(), { min: 0, max: 87 });
    assert.deepEqual((await spliced.captureChunk(0, 48)).blob, before, 'trimming leaves the cells below alone');
    await assert.rejects(spliced.spliceChunk(blob, 100, 48), /trim must leave at least one/);
  } finally {
    await Promise.all([source.dispose(), spliced.dispose(), direct.dispose()]);
  }
});

test('a trimmed splice cuts the blob before llama.cpp restores it: the same cells as splicing whole and removing the first, also in a full context', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  for (const flashAttention of [true, false]) {
    const open = (contextSize: number) => model!.createContext({ contextSize, batchSize: 256, flashAttention, threads: TEST_THREADS, typeK: 'f32', typeV: 'f32' });
    const [source, whole, trimmed, full] = await Promise.all([open(CONTEXT_SIZE), open(CONTEXT_SIZE), open(CONTEXT_SIZE), open(256)]);
    try {
      await source.decode({ tokens: randomTokens(48, VOCAB, 31), positions: range(0, 48), logits: 'none' });
      const { blob } = await source.captureChunk(0, 48);
      await whole.spliceChunk(blob, 40);
      await whole.removeRange(40, 48);
      await trimmed.spliceChunk(blob, 40, 8);
      assert.deepEqual((await trimmed.captureChunk(48, 88)).blob, (await whole.captureChunk(48, 88)).blob, `flash attention ${flashAttention}: the same cells`);
      // 216 cells of 256 taken: the 40 kept cells fit, the blob's 48 would not.
      await full.decode({ tokens: randomTokens(216, VOCAB, 32), positions: range(0, 216), logits: 'none' });
      const info = await full.spliceChunk(blob, 208, 8);
      assert.deepEqual([info.posMin, info.posMax, info.cellCount], [216, 255, 40]);
    } finally {
      await Promise.all([source.dispose(), whole.dispose(), trimmed.dispose(), full.dispose()]);
    }
  }
});
