// The chat templates people's models ship (issue 8), embedded in random-weight models: Llama 3.1 (its
// date preamble), ChatML (Qwen 2.5), Qwen3 with thinking, Mistral [INST] (the system message inside
// the last user turn), Gemma (no system role) and Phi-3. Over a 4-turn conversation the tiered engine
// at full budget answers what the standard engine answers, and the documents are read once: not
// again on later turns, after a restart, or on another day.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { EngineTurn } from './Engine.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { tempDir } from '../test/tempDir.ts';
import { DEFAULT_SETTINGS } from './settings/engineSettings.ts';
import type { KvReuse } from './engineTypes.ts';
import { StandardEngine } from './standard/StandardEngine.ts';
import { makeArchModel } from './testModels/architectures/index.ts';
import { documentRow } from './tiered/testSupport.ts';
import { TieredEngine } from './tiered/TieredEngine.ts';

const CASES: Array<{ template: string; arch: string }> = [
  { template: 'llama3.1', arch: 'llama' },
  { template: 'qwen2.5', arch: 'qwen2' },
  { template: 'qwen3', arch: 'qwen3' },
  { template: 'mistral', arch: 'mistral' },
  // Gemma's own architecture uses sliding windows (standard engine only): its template on llama weights.
  { template: 'gemma', arch: 'llama' },
  { template: 'phi3', arch: 'phi3' },
];
const TEXT = 'the tenant pays rent on the first day of each month and the lease ends in march after sixty days of notice. '.repeat(10);
const QUESTIONS = ['when does the lease end', 'who pays the rent', 'how much notice is needed', 'what happens in march', 'is there a deposit'];
const MAX_TOKENS = 8;

/** Equal where both are whole characters (node-llama-cpp holds back or completes a cut character). */
function assertSameText(actual: string, expected: string, message: string): void {
  const whole = (text: string) => text.replace(/\uFFFD+$/u, '');
  const n = Math.min(whole(actual).length, whole(expected).length);
  assert.equal(whole(actual).slice(0, n), whole(expected).slice(0, n), message);
}

function tiered(t: TestContext, dataDir: string, kvReuse: KvReuse = 'exact') {
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir, catalog, flashAttention: false, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse, gpuBudgetTokens: 4096 }) });
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await engine.dispose();
    catalog.dispose();
  };
  t.after(dispose);
  return { catalog, engine, dispose };
}

