// BOS follows the model's metadata in both engines (issue 8): a model whose tokenizer says
// add_bos_token = false (Qwen2, Qwen3, Phi-3 GGUFs) gets no BOS from either, the prompt counts only
// what is evaluated, and the tiered engine at full budget gives the standard engine's greedy answer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { Catalog } from '../catalog/Catalog.ts';
import { tempDir } from '../test/tempDir.ts';
import { DEFAULT_SETTINGS } from './settings/engineSettings.ts';
import { StandardEngine } from './standard/StandardEngine.ts';
import { makeRandomModel } from './testModels/makeRandomModel.ts';
import { documentRow } from './tiered/testSupport.ts';
import { TieredEngine } from './tiered/TieredEngine.ts';
import { getLlamaRuntime } from './llamaRuntime.ts';

for (const addBosToken of [false, true]) {
  test(`add_bos_token = ${addBosToken}: both engines lay out the same raw prompt and give the same greedy tokens`, { timeout: 180_000 }, async (t) => {
    const dir = tempDir(t);
    const modelPath = join(dir, 'model.gguf');
    await makeRandomModel(modelPath, { layers: 2, embd: 64, heads: 4, kvHeads: 2, headDim: 16, vocab: 400, type: 'f32', seed: 12, addBosToken });
    const vocab = await (await getLlamaRuntime()).loadModel({ modelPath, vocabOnly: true });
    t.after(() => vocab.dispose());
    assert.equal(vocab.tokens.shouldPrependBosToken, addBosToken, 'the metadata says so');

    const text = 'the tenant pays rent on the first day of each month. '.repeat(30);
    const question = 'when is rent paid';
    const textTokens = vocab.tokenize(`${text}\n${question}`).length;
    const standard = new StandardEngine();
    t.after(() => standard.dispose());
    const standardModel = await standard.openModel(modelPath);
    const standardConversation = standardModel.createConversation();
    standardConversation.setDocuments([{ id: 'd', text }]);
    const fromStandard = await standardConversation.ask(question, { maxTokens: 12 });
    await standardModel.dispose();

    const catalog = new Catalog(join(dir, 'catalog.sqlite'));
    const tiered = new TieredEngine({ dataDir: dir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse: 'exact', gpuBudgetTokens: 4096 }) });
    t.after(async () => {
      await tiered.dispose();
      catalog.dispose();
    });
    const tieredModel = await tiered.openModel(modelPath);
    const conversation = tieredModel.createConversation();
    conversation.setDocuments([{ id: documentRow(catalog, text).id, text }]);
    const fromTiered = await conversation.ask(question, { maxTokens: 12 });

    const expected = textTokens + (addBosToken ? 1 : 0);
    assert.equal(fromStandard.metrics.promptTokens, expected, 'the standard engine counts only what it evaluates');
    assert.equal(fromTiered.metrics.promptTokens, expected, 'the tiered engine lays out the same tokens');
    assert.equal(fromTiered.text, fromStandard.text, 'same greedy answer');
    assert.ok(fromStandard.metrics.generatedTokens > 0);
  });
}
