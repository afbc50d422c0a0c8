// The GPU bench (bench/device.sh): on a random model with an 8B-class layout, at 32K and 128K tokens,
// the tiered engine against two llama.cpp baselines run through the same addon in the same process:
//   full-KV     one context holding the whole document, KV cache and attention on the GPU;
//   host-KV     the same with llama_context_params.offload_kqv = false: the KV cache in host memory,
//               and llama.cpp runs "all nodes between the KV store and the attention output" on the
//               CPU (src/llama-graph.cpp) — how llama.cpp fits long contexts into a small GPU.
// Every ratio in the report is tiered / baseline from this same run.
//
// Commands (run from the repository root with Node 22):
//   node main/bench/deviceBench.ts make-model --path FILE [--dry] [--ffn N]   writes the bench's model
//   node main/bench/deviceBench.ts run [--dry] [--model FILE] [--out DIR] [--sizes 32768,131072]
//        [--gpu-budget N] [--decode-tokens N] [--host-prefill-tokens N] [--copy-to DIR]
// --dry: a tiny model at 1K and 2K tokens on whatever backend getLlamaRuntime() picks (bench/device.sh
// --dry sets STRATA_GPU=off): the same code paths, for the test suite.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama } from 'node-llama-cpp';
import { Catalog } from '../catalog/Catalog.ts';
import { parseOptions, positiveInteger } from '../cli/parseOptions.ts';
import { UsageError } from '../cli/UsageError.ts';
import type { EngineSettings } from '../engine/engineTypes.ts';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { createRng } from '../engine/testModels/createRng.ts';
import { makeRandomModel, type RandomModelOptions } from '../engine/testModels/makeRandomModel.ts';
import { kvBytesPerToken } from '../engine/tiered/defaultBudgets.ts';
import { getLlamaBinsDir, loadNativeAddon, type NativeTierContext, type NativeTierModel } from '../engine/tiered/native/NativeAddon.ts';
import { TieredEngine } from '../engine/tiered/TieredEngine.ts';
import { renderDeviceReport, type BaselineRun, type DeviceBenchReport, type TieredRun } from './renderDeviceReport.ts';

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** makeRandomModel's shape options, with the FFN width explicit. */
export type ModelShape = Required<Pick<RandomModelOptions, 'layers' | 'embd' | 'heads' | 'kvHeads' | 'headDim' | 'vocab' | 'ffn'>>;

/**
 * An 8B llama's attention and KV layout (32 layers, embd 4096, 32 heads, 8 KV heads × 128: 128 KiB of
 * f16 KV per token) with the FFN narrowed from 14336 to 4096 and a 32K vocabulary: makeRandomModel
 * writes f16 only, at about 32M parameters a second on one core, so the full 8B (16 GB) would take over
 * 4 minutes of the 8; this one (3.2B parameters, 6.4 GB) takes about 100 s, hidden behind the CUDA build.
 */
export const GPU_SHAPE: ModelShape = { layers: 32, embd: 4096, heads: 32, kvHeads: 8, headDim: 128, vocab: 32000, ffn: 4096 };
export const DRY_SHAPE: ModelShape = { layers: 4, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: 512, ffn: 256 };

interface ModeConfig {
  shape: ModelShape;
  sizes: number[];
  gpuBudgetTokens: number;
  decodeTokens: number;
  /** Tokens the host-KV baseline prefills itself (its attention runs on the CPU); the rest is restored. */
  hostPrefillTokens: number;
  batchSize: number;
  ubatchSize: number;
  /** Tokens per blob when the host-KV context is filled from the full-KV context's cells. */
  restoreChunkTokens: number;
}

const GPU_CONFIG: ModeConfig = {
  shape: GPU_SHAPE, sizes: [32768, 131072], gpuBudgetTokens: 16384, decodeTokens: 32, hostPrefillTokens: 2048,
  batchSize: 2048, ubatchSize: 512, restoreChunkTokens: 4096,
};
const DRY_CONFIG: ModeConfig = {
  shape: DRY_SHAPE, sizes: [1024, 2048], gpuBudgetTokens: 512, decodeTokens: 8, hostPrefillTokens: 256,
  batchSize: 512, ubatchSize: 256, restoreChunkTokens: 384,
};

