// Every architecture people run locally (issue 8), as random-weight GGUFs built from llama.cpp's own
// tensor names and metadata: the tiered engine at full budget gives the standard engine's greedy
// tokens and llama.cpp's own final logits, or the model is routed to the standard engine with the
// reason before any ask. BOS follows the model's metadata (qwen2, qwen3 and phi3 say none).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { Token } from 'node-llama-cpp';
import { Catalog } from '../catalog/Catalog.ts';
import { StrataService } from '../services/StrataService.ts';
import { tempDir } from '../test/tempDir.ts';
import { withBeginningToken } from './bosToken.ts';
import { ModelError } from './errors.ts';
import { getLlamaRuntime } from './llamaRuntime.ts';
import { DEFAULT_SETTINGS } from './settings/engineSettings.ts';
import { StandardEngine } from './standard/StandardEngine.ts';
import { makeArchModel } from './testModels/architectures/index.ts';
import { documentRow } from './tiered/testSupport.ts';
import { TieredEngine } from './tiered/TieredEngine.ts';

/** Attention-only architectures whose KV cache is per-position cells: spliced exactly. */
const SPLICED = ['llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'granite', 'olmo2'];
/** Sliding windows, latent attention, recurrent state: the standard engine, with the reason. */
const ROUTED: Record<string, RegExp> = {
  gemma2: /sliding-window attention/,
  gemma3: /sliding-window attention/,
  deepseek2: /multi-head latent attention/,
  mamba: /recurrent/,
  jamba: /hybrid/,
};
const VOCAB = 400;
const MAX_TOKENS = 12;
const TEXT = 'the tenant pays rent on the first day of each month and the lease ends in march after sixty days of notice. '.repeat(12);
const QUESTION = 'when does the lease end';

async function model(t: TestContext, arch: string): Promise<string> {
  const path = join(tempDir(t), `${arch}.gguf`);
  await makeArchModel(path, { arch, seed: 5, vocab: VOCAB });
  return path;
}

/**
 * llama.cpp through node-llama-cpp with a full KV cache (what the standard engine runs): the logits
 * after the whole raw prompt and the greedy tokens that follow, up to an end-of-generation token.
 */
async function fullKvReference(modelPath: string, maxTokens: number): Promise<{ logits: Float32Array; promptTokens: number; greedy: number[] }> {
  const llama = await getLlamaRuntime();
  const reference = await llama.loadModel({ modelPath });
  try {
    const tokens = withBeginningToken(reference, reference.tokenize(`${TEXT}\n${QUESTION}`));
    const context = await reference.createContext({ contextSize: 2048, flashAttention: false });
    try {
      const sequence = context.getSequence();
      await sequence.controlledEvaluate(tokens.slice(0, -1));
      const [output] = await sequence.controlledEvaluate([[tokens.at(-1)! as Token, { generateNext: { logits: true } }]]);
      const logits = new Float32Array(VOCAB);
      for (const [token, logit] of output!.next.logits!) logits[token] = logit;
      sequence.clearHistory();
      const greedy: number[] = [];
      for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
        if (reference.isEogToken(token)) break;
        greedy.push(token);
        if (greedy.length >= maxTokens) break;
      }
      return { logits, promptTokens: tokens.length, greedy };
    } finally {
      await context.dispose();
    }
  } finally {
    await reference.dispose();
  }
}

