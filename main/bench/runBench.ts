// npm run bench: the tiered engine against the standard engine (full KV cache) in one run, on the
// needle model (16K tokens) and on a random model with an 8B-class KV layout scaled to fit the CPU.
// Every number in the report is measured here; ratios are tiered / standard from the same run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineSettings } from '../../preload/api.ts';
import { Catalog } from '../catalog/Catalog.ts';
import type { Engine, EngineDocument, EngineModel } from '../engine/Engine.ts';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { StandardEngine } from '../engine/standard/StandardEngine.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { kvBytesPerToken } from '../engine/tiered/defaultBudgets.ts';
import { TieredEngine, tieredEngineUnavailableReason } from '../engine/tiered/TieredEngine.ts';
import { parseOptions, positiveInteger } from '../cli/parseOptions.ts';
import { ensureBenchModel, type BenchModel } from './benchModels.ts';
import { renderKvTypesMarkdown, runKvTypesBench } from './kvTypesBench.ts';
import { renderMarkdown, type EngineRun, type WorkloadResult } from './renderMarkdown.ts';
import { UsageError } from '../cli/UsageError.ts';

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface Workload {
  name: string;
  model: BenchModel;
  document: EngineDocument;
  /** Questions whose exact answers are known (needles), or plain questions (random model). */
  questions: { text: string; expected: string | null }[];
  gpuBudgetTokens: number;
}

export async function runBench(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { quick: { type: 'boolean', default: false }, 'decode-tokens': { type: 'string' }, only: { type: 'string' } });
  if (values.only !== undefined && values.only !== 'kv-types') throw new UsageError(`--only takes kv-types, got "${values.only}"`);
  const unavailable = tieredEngineUnavailableReason();
  if (unavailable !== null) {
    console.error(`strata bench: ${unavailable}`);
    return 1;
  }
  const decodeTokens = positiveInteger(values['decode-tokens'], '--decode-tokens') ?? 64;
  mkdirSync(RESULTS_DIR, { recursive: true });
  // KV cache types: their own report (bench/results/kv-types.*), also made by --only kv-types.
  const kvTypes = await runKvTypesBench(values.quick, decodeTokens);
  const kvMarkdown = [`# Strata bench: KV cache types`, '', `Run ${new Date().toISOString()}.`, '', ...renderKvTypesMarkdown(kvTypes, (await ensureBenchModel()).description)].join('\n');
  writeFileSync(join(RESULTS_DIR, 'kv-types.json'), `${JSON.stringify({ date: new Date().toISOString(), runs: kvTypes }, null, 2)}\n`);
  writeFileSync(join(RESULTS_DIR, 'kv-types.md'), kvMarkdown);
  console.log(kvMarkdown);
  if (values.only === 'kv-types') return 0;
  const workloads = await buildWorkloads(values.quick);
  const results: WorkloadResult[] = [];
  for (const workload of workloads) {
    console.error(`bench: ${workload.name}…`);
    const standard = await measure(workload, 'standard', decodeTokens);
    const tiered = await measure(workload, 'tiered', decodeTokens);
    results.push({ name: workload.name, model: workload.model.description, documentTokens: tiered.promptTokens, gpuBudgetTokens: workload.gpuBudgetTokens, standard, tiered });
  }
  const llama = await getLlamaRuntime();
  const report = {
    date: new Date().toISOString(),
    machine: { gpu: llama.gpu, cpuMathCores: llama.cpuMathCores, platform: `${process.platform}-${process.arch}` },
    results,
  };
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  console.log(markdown);
  return 0;
}

