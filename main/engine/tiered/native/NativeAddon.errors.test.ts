// Bad input never takes the process down: bad blobs, bad ranges, a full KV cache and disposed
// objects come back as clear errors, and the context keeps working after each.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DisposedError } from '../../errors.ts';
import { makeRandomModel } from '../../testModels/makeRandomModel.ts';
import { NativeTierError } from './NativeAddon.ts';
import type { NativeTierContext, NativeTierModel } from './NativeAddon.ts';
import { randomTokens, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';
import type { NativeTestSetup } from './nativeTestSupport.ts';

const VOCAB = 400;

let dir = '';
let setup: NativeTestSetup | { skip: string };
let model: NativeTierModel | undefined;

before(async () => {
  setup = await setUpNativeAddon();
  if ('skip' in setup) return;
  dir = await mkdtemp(join(tmpdir(), 'strata-native-errors-'));
  const path = join(dir, 'random-f16.gguf');
  await makeRandomModel(path, { layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: VOCAB, type: 'f16', seed: 5 });
  model = await setup.addon.loadModel(path, { gpuLayers: 0 });
});

after(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function withContext(options: { contextSize?: number; flashAttention?: boolean }, body: (context: NativeTierContext) => Promise<void>): Promise<void> {
  const context = await model!.createContext({ contextSize: options.contextSize ?? 512, flashAttention: options.flashAttention ?? false, threads: TEST_THREADS });
  try {
    await body(context);
  } finally {
    await context.dispose();
  }
}

function isNativeError(code: string, messagePart?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof NativeTierError, `expected a NativeTierError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (messagePart) assert.match(error.message, messagePart);
    return true;
  };
}

test('bad blobs are rejected with a clear message and the context keeps working', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContext({}, async (context) => {
    await context.decode({ tokens: randomTokens(100, VOCAB, 1), positions: range(0, 100), logits: 'none' });
    const { blob } = await context.captureChunk(20, 60);

    await assert.rejects(context.spliceChunk(new Uint8Array(64).fill(7)), isNativeError('BAD_BLOB', /bad magic/));
    await assert.rejects(context.spliceChunk(blob.subarray(0, blob.length - 1)), isNativeError('BAD_BLOB', /truncated/));
    const padded = new Uint8Array(blob.length + 8);
    padded.set(blob);
    await assert.rejects(context.spliceChunk(padded), isNativeError('BAD_BLOB'));
    const hugeCount = blob.slice();
    new DataView(hugeCount.buffer).setUint32(12, 0x7fffffff, true); // cell count
    await assert.rejects(context.spliceChunk(hugeCount), isNativeError('BAD_BLOB'));
    await assert.rejects(context.spliceChunk(new Uint8Array(0)), RangeError);

    assert.deepEqual(await context.positionRange(), { min: 0, max: 99 }, 'failed splices left the context as it was');
    const result = await context.decode({ tokens: [5], positions: [100], logits: 'last' });
    assert.equal(result.logits?.length, VOCAB);
  });
});

test('a blob captured with flash attention on does not splice into a context with it off', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  let blob: Uint8Array = new Uint8Array();
  await withContext({ flashAttention: true }, async (context) => {
    await context.decode({ tokens: randomTokens(50, VOCAB, 2), positions: range(0, 50), logits: 'none' });
    ({ blob } = await context.captureChunk(0, 50));
  });
  assert.equal((setup as NativeTestSetup).addon.describeBlob(blob).flashAttention, true);
  await withContext({ flashAttention: false }, async (context) => {
    await assert.rejects(context.spliceChunk(blob), isNativeError('BAD_BLOB', /flash attention on and this context has it off/));
  });
});

test('ranges must be half-open and non-empty; positions must continue the context', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContext({}, async (context) => {
    await context.decode({ tokens: randomTokens(40, VOCAB, 3), positions: range(0, 40), logits: 'none' });
    await assert.rejects(context.removeRange(10, 10), RangeError);
    await assert.rejects(context.removeRange(20, 10), RangeError);
    await assert.rejects(context.captureChunk(-1, 10), RangeError);
    await assert.rejects(context.captureChunk(1.5, 10), RangeError);
    await assert.rejects(context.captureChunk(100, 200), isNativeError('EMPTY_RANGE'));
    await assert.rejects(context.decode({ tokens: [1, 2], positions: [40], logits: 'none' }), RangeError);
    await assert.rejects(context.decode({ tokens: [VOCAB], positions: [40], logits: 'none' }), RangeError);
    await assert.rejects(context.decode({ tokens: [1, 2], positions: [40, 42], logits: 'none' }), RangeError);
    await assert.rejects(context.decode({ tokens: [1], positions: [45], logits: 'none' }), isNativeError('INVALID_ARGUMENT', /must start at position 40/));
    await assert.rejects(context.decode({ tokens: [1], positions: [40], logits: 'none', capture: { layers: [2] } }), RangeError);
    assert.deepEqual(await context.positionRange(), { min: 0, max: 39 });
  });
});

test('a batch that does not fit is rejected whole: the context holds what it held before', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContext({ contextSize: 256 }, async (context) => {
    const cells = context.info.contextSize;
    await context.decode({ tokens: randomTokens(100, VOCAB, 4), positions: range(0, 100), logits: 'none' });
    await assert.rejects(
      context.decode({ tokens: randomTokens(cells, VOCAB, 5), positions: range(100, 100 + cells), logits: 'none' }),
      isNativeError('KV_FULL'),
    );
    assert.deepEqual(await context.positionRange(), { min: 0, max: 99 });
    await context.decode({ tokens: [1], positions: [100], logits: 'last' });
  });
});

test('calls on one context run one at a time, in order', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await withContext({}, async (context) => {
    const tokens = randomTokens(30, VOCAB, 6);
    const results = await Promise.all([
      context.decode({ tokens: tokens.subarray(0, 10), positions: range(0, 10), logits: 'none' }),
      context.decode({ tokens: tokens.subarray(10, 20), positions: range(10, 20), logits: 'none' }),
      context.captureChunk(0, 20),
      context.removeRange(10, 20),
      context.positionRange(),
    ]);
    assert.equal((results[2] as { cellCount: number }).cellCount, 20);
    assert.deepEqual(results[4], { min: 0, max: 9 });
  });
});

test('disposed contexts and models give DisposedError; dispose is idempotent', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const context = await model!.createContext({ contextSize: 128, flashAttention: false, threads: TEST_THREADS });
  const pending = context.decode({ tokens: randomTokens(20, VOCAB, 7), positions: range(0, 20), logits: 'last' });
  const disposing = [context.dispose(), context.dispose()];
  assert.equal((await pending).logits?.length, VOCAB, 'a call made before dispose() finishes');
  await Promise.all(disposing);
  await context.dispose();
  await assert.rejects(context.decode({ tokens: [1], positions: [20], logits: 'none' }), DisposedError);
  await assert.rejects(context.captureChunk(0, 10), (error: unknown) => error instanceof DisposedError && error.code === 'DISPOSED');

  // A model disposes its contexts.
  const path = join(dir, 'second.gguf');
  await makeRandomModel(path, { layers: 1, embd: 64, heads: 2, kvHeads: 1, headDim: 32, vocab: 300, type: 'f32', seed: 1 });
  const second = await (setup as NativeTestSetup).addon.loadModel(path);
  const child = await second.createContext({ contextSize: 64, flashAttention: false, threads: TEST_THREADS });
  await second.dispose();
  assert.equal(child.disposed, true);
  await assert.rejects(child.removeRange(0, 1), DisposedError);
  await assert.rejects(second.createContext({ contextSize: 64, flashAttention: false }), DisposedError);
  await second.dispose();
});

test('bad options are caught before C++', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  await assert.rejects(model!.createContext({ contextSize: 64, flashAttention: 'auto' as unknown as boolean }), TypeError);
  await assert.rejects(model!.createContext({ contextSize: 0, flashAttention: false }), RangeError);
  await assert.rejects(model!.createContext({ contextSize: 64, flashAttention: false, sequenceCount: 1 }), RangeError);
  await assert.rejects(model!.createContext({ contextSize: 64, flashAttention: false, typeV: 'q8_0' }), RangeError);
  await assert.rejects(model!.createContext({ contextSize: 64, flashAttention: false, typeK: 'q3' as never }), RangeError);
  const { addon } = setup as NativeTestSetup;
  await assert.rejects(addon.loadModel(join(dir, 'missing.gguf')), isNativeError('LOAD_FAILED'));
  await assert.rejects(addon.initialize('/somewhere/else'), RangeError);
  assert.throws(() => addon.describeBlob(new Uint8Array(3)), isNativeError('BAD_BLOB'));
});
