// KV cache types (issue 8): f16, q8_0 and q4_0 in both engines. At full budget the tiered engine gives
// the standard engine's greedy answer in the same type; the blobs shrink with the type (measured bytes
// per token, and GPU-tier tokens per GiB, in the metrics); under a small budget the needle answers stay
// right, so the abstracts (from the captured post-RoPE keys) still rank chunks correctly.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import type { KvCacheType } from './engineTypes.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { tempDir } from '../test/tempDir.ts';
import { DEFAULT_SETTINGS } from './settings/engineSettings.ts';
import { StandardEngine } from './standard/StandardEngine.ts';
import { ensureTestModel } from './testModels/cli.ts';
import { makeHaystack, needleQuestion } from './testModels/haystack.ts';
import { makeRandomModel } from './testModels/makeRandomModel.ts';
import { documentRow } from './tiered/testSupport.ts';
import { TieredEngine } from './tiered/TieredEngine.ts';

const TYPES: KvCacheType[] = ['f16', 'q8_0', 'q4_0'];

function tieredEngine(t: import('node:test').TestContext, dir: string, settings: Partial<typeof DEFAULT_SETTINGS>) {
  const catalog = new Catalog(join(dir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir: dir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse: 'exact', ...settings }) });
  t.after(async () => {
    await engine.dispose();
    catalog.dispose();
  });
  return { engine, catalog };
}

test('each KV cache type: tiered at full budget equals standard of the same type; blob bytes shrink with the type', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const modelPath = join(dir, 'model.gguf');
  await makeRandomModel(modelPath, { layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: 400, type: 'f32', seed: 14 });
  const text = 'the tenant pays rent on the first day of each month, and the lease ends in march. '.repeat(25);
  const question = 'when does the lease end';
  const bytesPerToken: Record<string, number> = {};
  const tokensPerGiB: Record<string, number> = {};
  for (const kvCacheType of TYPES) {
    const standard = new StandardEngine({ kvCacheType: () => kvCacheType });
    const standardModel = await standard.openModel(modelPath);
    const sc = standardModel.createConversation();
    sc.setDocuments([{ id: 'd', text }]);
    const fromStandard = await sc.ask(question, { maxTokens: 12 });
    await standard.dispose();

    const { engine, catalog } = tieredEngine(t, join(dir, kvCacheType), { gpuBudgetTokens: 4096, kvCacheType });
    const model = await engine.openModel(modelPath);
    const conversation = model.createConversation();
    conversation.setDocuments([{ id: documentRow(catalog, text).id, text }]);
    const fromTiered = await conversation.ask(question, { maxTokens: 12 });
    assert.equal(fromTiered.text, fromStandard.text, `${kvCacheType}: same greedy answer`);
    assert.equal(fromTiered.metrics.tiered!.kvCacheType, kvCacheType);
    bytesPerToken[kvCacheType] = fromTiered.metrics.tiered!.blobBytesPerToken;
    tokensPerGiB[kvCacheType] = fromTiered.metrics.tiered!.gpuTierTokensPerGiB;
  }
  t.diagnostic(`blob bytes per token: ${TYPES.map((k) => `${k} ${bytesPerToken[k].toFixed(1)}`).join(', ')}; GPU-tier tokens per GiB: ${TYPES.map((k) => `${k} ${tokensPerGiB[k]}`).join(', ')}`);
  assert.ok(bytesPerToken.q8_0 < bytesPerToken.f16 * 0.6, 'q8_0 blobs are about half');
  assert.ok(bytesPerToken.q4_0 < bytesPerToken.f16 * 0.35, 'q4_0 blobs are about a quarter');
  assert.ok(tokensPerGiB.q4_0 > tokensPerGiB.q8_0 && tokensPerGiB.q8_0 > tokensPerGiB.f16);
});

for (const kvCacheType of ['q8_0', 'q4_0'] as const) {
  test(`${kvCacheType}: needles of a 4K-token document under a 512-token budget are answered (abstracts still rank chunks)`, { timeout: 300_000 }, async (t) => {
    const modelPath = await ensureTestModel('needle');
    const hay = makeHaystack({ wordCount: 4000, seed: 33, needles: [0.1, 0.3, 0.5, 0.7, 0.9].map((depth) => ({ depth })) });
    const { engine, catalog } = tieredEngine(t, tempDir(t), { gpuBudgetTokens: 512, kvCacheType });
    const model = await engine.openModel(modelPath);
    const conversation = model.createConversation();
    conversation.setDocuments([{ id: documentRow(catalog, hay.text).id, text: hay.text }]);
    let right = 0;
    for (const needle of hay.needles) {
      conversation.setHistory([]);
      const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 });
      if (result.text.trim() === needle.values.join(' ')) right++;
    }
    t.diagnostic(`${kvCacheType}, 512-token budget: ${right}/${hay.needles.length} needles`);
    assert.ok(right / hay.needles.length >= 0.95);
  });
}

test('a quantized KV cache without flash attention is refused with a clear error', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const modelPath = join(dir, 'model.gguf');
  await makeRandomModel(modelPath, { layers: 1, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 300, type: 'f32', seed: 1 });
  const standard = new StandardEngine({ flashAttention: false, kvCacheType: () => 'q8_0' });
  t.after(() => standard.dispose());
  await assert.rejects(standard.openModel(modelPath), { code: 'INVALID_SETTING', message: /flash attention/ });
});
