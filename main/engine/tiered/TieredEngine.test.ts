// The tiered engine against what a user would notice: the same answer as the full KV cache when the
// document fits, needles found far outside the GPU budget, budgets never exceeded, documents that
// answer after a restart without being read again, and damaged or interrupted state never turning
// into a silent wrong answer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { Token } from 'node-llama-cpp';
import type { EngineSettings } from '../engineTypes.ts';
import { Catalog } from '../../catalog/Catalog.ts';
import { KvCatalog } from '../../catalog/KvCatalog.ts';
import { tempDir } from '../../test/tempDir.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { DEFAULT_SETTINGS } from '../settings/engineSettings.ts';
import { StandardEngine } from '../standard/StandardEngine.ts';
import { ensureTestModel } from '../testModels/cli.ts';
import { makeHaystack, needleQuestion, type Haystack } from '../testModels/haystack.ts';
import { makeRandomModel } from '../testModels/makeRandomModel.ts';
import { tieredEngineUnavailableReason, TieredEngine, type TieredEngineOptions } from './TieredEngine.ts';
import type { TierSample } from './TieredModel.ts';
import { corruptLastBlob, documentRow, runKilledIngest } from './testSupport.ts';

const unavailable = tieredEngineUnavailableReason();
const skip = unavailable === null ? false : `tiered engine unavailable: ${unavailable}`;

function openEngine(t: TestContext, dataDir: string, settings: Partial<EngineSettings>, extra: Partial<TieredEngineOptions> = {}) {
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, ...settings }), ...extra });
  t.after(async () => {
    await engine.dispose();
    catalog.dispose();
  });
  return { catalog, engine };
}

const NEEDLE_DEPTHS = [0.05, 0.16, 0.27, 0.38, 0.5, 0.61, 0.72, 0.83, 0.95];
const haystack16k: Haystack = makeHaystack({ wordCount: 16000, seed: 21, needles: NEEDLE_DEPTHS.map((depth) => ({ depth })) });

async function askNeedles(model: Awaited<ReturnType<TieredEngine['openModel']>>, documentId: string, haystack: Haystack) {
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: documentId, text: haystack.text }]);
  let correct = 0;
  let documentTokensEvaluated = 0;
  for (const needle of haystack.needles) {
    conversation.setHistory([]);
    const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 });
    if (result.text.trim() === needle.values.join(' ')) correct++;
    documentTokensEvaluated += result.metrics.tiered!.documentTokensEvaluated;
  }
  await conversation.dispose();
  return { correct, total: haystack.needles.length, documentTokensEvaluated };
}

test('any budget: with the chunk bounds left automatic, a 256-token GPU budget answers the 16K-token needles', { skip, timeout: 600_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dir = tempDir(t);
  const { engine, catalog } = openEngine(t, dir, { gpuBudgetTokens: 256 });
  const model = await engine.openModel(modelPath);
  const result = await askNeedles(model, documentRow(catalog, haystack16k.text).id, haystack16k);
  t.diagnostic(`256-token budget, automatic chunks: ${result.correct}/${result.total} needles`);
  assert.ok(result.correct / result.total >= 0.95, `${result.correct}/${result.total}`);
});