for (const { template, arch } of CASES) {
  test(`${template} template (${arch}): tiered equals standard over 4 turns; the documents are read once across turns, a restart and a new day`, { timeout: 240_000 }, async (t) => {
    const dir = tempDir(t);
    const modelPath = join(dir, `${template}.gguf`);
    await makeArchModel(modelPath, { arch, chatTemplate: template, seed: 8, vocab: 600 });

    const standard = new StandardEngine({ flashAttention: false });
    t.after(() => standard.dispose());
    const standardModel = await standard.openModel(modelPath);
    const standardAnswers: string[] = [];
    const history: EngineTurn[] = [];
    for (const question of QUESTIONS) {
      const conversation = standardModel.createConversation();
      conversation.setDocuments([{ id: 'd', text: TEXT }]);
      conversation.setHistory(history);
      const { text } = await conversation.ask(question, { maxTokens: MAX_TOKENS });
      await conversation.dispose();
      standardAnswers.push(text);
      history.push({ role: 'user', text: question }, { role: 'assistant', text });
    }

    const dataDir = join(dir, 'data');
    const first = tiered(t, dataDir);
    const documentId = documentRow(first.catalog, TEXT).id;
    const conversationId = first.catalog.createConversation('lease', [documentId]).id;
    const model = await first.engine.openModel(modelPath);
    assert.equal(model.info.hasChatTemplate, true);
    const conversation = model.createConversation({ id: conversationId });
    conversation.setDocuments([{ id: documentId, text: TEXT }]);
    const turns: EngineTurn[] = [];
    for (const [i, question] of QUESTIONS.slice(0, 4).entries()) {
      conversation.setHistory(turns);
      const result = await conversation.ask(question, { maxTokens: MAX_TOKENS });
      assertSameText(result.text, standardAnswers[i], `turn ${i + 1}: the standard engine's answer`);
      const read = result.metrics.tiered!.documentTokensEvaluated;
      if (i === 0) assert.ok(read > 100, `the first question reads the document (${read} tokens)`);
      else assert.equal(read, 0, `turn ${i + 1} reads no document token again`);
      assert.ok(i === 0 || result.metrics.evaluatedPromptTokens < 40, `turn ${i + 1} evaluates ${result.metrics.evaluatedPromptTokens} prompt tokens: its question and the last turn's end`);
      // What the app stores: the answer as the standard engine would have it (whole characters).
      turns.push({ role: 'user', text: question }, { role: 'assistant', text: standardAnswers[i] });
    }
    await conversation.dispose();
    await first.dispose();

    // A restart, a month later: the prefix is the same tokens (no "Today Date" in it), so nothing is read again.
    t.mock.timers.enable({ apis: ['Date'], now: new Date('2027-01-15T09:00:00Z').getTime() });
    const second = tiered(t, dataDir);
    const again = (await second.engine.openModel(modelPath)).createConversation({ id: conversationId });
    again.setDocuments([{ id: documentId, text: TEXT }]);
    again.setHistory(turns);
    const fifth = await again.ask(QUESTIONS[4], { maxTokens: MAX_TOKENS });
    t.mock.timers.reset();
    assertSameText(fifth.text, standardAnswers[4], 'after the restart: the standard engine\'s answer');
    assert.equal(fifth.metrics.tiered!.documentTokensEvaluated, 0, 'the document is not read again after a restart on another day');
    assert.ok(fifth.metrics.evaluatedPromptTokens < 40, `the stored turns come back: ${fifth.metrics.evaluatedPromptTokens} prompt tokens evaluated`);
    t.diagnostic(`${template}: answers ${JSON.stringify(standardAnswers.slice(0, 2))}…; after restart ${fifth.metrics.evaluatedPromptTokens} prompt tokens evaluated`);
    await again.dispose();
  });

  test(`${template} template (${arch}), library mode: the prompt is composed around the document; it is read once across turns, a restart and a new day`, { timeout: 240_000 }, async (t) => {
    const dir = tempDir(t);
    const modelPath = join(dir, `${template}.gguf`);
    await makeArchModel(modelPath, { arch, chatTemplate: template, seed: 8, vocab: 600 });
    const dataDir = join(dir, 'data');
    const first = tiered(t, dataDir, 'library');
    const documentId = documentRow(first.catalog, TEXT).id;
    const conversationId = first.catalog.createConversation('lease', [documentId]).id;
    const conversation = (await first.engine.openModel(modelPath)).createConversation({ id: conversationId });
    conversation.setDocuments([{ id: documentId, text: TEXT }]);
    const turns: EngineTurn[] = [];
    for (const [i, question] of QUESTIONS.slice(0, 4).entries()) {
      conversation.setHistory(turns);
      const result = await conversation.ask(question, { maxTokens: MAX_TOKENS });
      assert.equal(result.metrics.tiered!.kvReuse, 'library', `${template}'s template composes`);
      const read = result.metrics.tiered!.documentTokensEvaluated;
      if (i === 0) assert.ok(read > 100, `the first question reads the document (${read} tokens)`);
      else assert.equal(read, 0, `turn ${i + 1} reads no document token again`);
      assert.ok(i === 0 || result.metrics.evaluatedPromptTokens < 40, `turn ${i + 1} evaluates ${result.metrics.evaluatedPromptTokens} prompt tokens`);
      turns.push({ role: 'user', text: question }, { role: 'assistant', text: result.text });
    }
    await conversation.dispose();
    await first.dispose();

    t.mock.timers.enable({ apis: ['Date'], now: new Date('2027-01-15T09:00:00Z').getTime() });
    const second = tiered(t, dataDir, 'library');
    const again = (await second.engine.openModel(modelPath)).createConversation({ id: conversationId });
    again.setDocuments([{ id: documentId, text: TEXT }]);
    again.setHistory(turns);
    const fifth = await again.ask(QUESTIONS[4], { maxTokens: MAX_TOKENS });
    t.mock.timers.reset();
    const { documentTokensEvaluated, composedTokensEvaluated } = fifth.metrics.tiered!;
    assert.equal(documentTokensEvaluated, 0, 'the document is not read again after a restart on another day');
    // A new process evaluates the template's text around the document again (the glue is kept in memory only).
    assert.ok(fifth.metrics.evaluatedPromptTokens - composedTokensEvaluated < 40, `the stored turns come back: ${fifth.metrics.evaluatedPromptTokens} prompt tokens evaluated, ${composedTokensEvaluated} of them to compose`);
    t.diagnostic(`${template}, library: ${composedTokensEvaluated} tokens composed after the restart, ${fifth.metrics.evaluatedPromptTokens - composedTokensEvaluated} for the question`);
    await again.dispose();
  });
}
