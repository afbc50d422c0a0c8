// Decode options that change where work happens, not what comes out: logits 'argmax' picks in C++ the
// token sampleToken would pick from the 'last' row, and offloadKqv: false gives the default's logits.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTestModel } from '../../testModels/cli.ts';
import { makeRandomModel } from '../../testModels/makeRandomModel.ts';
import { sampleToken } from '../sampleToken.ts';
import type { NativeTierContext, NativeTierModel, TierContextOptions } from './NativeAddon.ts';
import { maxAbsDiff, randomTokens, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';
import type { NativeTestSetup } from './nativeTestSupport.ts';

const VOCAB = 500;

let dir = '';
let setup: NativeTestSetup | { skip: string };
let model: NativeTierModel | undefined;

before(async () => {
  setup = await setUpNativeAddon();
  if ('skip' in setup) return;
  dir = await mkdtemp(join(tmpdir(), 'strata-native-decode-'));
  const path = join(dir, 'random-f32.gguf');
  await makeRandomModel(path, { layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: VOCAB, type: 'f32', seed: 11 });
  model = await setup.addon.loadModel(path, { gpuLayers: 0 });
});

after(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function withContexts(on: NativeTierModel, options: Array<Partial<TierContextOptions>>, body: (contexts: NativeTierContext[]) => Promise<void>): Promise<void> {
  const contexts = await Promise.all(options.map((o) => on.createContext({ contextSize: 512, batchSize: 64, flashAttention: false, threads: TEST_THREADS, ...o })));
  try {
    await body(contexts);
  } finally {
    await Promise.all(contexts.map((context) => context.dispose()));
  }
}

test("logits 'argmax' is the token sampleToken picks from the 'last' row, without the row", async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContexts(model!, [{}, {}], async ([rows, argmax]) => {
    // 150 tokens in batches of 64: the argmax is taken after the last piece only.
    const prompt = randomTokens(150, VOCAB, 3);
    let position = 0;
    let request = { tokens: prompt, positions: range(0, prompt.length) };
    const picked: number[] = [];
    for (let step = 0; step < 8; step++) {
      const full = await rows!.decode({ ...request, logits: 'last' });
      const fast = await argmax!.decode({ ...request, logits: 'argmax' });
      assert.equal(full.argmax, null, "'last' has no argmax");
      assert.equal(fast.logits, null, "'argmax' copies no logits");
      assert.equal(fast.logitRows, 0);
      const expected = sampleToken(full.logits!, VOCAB, 0);
      assert.equal(fast.argmax, expected, `step ${step}`);
      picked.push(expected);
      position += request.tokens.length;
      request = { tokens: Int32Array.of(expected), positions: Int32Array.of(position) };
    }
    assert.ok(new Set(picked).size > 1, `a greedy run that moves: ${picked.join(' ')}`);
  });
});

test("logits 'argmax' breaks ties towards the lowest token id, as sampleToken does", async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  // The needle model's logits are exactly 0 for every token it was not built to predict, so away from
  // a needle the whole vocabulary ties.
  const needle = await (setup as NativeTestSetup).addon.loadModel(await ensureTestModel('needle'));
  try {
    await withContexts(needle, [{}, {}], async ([rows, argmax]) => {
      const tokens = [1, 5, 9, 20];
      const full = await rows!.decode({ tokens, positions: range(0, 4), logits: 'last' });
      const fast = await argmax!.decode({ tokens, positions: range(0, 4), logits: 'argmax' });
      const row = full.logits!;
      const best = Math.max(...row);
      assert.ok(row.filter((value) => value === best).length > 1, 'the row has ties');
      assert.equal(fast.argmax, sampleToken(row, needle.info.vocabSize, 0));
      assert.equal(fast.argmax, row.indexOf(best));
    });
  } finally {
    await needle.dispose();
  }
});

test('offloadKqv: false decodes the same logits as the default on the CPU', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContexts(model!, [{}, { offloadKqv: false }], async ([offloaded, host]) => {
    const tokens = randomTokens(100, VOCAB, 4);
    const a = await offloaded!.decode({ tokens, positions: range(0, 100), logits: 'all' });
    const b = await host!.decode({ tokens, positions: range(0, 100), logits: 'all' });
    assert.equal(maxAbsDiff(a.logits!, b.logits!), 0);
    // And it keeps working after a capture and splice round trip, which go through the KV cache.
    const { blob } = await host!.captureChunk(0, 100);
    await host!.removeRange(0, 100);
    await host!.spliceChunk(blob);
    const next = await host!.decode({ tokens: [7], positions: [100], logits: 'last' });
    const reference = await offloaded!.decode({ tokens: [7], positions: [100], logits: 'last' });
    assert.equal(maxAbsDiff(next.logits!, reference.logits!), 0);
  });
  await assert.rejects(model!.createContext({ contextSize: 64, flashAttention: false, offloadKqv: 'no' as unknown as boolean }), TypeError);
});