test('exactness: with the whole document inside the GPU budget, the tiered engine gives the full-KV answer', { skip, timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const modelPath = join(dir, 'random.gguf');
  await makeRandomModel(modelPath, { layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: 512, type: 'f32', seed: 9 });
  const words = ['the', 'lease', 'ends', 'in', 'march', 'tenant', 'pays', 'rent', 'monthly', 'notice', 'of', 'sixty', 'days'];
  const sentences: string[] = [];
  for (let i = 0; sentences.join(' ').length < 2800; i++) sentences.push(`${words[(i * 7) % words.length]} ${words[(i * 3 + 1) % words.length]} ${words[(i * 5 + 2) % words.length]} ${words[(i * 11 + 4) % words.length]}.`);
  const text = sentences.join(' ');
  const question = 'when does the lease end?';
  const { engine, catalog } = openEngine(t, dir, { kvReuse: 'exact', gpuBudgetTokens: 4096, chunkMinTokens: 32, chunkMaxTokens: 128 }, { flashAttention: false });
  const document = { id: documentRow(catalog, text).id, text };

  // Reference: the standard engine (greedy tokens) and node-llama-cpp's own logits for the prompt.
  const standard = new StandardEngine({ flashAttention: false });
  t.after(() => standard.dispose());
  const standardModel = await standard.openModel(modelPath);
  const standardConversation = standardModel.createConversation();
  standardConversation.setDocuments([document]);
  const expected = await standardConversation.ask(question, { maxTokens: 12 });
  const llama = await getLlamaRuntime();
  const reference = await llama.loadModel({ modelPath });
  t.after(() => reference.dispose());
  const promptTokens = [reference.tokens.bos!, ...reference.tokenize(`${document.text}\n${question}`)];
  const context = await reference.createContext({ contextSize: 4096, flashAttention: false });
  const sequence = context.getSequence();
  await sequence.controlledEvaluate(promptTokens.slice(0, -1));
  const [output] = await sequence.controlledEvaluate([[promptTokens.at(-1)! as Token, { generateNext: { logits: true } }]]);
  const referenceLogits = new Float32Array(512);
  for (const [token, logit] of output!.next.logits!) referenceLogits[token] = logit;
  await context.dispose();

  const model = await engine.openModel(modelPath);
  const conversation = model.createConversation();
  conversation.setDocuments([document]);
  const rows: Float32Array[] = [];
  const actual = await conversation.ask(question, { maxTokens: 12, onLogits: (logits) => rows.push(logits.slice(-512)) });

  assert.ok(promptTokens.length > 1500 && promptTokens.length < 3000, `the prompt has ${promptTokens.length} tokens`);
  assert.equal(actual.metrics.tiered!.chunksSelected, actual.metrics.tiered!.chunksTotal, 'everything fits the budget: nothing was left out');
  assert.equal(actual.metrics.promptTokens, promptTokens.length, 'the tiered engine lays the prompt out like the standard engine');
  assert.ok(actual.metrics.tiered!.chunksTotal > 10, `the document was cut into ${actual.metrics.tiered!.chunksTotal} chunks`);
  let maxDiff = 0;
  for (let i = 0; i < 512; i++) maxDiff = Math.max(maxDiff, Math.abs(rows[0][i] - referenceLogits[i]));
  t.diagnostic(`prompt ${promptTokens.length} tokens in ${actual.metrics.tiered!.chunksTotal} chunks; largest logit difference against full-KV llama.cpp: ${maxDiff.toExponential(3)}`);
  assert.ok(maxDiff <= 1e-3, `final logits differ by ${maxDiff}`);
  assert.equal(actual.text, expected.text, 'the same greedy tokens as the standard engine');
});

test('retrieval: a 16K-token document under a 1024-token GPU budget answers its needles; sink + recent window does not', { skip, timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const samples: TierSample[] = [];
  const settings = { gpuBudgetTokens: 1024, chunkMinTokens: 32, chunkMaxTokens: 128, cpuTierBytes: 8 * 1024 * 1024 };
  const dir = tempDir(t);
  const tiered = openEngine(t, dir, settings, { onSample: (s) => samples.push(s) });
  const document = documentRow(tiered.catalog, haystack16k.text);
  const model = await tiered.engine.openModel(modelPath);
  const withSelection = await askNeedles(model, document.id, haystack16k);

  const baselineDir = tempDir(t);
  const baseline = openEngine(t, baselineDir, settings, { selectionMode: 'recent' });
  const baselineModel = await baseline.engine.openModel(modelPath);
  const withoutSelection = await askNeedles(baselineModel, documentRow(baseline.catalog, haystack16k.text).id, haystack16k);

  const accuracy = withSelection.correct / withSelection.total;
  const baselineAccuracy = withoutSelection.correct / withoutSelection.total;
  t.diagnostic(`needles answered with selection: ${withSelection.correct}/${withSelection.total} (${(accuracy * 100).toFixed(0)}%); sink + recent window only: ${withoutSelection.correct}/${withoutSelection.total} (${(baselineAccuracy * 100).toFixed(0)}%)`);
  assert.ok(accuracy >= 0.95, `selection answered ${(accuracy * 100).toFixed(0)}%`);
  assert.ok(baselineAccuracy <= 0.2, `the baseline answered ${(baselineAccuracy * 100).toFixed(0)}%`);

  // Bounds, checked at every change of the GPU tier during ingest and all the questions.
  assert.ok(samples.length > 100, `${samples.length} samples`);
  const peakGpu = Math.max(...samples.map((s) => s.gpuResidentTokens));
  const peakCpu = Math.max(...samples.map((s) => s.cpuBytes));
  t.diagnostic(`peak GPU-tier cells ${peakGpu} of ${settings.gpuBudgetTokens}; peak CPU-tier bytes ${peakCpu} of ${settings.cpuTierBytes}`);
  for (const s of samples) {
    assert.ok(s.gpuResidentTokens <= s.gpuBudgetTokens, `GPU tier held ${s.gpuResidentTokens} cells over ${s.gpuBudgetTokens}`);
    assert.ok(s.cpuBytes <= s.cpuBudgetBytes, `CPU tier held ${s.cpuBytes} bytes over ${s.cpuBudgetBytes}`);
  }
  assert.ok(peakCpu > settings.cpuTierBytes / 2, 'the CPU tier was actually under pressure');

  // Persistence: a new engine on the same data dir answers from the disk tier without reading the document again.
  await tiered.engine.dispose();
  const restarted = openEngine(t, dir, settings);
  const again = await restarted.engine.openModel(modelPath);
  const afterRestart = await askNeedles(again, document.id, haystack16k);
  t.diagnostic(`after a restart: ${afterRestart.correct}/${afterRestart.total} needles, ${afterRestart.documentTokensEvaluated} document tokens evaluated`);
  assert.equal(afterRestart.documentTokensEvaluated, 0);
  assert.ok(afterRestart.correct / afterRestart.total >= 0.95);
});