const QUESTIONS = ['who pays the notice?', 'when does the term end?'];
const WORDS = ['contract', 'party', 'shall', 'notice', 'term', 'payment', 'clause', 'section', 'agreement', 'liability', 'the', 'of', 'and', 'to', 'in', 'tenant', 'landlord', 'within', 'days', 'written'];

export function describeShape(shape: ModelShape): string {
  const narrowed = shape.embd === 4096 && shape.ffn < 14336 ? ` (an 8B llama's is 14336; narrowed so that the weights are written in time)` : '';
  return `random f16, ${shape.layers} layers, embd ${shape.embd}, ${shape.heads} heads, ${shape.kvHeads} KV heads × ${shape.headDim}, FFN ${shape.ffn}${narrowed}, vocab ${shape.vocab}`;
}

/** Writes the bench's model (atomically) and a sidecar `<path>.json` with how long it took. */
export async function makeBenchModel(path: string, shape: ModelShape): Promise<{ sizeBytes: number; makeMs: number }> {
  const started = performance.now();
  const temp = `${path}.${process.pid}.tmp`;
  // A trained context past 128K plus the prompt, so that no run needs compact positions.
  await makeRandomModel(temp, { ...shape, type: 'f16', seed: 8, contextLength: 262144 });
  renameSync(temp, path);
  const result = { sizeBytes: statSync(path).size, makeMs: performance.now() - started };
  writeFileSync(`${path}.json`, `${JSON.stringify({ shape, ...result })}\n`);
  return result;
}

/** Text of about `targetTokens` tokens under `tokenize` (paragraphs of seeded contract-like words). */
export function makeDocumentText(targetTokens: number, tokenize: (text: string) => number, seed: number, heading = 'Section'): string {
  const rng = createRng(seed);
  const paragraphs: string[] = [];
  let tokens = 0;
  while (tokens < targetTokens) {
    const sentences: string[] = [];
    for (let s = 0, count = 3 + rng.int(4); s < count; s++) {
      const words = Array.from({ length: 6 + rng.int(10) }, () => WORDS[rng.int(WORDS.length)]!);
      words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
      sentences.push(`${words.join(' ')}.`);
    }
    const paragraph = `${heading} ${paragraphs.length + 1}. ${sentences.join(' ')}`;
    paragraphs.push(paragraph);
    tokens += tokenize(paragraph) + 1;
  }
  return paragraphs.join('\n\n');
}

const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function positions(start: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => start + i);
}

// --- the tiered engine -----------------------------------------------------------------------------