test('a bad logits mode is a TypeError', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContexts(model!, [{}], async ([context]) => {
    await assert.rejects(context!.decode({ tokens: [1], positions: [0], logits: 'max' as never }), (error: unknown) => error instanceof TypeError && /'none', 'last', 'all' or 'argmax'/.test(error.message));
  });
});

test('decodeGreedy: the tokens, cells and keys of as many one-token argmax decodes, and it stops after an end-of-generation token', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const prompt = randomTokens(120, VOCAB, 5);
  const expected: number[] = [];
  let expectedStop: number | undefined;
  await withContexts(model!, [{}, {}], async ([stepwise, run]) => {
    const capture = { layers: [1], keys: true };
    const first = await stepwise!.decode({ tokens: prompt, positions: range(0, 120), logits: 'argmax' });
    await run!.decode({ tokens: prompt, positions: range(0, 120), logits: 'argmax' });
    const expectedKeys: Float32Array[] = [];
    let token = first.argmax!;
    for (let i = 0; i < 30; i++) {
      const step = await stepwise!.decode({ tokens: [token], positions: [120 + i], logits: 'argmax', capture });
      expectedKeys.push(step.captures![0]!.keys!);
      token = step.argmax!;
      expected.push(token);
    }
    expectedStop = expected[6];
    // Two runs (12 + 18 steps) continue each other exactly like the 30 steps.
    const a = await run!.decodeGreedy({ token: first.argmax!, position: 120, maxSteps: 12, capture });
    const b = await run!.decodeGreedy({ token: a.tokens.at(-1)!, position: 132, maxSteps: 18, capture });
    assert.deepEqual([...a.tokens, ...b.tokens], expected);
    assert.deepEqual(await run!.positionRange(), await stepwise!.positionRange(), 'one cell per decoded token');
    const keys = (r: typeof a) => r.captures![0]!.keys!;
    const joined = new Float32Array([...keys(a), ...keys(b)]);
    assert.equal(maxAbsDiff(joined, new Float32Array(expectedKeys.flatMap((k) => [...k]))), 0, 'the same keys, token after token');
    const next = await run!.decode({ tokens: [expected.at(-1)!], positions: [150], logits: 'last' });
    const reference = await stepwise!.decode({ tokens: [expected.at(-1)!], positions: [150], logits: 'last' });
    assert.equal(maxAbsDiff(next.logits!, reference.logits!), 0, 'the same cache after the run');
  });
  // An end-of-generation token ends the run and is not decoded: the same weights, with the token the
  // steps above predicted at step 6 declared the end token.
  const stopAt = expected.indexOf(expectedStop!);
  const endPath = join(dir, 'random-f32-eos.gguf');
  await makeRandomModel(endPath, { layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: VOCAB, type: 'f32', seed: 11, eosTokenId: expectedStop! });
  const ending = await (setup as NativeTestSetup).addon.loadModel(endPath, { gpuLayers: 0 });
  try {
    assert.equal(ending.info.eosToken, expectedStop);
    await withContexts(ending, [{}], async ([context]) => {
      const first = await context!.decode({ tokens: prompt, positions: range(0, 120), logits: 'argmax' });
      const run = await context!.decodeGreedy({ token: first.argmax!, position: 120, maxSteps: 30 });
      assert.deepEqual([...run.tokens], expected.slice(0, stopAt + 1), 'the run ends with the end token');
      assert.equal((await context!.positionRange()).max, 120 + stopAt, 'the end token is not decoded');
    });
  } finally {
    await ending.dispose();
  }
  await withContexts(model!, [{}], async ([context]) => {
    await context!.decode({ tokens: [5, 6, 7], positions: [0, 1, 2], logits: 'none' });
    await assert.rejects(context!.decodeGreedy({ token: 1, position: 5, maxSteps: 2 }), /must start at position 3/);
    await assert.rejects(context!.decodeGreedy({ token: 1, position: 0, maxSteps: 0 }), RangeError);
  });
});