test('faults: a flipped byte in a blob on disk is detected and the document is read again, never a wrong answer', { skip, timeout: 240_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const haystack = makeHaystack({ wordCount: 4000, seed: 5, needles: [0.2, 0.5, 0.8].map((depth) => ({ depth })) });
  const dir = tempDir(t);
  const settings = { gpuBudgetTokens: 1024, chunkMinTokens: 32, chunkMaxTokens: 128 };
  const first = openEngine(t, dir, settings);
  const document = documentRow(first.catalog, haystack.text);
  await askNeedles(await first.engine.openModel(modelPath), document.id, haystack);
  await first.engine.dispose();

  await corruptLastBlob(dir);
  const second = openEngine(t, dir, settings);
  const result = await askNeedles(await second.engine.openModel(modelPath), document.id, haystack);
  t.diagnostic(`after corruption: ${result.correct}/${result.total} needles, ${result.documentTokensEvaluated} document tokens evaluated again`);
  assert.equal(result.correct, result.total);
  assert.ok(result.documentTokensEvaluated >= haystack.words.length, 'the damaged document was read again');
});

test('faults: an ingest killed mid-way leaves the catalog consistent and resumes where it stopped', { skip, timeout: 240_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dir = tempDir(t);
  const settings = { gpuBudgetTokens: 1024, chunkMinTokens: 32, chunkMaxTokens: 128 };
  const killed = await runKilledIngest({ dataDir: dir, modelPath, text: haystack16k.text, settings, killAfterChunks: 20 });
  t.diagnostic(`killed after ${killed.chunks} committed chunks (${killed.tokensDone} of ${killed.tokenCount} tokens), state ${killed.state}`);
  assert.equal(killed.state, 'running', 'the interrupted ingest is marked incomplete');
  assert.ok(killed.chunks >= 20 && killed.tokensDone < killed.tokenCount);

  const resumed = openEngine(t, dir, settings);
  const model = await resumed.engine.openModel(modelPath);
  const result = await askNeedles(model, killed.documentId, haystack16k);
  t.diagnostic(`resumed: ${result.correct}/${result.total} needles, ${result.documentTokensEvaluated} tokens evaluated on resume`);
  assert.ok(result.documentTokensEvaluated > 0 && result.documentTokensEvaluated <= killed.tokenCount - killed.tokensDone, 'only the missing part was read');
  assert.ok(result.correct / result.total >= 0.95);
});

test('a document larger than the disk budget is refused before anything is written', { skip, timeout: 120_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dir = tempDir(t);
  const { engine, catalog } = openEngine(t, dir, { gpuBudgetTokens: 1024, chunkMaxTokens: 128, diskBudgetBytes: 1024 * 1024 });
  const model = await engine.openModel(modelPath);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: documentRow(catalog, haystack16k.text).id, text: haystack16k.text }]);
  await assert.rejects(conversation.ask(needleQuestion(haystack16k.needles[0].key), { maxTokens: 2 }), (e: Error & { code?: string }) => {
    t.diagnostic(e.message);
    return e.code === 'DISK_BUDGET_EXCEEDED' && /disk budget/.test(e.message);
  });
  assert.equal(new KvCatalog(catalog.database).listIngests().length, 0, 'no ingest was started');
});

test('a chat-template model runs on the tiered engine: documents in the system message, read once', { skip, timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const modelPath = join(dir, 'chat.gguf');
  const template = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";
  await makeRandomModel(modelPath, { layers: 4, embd: 64, heads: 4, kvHeads: 2, headDim: 16, vocab: 400, type: 'f32', seed: 3, chatTemplate: template });
  const { engine, catalog } = openEngine(t, dir, { gpuBudgetTokens: 1024, chunkMinTokens: 16, chunkMaxTokens: 64 });
  const model = await engine.openModel(modelPath);
  assert.equal(model.info.hasChatTemplate, true);
  const text = 'The lease ends on the last day of March. The tenant pays on the first. '.repeat(40);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: documentRow(catalog, text).id, text }]);
  const first = await conversation.ask('When does the lease end?', { maxTokens: 6 });
  assert.ok(first.metrics.generatedTokens >= 1);
  assert.ok(first.metrics.tiered!.documentTokensEvaluated > (await model.countTokens(text)) / 2, 'the system message with the document was read into the tiers');
  assert.ok(first.metrics.tiered!.peakGpuResidentTokens <= 1024);
  const second = await conversation.ask('Who pays?', { maxTokens: 4 });
  assert.equal(second.metrics.tiered!.documentTokensEvaluated, 0, 'the follow-up reuses the stored document');
});
