// Documents longer than the model (issue 8): past the trained context the chunks chosen for an answer
// are moved to compact positions (llama_memory_seq_add), so no query attends farther than the model
// was trained for. A needle model whose metadata says 16K tokens answers the needles of a 128K-token
// document under a 2,048-token budget, with every attention distance under 16,384; inside the trained
// context nothing moves (the exactness tests cover that the answers are then unchanged).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { Catalog } from '../../catalog/Catalog.ts';
import { tempDir } from '../../test/tempDir.ts';
import { DEFAULT_SETTINGS } from '../settings/engineSettings.ts';
import { makeHaystack, needleQuestion } from '../testModels/haystack.ts';
import { makeNeedleModel } from '../testModels/makeNeedleModel.ts';
import { documentRow } from './testSupport.ts';
import { tieredEngineUnavailableReason, TieredEngine } from './TieredEngine.ts';

const unavailable = tieredEngineUnavailableReason();
const skip = unavailable === null ? false : `tiered engine unavailable: ${unavailable}`;
const TRAINED = 16_384;

async function openNeedle(t: TestContext, contextLength: number, gpuBudgetTokens: number) {
  const dir = tempDir(t);
  const modelPath = join(dir, 'needle-16k.gguf');
  await makeNeedleModel(modelPath, { contextLength });
  const catalog = new Catalog(join(dir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir: dir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, gpuBudgetTokens }) });
  t.after(async () => {
    await engine.dispose();
    catalog.dispose();
  });
  const model = await engine.openModel(modelPath);
  return { catalog, model };
}

test('a 128K-token document on a 16K-token model: needles answered under a 2,048 budget, no attention distance past 16,384', { skip, timeout: 900_000 }, async (t) => {
  const depths = Array.from({ length: 20 }, (_, i) => 0.02 + (0.96 * i) / 19);
  const hay = makeHaystack({ wordCount: 128_000, seed: 41, needles: depths.map((depth) => ({ depth })) });
  const { catalog, model } = await openNeedle(t, TRAINED, 2048);
  assert.equal(model.info.trainContextTokens, TRAINED);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: documentRow(catalog, hay.text).id, text: hay.text }]);
  let right = 0;
  let farthest = 0;
  let highest = 0;
  const started = performance.now();
  for (const needle of hay.needles) {
    conversation.setHistory([]);
    const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 });
    const tiered = result.metrics.tiered!;
    assert.equal(tiered.compactPositions, true);
    farthest = Math.max(farthest, result.metrics.maxAttentionDistance);
    highest = Math.max(highest, result.metrics.maxPositionUsed);
    if (result.text.trim() === needle.values.join(' ')) right++;
    else t.diagnostic(`${needle.key} at depth ${needle.depth.toFixed(2)}: expected "${needle.values.join(' ')}", got "${result.text.trim()}"`);
  }
  t.diagnostic(`128K tokens, trained 16,384, budget 2,048: ${right}/${hay.needles.length} needles; farthest attention ${farthest}, highest position ${highest}; ${((performance.now() - started) / 1000).toFixed(0)} s with the read`);
  assert.ok(right / hay.needles.length >= 0.95, `${right}/${hay.needles.length} needles`);
  assert.ok(farthest < TRAINED, `a query attended ${farthest} positions back`);
});

test('inside the trained context nothing moves: positions are the stored ones', { skip, timeout: 300_000 }, async (t) => {
  const hay = makeHaystack({ wordCount: 8000, seed: 42, needles: [0.2, 0.5, 0.8].map((depth) => ({ depth })) });
  const { catalog, model } = await openNeedle(t, TRAINED, 1024);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: documentRow(catalog, hay.text).id, text: hay.text }]);
  for (const needle of hay.needles) {
    conversation.setHistory([]);
    const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 });
    assert.equal(result.text.trim(), needle.values.join(' '));
    assert.equal(result.metrics.tiered!.compactPositions, false);
    assert.ok(result.metrics.maxPositionUsed >= 8000, 'the question sits after the whole document');
  }
});