for (const arch of SPLICED) {
  test(`${arch}: the tiered engine at full budget gives the standard engine's tokens and llama.cpp's logits`, { timeout: 180_000 }, async (t) => {
    const modelPath = await model(t, arch);
    const standard = new StandardEngine({ flashAttention: false });
    t.after(() => standard.dispose());
    const standardConversation = (await standard.openModel(modelPath)).createConversation();
    standardConversation.setDocuments([{ id: 'd', text: TEXT }]);
    const expected = await standardConversation.ask(QUESTION, { maxTokens: MAX_TOKENS });

    const dir = tempDir(t);
    const catalog = new Catalog(join(dir, 'catalog.sqlite'));
    const engine = new TieredEngine({ dataDir: dir, catalog, flashAttention: false, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse: 'exact', gpuBudgetTokens: 4096 }) });
    t.after(async () => {
      await engine.dispose();
      catalog.dispose();
    });
    const conversation = (await engine.openModel(modelPath)).createConversation();
    conversation.setDocuments([{ id: documentRow(catalog, TEXT).id, text: TEXT }]);
    const rows: Float32Array[] = [];
    const actual = await conversation.ask(QUESTION, { maxTokens: MAX_TOKENS, onLogits: (logits) => rows.push(logits.slice(-VOCAB)) });
    // Greedy decoding picks each row's largest logit; an end-of-generation token ends the answer.
    const tieredTokens = rows.map((row) => row.indexOf(Math.max(...row)));

    const reference = await fullKvReference(modelPath, MAX_TOKENS);
    let maxDiff = 0;
    for (let i = 0; i < VOCAB; i++) maxDiff = Math.max(maxDiff, Math.abs(rows[0][i] - reference.logits[i]));
    t.diagnostic(`${arch}: ${reference.promptTokens} prompt tokens in ${actual.metrics.tiered!.chunksTotal} chunks; largest logit difference against full-KV llama.cpp ${maxDiff.toExponential(2)}; answer ${JSON.stringify(actual.text)}`);
    assert.equal(actual.metrics.tiered!.chunksSelected, actual.metrics.tiered!.chunksTotal, 'everything fits the budget');
    assert.equal(actual.metrics.promptTokens, reference.promptTokens, 'BOS as the metadata says, in both layouts');
    assert.equal(expected.metrics.promptTokens, reference.promptTokens, 'the standard engine counts only the tokens it evaluated');
    assert.ok(maxDiff <= 1e-3, `final logits differ by ${maxDiff}`);
    assert.deepEqual(tieredTokens.slice(0, reference.greedy.length), reference.greedy, 'the same greedy tokens as full-KV llama.cpp');
    assert.ok(tieredTokens.length <= reference.greedy.length + 1, 'and nothing after them but the end token');
    // The text agrees wherever both are whole characters: at a character cut by maxTokens or an end
    // token, node-llama-cpp (the standard engine) holds its bytes back or completes it past maxTokens.
    const whole = (text: string) => text.replace(/\uFFFD+$/u, '');
    const shorter = Math.min(whole(expected.text).length, whole(actual.text).length);
    assert.equal(whole(actual.text).slice(0, shorter), whole(expected.text).slice(0, shorter), 'the standard engine answers the same text');
  });
}

test('every spliced architecture composes library prompts: two documents read once, then reordered and subset without reading them again', { timeout: 600_000 }, async (t) => {
  const other = 'the owner repairs the roof and the tenant waters the garden every week in summer. '.repeat(10);
  for (const arch of SPLICED) {
    const modelPath = await model(t, arch);
    const dir = tempDir(t);
    const catalog = new Catalog(join(dir, 'catalog.sqlite'));
    const engine = new TieredEngine({ dataDir: dir, catalog, flashAttention: false, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse: 'library', gpuBudgetTokens: 4096 }) });
    try {
      const a = { id: documentRow(catalog, TEXT).id, text: TEXT };
      const b = { id: documentRow(catalog, other).id, text: other };
      const opened = await engine.openModel(modelPath);
      const read: number[] = [];
      for (const set of [[a, b], [b, a], [b]]) {
        const conversation = opened.createConversation();
        conversation.setDocuments(set);
        const result = await conversation.ask(QUESTION, { maxTokens: 4 });
        await conversation.dispose();
        assert.equal(result.metrics.tiered!.kvReuse, 'library', `${arch} composes`);
        read.push(result.metrics.tiered!.documentTokensEvaluated);
      }
      t.diagnostic(`${arch}: document tokens read per set [A, B], [B, A], [B]: ${read.join(', ')}`);
      assert.ok(read[0] > 200, `${arch}: the first set reads both documents`);
      assert.deepEqual(read.slice(1), [0, 0], `${arch}: a new order or subset reads no document`);
    } finally {
      await engine.dispose();
      catalog.dispose();
    }
  }
});

for (const [arch, reason] of Object.entries(ROUTED)) {
  test(`${arch}: refused by the tiered engine with TIERED_UNSUPPORTED, served by the standard engine with the reason`, { timeout: 180_000 }, async (t) => {
    const modelPath = await model(t, arch);
    const dir = tempDir(t);
    const catalog = new Catalog(join(dir, 'catalog.sqlite'));
    const engine = new TieredEngine({ dataDir: dir, catalog, settings: () => DEFAULT_SETTINGS });
    t.after(async () => {
      await engine.dispose();
      catalog.dispose();
    });
    await assert.rejects(engine.openModel(modelPath), (error: unknown) => error instanceof ModelError && error.code === 'TIERED_UNSUPPORTED' && reason.test(error.message));

    const dataDir = tempDir(t);
    const service = new StrataService({ dataDir, host: 'browser', version: 'test' });
    t.after(() => service.dispose());
    const opened = await service.models.open({ path: modelPath });
    assert.equal(opened.engine, 'standard');
    assert.match(opened.engineNotice ?? '', reason, 'the badge says why before any ask');
    assert.match(opened.engineNotice ?? '', /Using the standard engine/);
    const docPath = join(dataDir, 'lease.txt');
    writeFileSync(docPath, TEXT);
    const document = await service.documents.importPath({ requestId: 'import', path: docPath });
    const conversation = await service.chat.createConversation({ documentIds: [document.id] });
    const message = await service.chat.ask({ requestId: 'ask', conversationId: conversation.id, question: QUESTION, maxTokens: 6 });
    assert.equal(message.status, 'complete', `answered by the standard engine: ${message.error ?? ''}`);
  });
}
