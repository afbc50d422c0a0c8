// The rotation compact positions rely on, checked against llama.cpp itself: queries captured at
// positions p, rotated by Δ, are the queries llama.cpp computes at p + Δ (norm and neox RoPE, a
// frequency base, per-pair frequency factors); and cells moved by Δ with shiftRange answer like
// cells evaluated at p + Δ in the first place.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../../test/tempDir.ts';
import { ensureTestModel } from '../../testModels/cli.ts';
import { makeArchModel } from '../../testModels/architectures/index.ts';
import { maxAbsDiff, randomTokens, range, setUpNativeAddon, TEST_THREADS } from '../native/nativeTestSupport.ts';
import { readRopeSpec, rotateByPositions } from './ropeRotation.ts';

const setup = await setUpNativeAddon();
const skip = 'skip' in setup ? setup.skip : false;

async function modelPath(t: import('node:test').TestContext, kind: string): Promise<string> {
  if (kind === 'needle') return ensureTestModel('needle');
  const path = join(tempDir(t), `${kind}.gguf`);
  await makeArchModel(path, { arch: kind, seed: 3, vocab: 400 });
  return path;
}

for (const kind of ['llama', 'qwen2', 'needle']) {
  test(`${kind}: captured queries rotated by Δ are llama.cpp's queries Δ positions later; shifted cells answer as if evaluated there`, { skip, timeout: 120_000 }, async (t) => {
    if ('skip' in setup) return;
    const path = await modelPath(t, kind);
    const model = await setup.addon.loadModel(path, { gpuLayers: 0 });
    t.after(() => model.dispose());
    const { info } = model;
    const spec = await readRopeSpec(path, info.ropeType, info.headDimK);
    assert.ok(spec, `${kind} has a plain RoPE`);
    assert.equal(spec.kind, kind === 'qwen2' ? 'neox' : 'norm');
    const layer = info.layerCount - 1;
    const tokens = randomTokens(48, info.vocabSize, 7, 3);
    const question = randomTokens(4, info.vocabSize, 9, 3);
    const capture = { layers: [layer], queries: true };
    const at = async (start: number) => {
      const context = await model.createContext({ contextSize: 256, flashAttention: false, threads: TEST_THREADS });
      try {
        const result = await context.decode({ tokens, positions: range(start, start + tokens.length), logits: 'last', capture });
        return { queries: result.captures![0]!.queries!, logits: result.logits! };
      } finally {
        await context.dispose();
      }
    };
    const DELTA = -9000;
    const far = await at(20_000);
    const near = await at(20_000 + DELTA);
    const rotated = rotateByPositions(far.queries, info.headDimK, spec, DELTA);
    const scale = Math.max(...near.queries.map(Math.abs));
    const error = maxAbsDiff(rotated, near.queries) / scale;
    t.diagnostic(`${kind}: max |rotate(Q(p), Δ) − Q(p+Δ)| / max|Q| = ${error.toExponential(2)} (unrotated: ${(maxAbsDiff(far.queries, near.queries) / scale).toExponential(2)})`);
    assert.ok(error < 5e-4, `rotation differs from llama.cpp's by ${error}`);

    // Evaluate at p, shift by Δ, ask; against evaluating at p + Δ and asking.
    const shifted = await model.createContext({ contextSize: 256, flashAttention: false, threads: TEST_THREADS });
    const direct = await model.createContext({ contextSize: 256, flashAttention: false, threads: TEST_THREADS });
    t.after(async () => {
      await shifted.dispose();
      await direct.dispose();
    });
    assert.equal(await shifted.canShift(), true);
    await shifted.decode({ tokens, positions: range(20_000, 20_048), logits: 'none' });
    await shifted.shiftRange(20_000, 20_048, DELTA);
    assert.deepEqual(await shifted.positionRange(), { min: 20_000 + DELTA, max: 20_047 + DELTA });
    const afterShift = await shifted.decode({ tokens: question, positions: range(20_048 + DELTA, 20_052 + DELTA), logits: 'last' });
    await direct.decode({ tokens, positions: range(20_000 + DELTA, 20_048 + DELTA), logits: 'none' });
    const reference = await direct.decode({ tokens: question, positions: range(20_048 + DELTA, 20_052 + DELTA), logits: 'last' });
    const logitError = maxAbsDiff(afterShift.logits!, reference.logits!);
    t.diagnostic(`${kind}: largest logit difference, shifted cells vs cells evaluated there: ${logitError.toExponential(2)}`);
    assert.ok(logitError < 2e-2, `shifted cells answer differently by ${logitError}`);
  });
}