async function buildWorkloads(quick: boolean): Promise<Workload[]> {
  const needleWords = quick ? 4000 : 16000;
  const haystack = makeHaystack({ wordCount: needleWords, seed: 99, needles: [0.05, 0.17, 0.29, 0.41, 0.53, 0.65, 0.77, 0.89].map((depth) => ({ depth })) });
  const needleModel: BenchModel = { path: await ensureTestModel('needle'), description: 'needle model (2 layers, 1 KV head × 256, hand-set weights)', shape: { layers: 2, kvHeads: 1, headDimK: 256, headDimV: 256 } };
  const random = await ensureBenchModel();
  const words = ['contract', 'party', 'shall', 'notice', 'term', 'payment', 'clause', 'section', 'agreement', 'liability', 'the', 'of', 'and', 'to', 'in'];
  let text = '';
  for (let i = 0; text.length < (quick ? 6000 : 14000); i++) text += `${words[(i * 7) % words.length]} ${words[(i * 3 + 5) % words.length]}${i % 9 === 8 ? '.\n\n' : i % 3 === 2 ? '. ' : ' '}`;
  return [
    {
      name: `needle-${needleWords / 1000}k`,
      model: needleModel,
      document: { id: 'needle', text: haystack.text },
      questions: haystack.needles.map((n) => ({ text: needleQuestion(n.key), expected: n.values.join(' ') })),
      gpuBudgetTokens: 1024,
    },
    {
      name: 'random-8b-kv-shape',
      model: random,
      document: { id: 'contract', text: text.trim() },
      questions: ['who pays the notice?', 'when does the term end?'].map((q) => ({ text: q, expected: null })),
      gpuBudgetTokens: 1024,
    },
  ];
}

async function measure(workload: Workload, kind: 'standard' | 'tiered', decodeTokens: number): Promise<EngineRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const document = catalog.addDocument({ sha256: workload.name, fileName: `${workload.name}.txt`, kind: 'txt', sizeBytes: workload.document.text.length, text: workload.document.text, tokenCount: null, tokenCountModelId: null });
  const settings: EngineSettings = { ...DEFAULT_SETTINGS, gpuBudgetTokens: workload.gpuBudgetTokens, chunkMinTokens: 32, chunkMaxTokens: 128 };
  let peakResident = 0;
  const engine: Engine =
    kind === 'standard'
      ? new StandardEngine()
      : new TieredEngine({ dataDir, catalog, settings: () => settings, onSample: (s) => (peakResident = Math.max(peakResident, s.gpuResidentTokens)) });
  let model: EngineModel | null = null;
  try {
    model = await engine.openModel(workload.model.path);
    const conversation = model.createConversation();
    conversation.setDocuments([{ id: document.id, text: workload.document.text }]);
    const ask = async (question: string, maxTokens: number) => {
      conversation.setHistory([]);
      return conversation.ask(question, { maxTokens });
    };
    const first = await ask(workload.questions[0].text, 2);
    const repeated = await ask(workload.questions[1].text, 2);
    const decode = await ask(workload.questions[0].text, decodeTokens);
    let correct = 0;
    const known = workload.questions.filter((q) => q.expected !== null);
    for (const q of known) if ((await ask(q.text, 2)).text.trim() === q.expected) correct++;
    const bytesPerToken = kvBytesPerToken(workload.model.shape);
    const gpuTokens = kind === 'standard' ? first.metrics.contextTokens : peakResident;
    return {
      promptTokens: first.metrics.promptTokens,
      firstQuestionTtftMs: first.metrics.timeToFirstTokenMs,
      repeatedQuestionTtftMs: repeated.metrics.timeToFirstTokenMs,
      decodeTokensPerSecond: decode.metrics.decodeTokensPerSecond,
      peakGpuTierTokens: gpuTokens,
      peakGpuTierBytes: gpuTokens * bytesPerToken,
      needleAccuracy: known.length > 0 ? correct / known.length : null,
      repeated: repeated.metrics.tiered
        ? { probeMs: repeated.metrics.tiered.probeMs, selectMs: repeated.metrics.tiered.selectMs, spliceMs: repeated.metrics.tiered.spliceMs, bytesFromCpu: repeated.metrics.tiered.bytesFromCpu, bytesFromDisk: repeated.metrics.tiered.bytesFromDisk }
        : null,
    };
  } finally {
    await model?.dispose();
    await engine.dispose();
    catalog.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
