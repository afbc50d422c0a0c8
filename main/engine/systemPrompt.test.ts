// The user's own instructions (the systemPrompt setting) sit after the documents in every prompt, in
// both engines: the tiered engine at full budget answers what the standard engine answers with the
// same instructions, and changing or removing them never reads the documents again.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { Catalog } from '../catalog/Catalog.ts';
import { tempDir } from '../test/tempDir.ts';
import { mergeSettings, DEFAULT_SETTINGS } from './settings/engineSettings.ts';
import { StandardEngine } from './standard/StandardEngine.ts';
import { makeArchModel } from './testModels/architectures/index.ts';
import { documentRow } from './tiered/testSupport.ts';
import { TieredEngine } from './tiered/TieredEngine.ts';

const TEXT = 'the tenant pays rent on the first day of each month and the lease ends in march after sixty days of notice. '.repeat(10);
const QUESTION = 'when does the lease end';
const MAX_TOKENS = 8;

function whole(text: string): string {
  return text.replace(/\uFFFD+$/u, '');
}

for (const template of ['qwen2.5', null] as const) {
  test(`${template ?? 'raw completion'}: instructions after the documents; tiered equals standard with each; changing them reads no document token`, { timeout: 240_000 }, async (t) => {
    const dir = tempDir(t);
    const modelPath = join(dir, 'model.gguf');
    await makeArchModel(modelPath, { arch: 'qwen2', ...(template ? { chatTemplate: template } : {}), seed: 9, vocab: 600 });

    const standard = new StandardEngine({ flashAttention: false });
    t.after(() => standard.dispose());
    const standardModel = await standard.openModel(modelPath);
    const standardAnswer = async (instructions: string | null) => {
      const conversation = standardModel.createConversation();
      conversation.setDocuments([{ id: 'd', text: TEXT }]);
      conversation.setInstructions(instructions);
      const result = await conversation.ask(QUESTION, { maxTokens: MAX_TOKENS });
      await conversation.dispose();
      return result;
    };

    const catalog = new Catalog(join(dir, 'catalog.sqlite'));
    const engine = new TieredEngine({ dataDir: dir, catalog, flashAttention: false, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse: 'exact', gpuBudgetTokens: 4096 }) });
    t.after(async () => {
      await engine.dispose();
      catalog.dispose();
    });
    const documentId = documentRow(catalog, TEXT).id;
    const model = await engine.openModel(modelPath);

    const cases: Array<string | null> = [null, 'Answer in one short sentence.', 'Reply in French, formally.', null];
    let promptTokensWithout = 0;
    for (const [i, instructions] of cases.entries()) {
      // A new conversation each time: only the documents' KV can be reused.
      const conversation = model.createConversation();
      conversation.setDocuments([{ id: documentId, text: TEXT }]);
      conversation.setInstructions(instructions);
      const tiered = await conversation.ask(QUESTION, { maxTokens: MAX_TOKENS });
      await conversation.dispose();
      const expected = await standardAnswer(instructions);
      const n = Math.min(whole(tiered.text).length, whole(expected.text).length);
      assert.equal(whole(tiered.text).slice(0, n), whole(expected.text).slice(0, n), `instructions ${JSON.stringify(instructions)}: the standard engine's answer`);
      assert.equal(tiered.metrics.promptTokens, expected.metrics.promptTokens, 'the same prompt in both engines');
      if (instructions === null) promptTokensWithout = tiered.metrics.promptTokens;
      else assert.ok(tiered.metrics.promptTokens > promptTokensWithout + 4, `the instructions are in the prompt (${tiered.metrics.promptTokens} vs ${promptTokensWithout} tokens)`);
      const read = tiered.metrics.tiered!.documentTokensEvaluated;
      if (i === 0) assert.ok(read > 100, `the first question reads the document (${read} tokens)`);
      else assert.equal(read, 0, `instructions ${JSON.stringify(instructions)}: the document is not read again`);
      t.diagnostic(`${JSON.stringify(instructions)}: ${tiered.metrics.promptTokens} prompt tokens, ${tiered.metrics.evaluatedPromptTokens} evaluated, document tokens read ${read}`);
    }
  });
}

test('systemPrompt is text up to 8,000 characters or null; blank is null', () => {
  assert.equal(mergeSettings(DEFAULT_SETTINGS, { systemPrompt: '   ' }).systemPrompt, null);
  assert.equal(mergeSettings(DEFAULT_SETTINGS, { systemPrompt: 'Be brief.' }).systemPrompt, 'Be brief.');
  assert.throws(() => mergeSettings(DEFAULT_SETTINGS, { systemPrompt: 'x'.repeat(8001) }), /at most 8,000/);
  assert.throws(() => mergeSettings(DEFAULT_SETTINGS, { systemPrompt: 42 as never }), /text or null/);
});