async function measureTiered(llama: Llama, modelPath: string, text: string, warmText: string, config: ModeConfig, shape: ModelShape): Promise<TieredRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-device-bench-'));
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const addDocument = (name: string, body: string) =>
    catalog.addDocument({ sha256: name, fileName: `${name}.txt`, kind: 'txt', sizeBytes: body.length, text: body, tokenCount: null, tokenCountModelId: null });
  const settings: EngineSettings = { ...DEFAULT_SETTINGS, kvReuse: 'exact', gpuBudgetTokens: config.gpuBudgetTokens };
  const engine = new TieredEngine({ dataDir, catalog, llama: Promise.resolve(llama), settings: () => settings });
  try {
    const model = await engine.openModel(modelPath);
    try {
      // Warm-up on a short document of its own (no prefix in common with the measured one): the first
      // CUDA calls (kernel loads, cuBLAS handles) stay out of the measured asks, as the baselines'
      // warm-up keeps them out of theirs.
      const warm = model.createConversation();
      warm.setDocuments([{ id: addDocument('warm-up', warmText).id, text: warmText }]);
      await warm.ask(QUESTIONS[0]!, { maxTokens: 2 });
      await warm.dispose();

      const conversation = model.createConversation();
      conversation.setDocuments([{ id: addDocument('document', text).id, text }]);
      const ask = async (question: string, maxTokens: number) => {
        conversation.setHistory([]);
        return conversation.ask(question, { maxTokens });
      };
      const first = await ask(QUESTIONS[0]!, 2);
      const repeated = await ask(QUESTIONS[1]!, 2);
      const decode = await ask(QUESTIONS[0]!, config.decodeTokens);
      await conversation.dispose();
      const tiered = [first, repeated, decode].map((result) => result.metrics.tiered);
      if (tiered.some((t) => t === undefined)) throw new Error('the tiered engine returned no tiered metrics');
      const [firstTiered, repeatedTiered] = tiered as NonNullable<(typeof tiered)[number]>[];
      const peakGpuTokens = Math.max(...tiered.map((t) => t!.peakGpuResidentTokens));
      return {
        promptTokens: first.metrics.promptTokens,
        readMs: firstTiered!.ingestMs,
        firstQuestionTtftMs: first.metrics.timeToFirstTokenMs,
        repeatedQuestionTtftMs: repeated.metrics.timeToFirstTokenMs,
        decodeTokensPerSecond: decode.metrics.decodeTokensPerSecond,
        generatedTokens: decode.metrics.generatedTokens,
        peakGpuTokens,
        peakGpuBytes: peakGpuTokens * kvBytesPerToken({ layers: shape.layers, kvHeads: shape.kvHeads, headDimK: shape.headDim, headDimV: shape.headDim }),
        gpuBudgetTokens: firstTiered!.gpuBudgetTokens,
        ingest: firstTiered!.ingest,
        repeated: {
          probeMs: repeatedTiered!.probeMs, selectMs: repeatedTiered!.selectMs, spliceMs: repeatedTiered!.spliceMs,
          bytesFromCpu: repeatedTiered!.bytesFromCpu, bytesFromDisk: repeatedTiered!.bytesFromDisk,
        },
      };
    } finally {
      await model.dispose();
    }
  } finally {
    await engine.dispose();
    catalog.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// --- the llama.cpp baselines -----------------------------------------------------------------------

/** Evaluates tokens at [start, start + length) in slices; returns the ms when `markAt` tokens were in (or null) and in total. */
async function prefill(context: NativeTierContext, tokens: Int32Array, start: number, markAt: number | null, sliceTokens: number): Promise<{ ms: number; markMs: number | null }> {
  const started = performance.now();
  let markMs: number | null = null;
  for (let done = 0; done < tokens.length;) {
    const end = markAt !== null && done < markAt ? Math.min(markAt, tokens.length) : Math.min(tokens.length, done + sliceTokens);
    await context.decode({ tokens: tokens.subarray(done, end), positions: positions(start + done, end - done), logits: 'none' });
    done = end;
    if (markAt !== null && done === markAt) markMs = performance.now() - started;
  }
  return { ms: performance.now() - started, markMs };
}

/** A question after the document's cells, then greedy decoding; its cells are removed afterwards. */
async function askBaseline(context: NativeTierContext, documentTokens: number, question: Int32Array, maxTokens: number): Promise<{ ttftMs: number; decodeTokensPerSecond: number; generated: number }> {
  const started = performance.now();
  let result = await context.decode({ tokens: question, positions: positions(documentTokens, question.length), logits: 'last' });
  let token = argmax(result.logits!);
  const firstTokenAt = performance.now();
  let position = documentTokens + question.length;
  let generated = 1;
  for (; generated < maxTokens; generated++) {
    result = await context.decode({ tokens: [token], positions: [position++], logits: 'last' });
    token = argmax(result.logits!);
  }
  const decodeMs = performance.now() - firstTokenAt;
  await context.removeRange(documentTokens, position);
  return { ttftMs: firstTokenAt - started, decodeTokensPerSecond: generated > 1 && decodeMs > 0 ? ((generated - 1) * 1000) / decodeMs : 0, generated };
}

async function measureBaselines(native: NativeTierModel, llama: Llama, documentTokens: Int32Array, questions: Int32Array[], config: ModeConfig): Promise<{ fullKv: BaselineRun; hostKv: BaselineRun }> {
  const n = documentTokens.length;
  const longestQuestion = Math.max(...questions.map((q) => q.length));
  const contextSize = roundUp(n + longestQuestion + config.decodeTokens + 16, 256);
  const contextOptions = {
    contextSize, batchSize: config.batchSize, ubatchSize: config.ubatchSize, flashAttention: true, threads: llama.cpuMathCores, captureEnabled: false,
  };
  const hostPrefillTokens = Math.min(n, config.hostPrefillTokens);
  const [q0, q1] = questions as [Int32Array, Int32Array];

  const full = await native.createContext({ ...contextOptions, offloadKqv: true });
  try {
    const read = await prefill(full, documentTokens, 0, hostPrefillTokens < n ? hostPrefillTokens : null, 8192);
    const first = await askBaseline(full, n, q0, 2);
    const repeated = await askBaseline(full, n, q1, 2);
    const decode = await askBaseline(full, n, q0, config.decodeTokens);
    const fullKv: BaselineRun = {
      promptTokens: n + q0.length, contextCells: full.info.contextSize, gpuKvTokens: full.info.contextSize,
      readTokens: n, readMs: read.ms, prefixTokens: hostPrefillTokens, prefixMs: read.markMs ?? read.ms, restoreMs: null,
      firstQuestionTtftMs: read.ms + first.ttftMs, repeatedQuestionTtftMs: repeated.ttftMs,
      decodeTokensPerSecond: decode.decodeTokensPerSecond, generatedTokens: decode.generated,
    };

    const host = await native.createContext({ ...contextOptions, offloadKqv: false });
    try {
      // Its own prefill for the first tokens only: attention over host memory runs on the CPU, which for
      // a whole 128K document would take far longer than this bench's budget. The rest of its cells are
      // the full-KV context's, copied in position order (the splice path: bit-identical to a prefill).
      const own = await prefill(host, documentTokens.subarray(0, hostPrefillTokens), 0, null, 8192);
      let restoreMs: number | null = null;
      if (hostPrefillTokens < n) {
        const started = performance.now();
        await host.removeRange(0, hostPrefillTokens);
        for (let start = 0; start < n; start += config.restoreChunkTokens) {
          const chunk = await full.captureChunk(start, Math.min(n, start + config.restoreChunkTokens));
          await host.spliceChunk(chunk.blob);
        }
        restoreMs = performance.now() - started;
      }
      const hostFirst = await askBaseline(host, n, q0, 2);
      const hostRepeated = await askBaseline(host, n, q1, 2);
      const hostDecode = await askBaseline(host, n, q0, config.decodeTokens);
      const hostKv: BaselineRun = {
        promptTokens: n + q0.length, contextCells: host.info.contextSize, gpuKvTokens: 0,
        readTokens: hostPrefillTokens, readMs: own.ms, prefixTokens: hostPrefillTokens, prefixMs: own.ms, restoreMs,
        firstQuestionTtftMs: restoreMs === null ? own.ms + hostFirst.ttftMs : null,
        repeatedQuestionTtftMs: hostRepeated.ttftMs,
        decodeTokensPerSecond: hostDecode.decodeTokensPerSecond, generatedTokens: hostDecode.generated,
      };
      return { fullKv, hostKv };
    } finally {
      await host.dispose();
    }
  } finally {
    await full.dispose();
  }
}

/** The first decode of a model instance pays for kernel loads and handles: done once, unmeasured. */
async function warmUp(native: NativeTierModel, llama: Llama, config: ModeConfig): Promise<void> {
  const context = await native.createContext({ contextSize: 1024, batchSize: config.batchSize, ubatchSize: config.ubatchSize, flashAttention: true, threads: llama.cpuMathCores, captureEnabled: false });
  try {
    const tokens = Int32Array.from({ length: 600 }, (_, i) => 3 + ((i * 7919) % (native.info.vocabSize - 3)));
    await prefill(context, tokens, 0, null, 512);
    await askBaseline(context, tokens.length, tokens.subarray(0, 8), 4);
  } finally {
    await context.dispose();
  }
}

// --- the run ---------------------------------------------------------------------------------------

export interface RunOptions {
  dry: boolean;
  modelPath?: string;
  outDir: string;
  /** A second folder the report is written to (the device tool's $OUT). */
  copyTo?: string;
  sizes?: number[];
  gpuBudgetTokens?: number;
  decodeTokens?: number;
  hostPrefillTokens?: number;
}

export async function runDeviceBench(options: RunOptions): Promise<{ report: DeviceBenchReport; markdownPath: string; jsonPath: string }> {
  const started = performance.now();
  const base = options.dry ? DRY_CONFIG : GPU_CONFIG;
  const config: ModeConfig = {
    ...base,
    sizes: options.sizes ?? base.sizes,
    gpuBudgetTokens: options.gpuBudgetTokens ?? base.gpuBudgetTokens,
    decodeTokens: options.decodeTokens ?? base.decodeTokens,
    hostPrefillTokens: options.hostPrefillTokens ?? base.hostPrefillTokens,
  };
  const load = loadNativeAddon();
  if ('error' in load) throw new Error(`the tiered engine is not available: ${load.error}`);
  const noGpu = 'node-llama-cpp chose no CUDA binaries: it needs libnvidia-ml, libcuda, libcudart, libcublas and libcublasLt on LD_LIBRARY_PATH (bench/device.sh sets it) and libggml-cuda.so in @node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda';
  let llama: Llama;
  try {
    llama = await getLlamaRuntime();
  } catch (error) {
    // The device pack carries only the CUDA variant: without CUDA there is nothing to fall back to.
    if (options.dry) throw error;
    throw new Error(`${noGpu} (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (!options.dry && llama.gpu === false) throw new Error(noGpu);
  const binsDir = await getLlamaBinsDir(llama);
  const initInfo = load.addon.initInfo ?? (await load.addon.initialize(binsDir));

  let workDir: string | null = null;
  let modelPath = options.modelPath;
  let makeMs: number | null = null;
  let shape = config.shape;
  if (modelPath === undefined) {
    workDir = mkdtempSync(join(tmpdir(), 'strata-device-model-'));
    modelPath = join(workDir, 'model.gguf');
    console.error(`bench: writing the model (${describeShape(config.shape)})…`);
    makeMs = (await makeBenchModel(modelPath, config.shape)).makeMs;
  } else if (existsSync(`${modelPath}.json`)) {
    // make-model's sidecar: how long the model took to write, and its shape (--ffn may have changed it).
    const made = JSON.parse(readFileSync(`${modelPath}.json`, 'utf8')) as { makeMs?: number; shape?: ModelShape };
    makeMs = made.makeMs ?? null;
    shape = made.shape ?? shape;
  }

  try {
    const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
    const documents: Array<{ target: number; text: string; tokens: Int32Array }> = [];
    let questions: Int32Array[];
    let warmText: string;
    try {
      warmText = makeDocumentText(Math.min(600, config.gpuBudgetTokens / 2), (t) => vocab.tokenize(t).length, 1, 'Appendix');
      for (const target of config.sizes) {
        const text = makeDocumentText(target, (t) => vocab.tokenize(t).length, target);
        documents.push({ target, text, tokens: Int32Array.from(vocab.tokenize(text)) });
      }
      questions = QUESTIONS.map((q) => Int32Array.from(vocab.tokenize(` ${q}`)));
    } finally {
      await vocab.dispose();
    }

    const vram = llama.gpu === false ? null : await llama.getVramState();
    const report: DeviceBenchReport = {
      date: new Date().toISOString(),
      mode: options.dry ? 'dry' : 'gpu',
      machine: {
        gpu: llama.gpu,
        gpuNames: llama.gpu === false ? [] : await llama.getGpuDeviceNames(),
        vramTotalBytes: vram?.total ?? null,
        cpuMathCores: llama.cpuMathCores,
        platform: `${process.platform}-${process.arch}`,
        node: process.version,
      },
      llamaCpp: { release: load.addon.llamaCppRelease, binsDir, devices: initInfo.devices.map((d) => `${d.name} (${d.type})`) },
      model: { description: describeShape(shape), shape, sizeBytes: statSync(modelPath).size, makeMs, kvBytesPerToken: kvBytesPerToken({ layers: shape.layers, kvHeads: shape.kvHeads, headDimK: shape.headDim, headDimV: shape.headDim }) },
      settings: {
        gpuBudgetTokens: config.gpuBudgetTokens, cpuTierBytes: DEFAULT_SETTINGS.cpuTierBytes, kvCacheType: 'f16', flashAttention: true,
        decodeTokens: config.decodeTokens, batchSize: config.batchSize, ubatchSize: config.ubatchSize, hostPrefillTokens: config.hostPrefillTokens,
        restoreChunkTokens: config.restoreChunkTokens,
      },
      sizes: [],
      totalMs: 0,
    };
    const name = options.dry ? 'gpu-dry' : `gpu-${slug(report.machine.gpuNames[0] ?? String(llama.gpu))}`;
    const outDirs = [options.outDir, ...(options.copyTo === undefined ? [] : [options.copyTo])];
    // Written after each size, so that a run stopped by a time limit still leaves the sizes it finished.
    const write = () => {
      report.totalMs = performance.now() - started;
      for (const dir of outDirs) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
        writeFileSync(join(dir, `${name}.md`), renderDeviceReport(report));
      }
    };

    // The baselines' model stays loaded beside each tiered engine's own (two copies of the weights).
    const native = await load.addon.loadModel(modelPath, { gpuLayers: llama.gpu === false ? 0 : -1 });
    try {
      await warmUp(native, llama, config);
      for (const document of documents) {
        console.error(`bench: ${document.tokens.length} tokens: tiered engine…`);
        const tiered = await measureTiered(llama, modelPath, document.text, warmText, config, shape);
        console.error(`bench: ${document.tokens.length} tokens: llama.cpp full-KV and host-KV…`);
        const baselines = await measureBaselines(native, llama, document.tokens, questions, config);
        report.sizes.push({ targetTokens: document.target, documentTokens: document.tokens.length, tiered, ...baselines });
        write();
      }
    } finally {
      await native.dispose();
    }
    return { report, markdownPath: join(options.outDir, `${name}.md`), jsonPath: join(options.outDir, `${name}.json`) };
  } finally {
    if (workDir !== null) rmSync(workDir, { recursive: true, force: true });
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'unknown';
}

function parseSizes(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((part) => positiveInteger(part.trim(), '--sizes')!);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, {
    dry: { type: 'boolean', default: false },
    path: { type: 'string' },
    ffn: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    'copy-to': { type: 'string' },
    sizes: { type: 'string' },
    'gpu-budget': { type: 'string' },
    'decode-tokens': { type: 'string' },
    'host-prefill-tokens': { type: 'string' },
  });
  const command = positionals[0];
  if (command === 'make-model') {
    if (values.path === undefined) throw new UsageError('make-model needs --path FILE');
    const shape = { ...(values.dry ? DRY_SHAPE : GPU_SHAPE) };
    if (values.ffn !== undefined) shape.ffn = positiveInteger(values.ffn, '--ffn')!;
    const made = await makeBenchModel(resolve(values.path), shape);
    console.log(`model: ${describeShape(shape)}; ${(made.sizeBytes / 2 ** 30).toFixed(2)} GiB written in ${(made.makeMs / 1000).toFixed(1)} s`);
    return 0;
  }
  if (command !== 'run') throw new UsageError(`deviceBench.ts takes make-model or run, got ${command === undefined ? 'nothing' : `"${command}"`}`);
  const { markdownPath, jsonPath } = await runDeviceBench({
    dry: values.dry,
    modelPath: values.model === undefined ? undefined : resolve(values.model),
    outDir: resolve(values.out ?? RESULTS_DIR),
    copyTo: values['copy-to'] === undefined ? undefined : resolve(values['copy-to']),
    sizes: parseSizes(values.sizes),
    gpuBudgetTokens: positiveInteger(values['gpu-budget'], '--gpu-budget'),
    decodeTokens: positiveInteger(values['decode-tokens'], '--decode-tokens'),
    hostPrefillTokens: positiveInteger(values['host-prefill-tokens'], '--host-prefill-tokens'),
  });
  console.log(readFileSync(markdownPath, 'utf8'));
  console.error(`bench: wrote ${markdownPath} and ${jsonPath}`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`deviceBench: ${error instanceof Error ? (error instanceof UsageError ? error.message : error.stack) : String(error)}`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
