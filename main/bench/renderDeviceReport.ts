// The GPU bench's report (main/bench/deviceBench.ts) as markdown: per document size, the tiered engine,
// full-KV llama.cpp and llama.cpp with its KV cache in host memory, with tiered / baseline ratios from
// the same run. Numbers a baseline did not measure are shown as "—", never estimated.
import type { IngestBreakdown } from '../engine/engineTypes.ts';

export interface TieredRun {
  promptTokens: number;
  /** Reading the document into the tiers (block-wise prefill, capture, abstracts), within the first ask. */
  readMs: number;
  firstQuestionTtftMs: number;
  repeatedQuestionTtftMs: number;
  decodeTokensPerSecond: number;
  generatedTokens: number;
  peakGpuTokens: number;
  peakGpuBytes: number;
  gpuBudgetTokens: number;
  ingest: IngestBreakdown | null;
  repeated: { probeMs: number; selectMs: number; spliceMs: number; bytesFromCpu: number; bytesFromDisk: number };
}

export interface BaselineRun {
  promptTokens: number;
  contextCells: number;
  /** KV cells held in GPU memory: the whole context for full-KV, none for host-KV. */
  gpuKvTokens: number;
  /** Document tokens this baseline prefilled itself, and how long that took. */
  readTokens: number;
  readMs: number;
  /** The first `prefixTokens` of the document: the span both baselines prefilled (for a like-for-like rate). */
  prefixTokens: number;
  prefixMs: number;
  /** Host-KV only: filling its context with the full-KV context's cells (null when it prefilled everything). */
  restoreMs: number | null;
  /** Prefill of the whole document plus the first question; null when this baseline did not prefill it all. */
  firstQuestionTtftMs: number | null;
  repeatedQuestionTtftMs: number;
  decodeTokensPerSecond: number;
  generatedTokens: number;
}

export interface SizeResult {
  targetTokens: number;
  documentTokens: number;
  tiered: TieredRun;
  fullKv: BaselineRun;
  hostKv: BaselineRun;
}

export interface DeviceBenchReport {
  date: string;
  mode: 'gpu' | 'dry';
  machine: { gpu: unknown; gpuNames: string[]; vramTotalBytes: number | null; cpuMathCores: number; platform: string; node: string };
  llamaCpp: { release: string; binsDir: string; devices: string[] };
  model: { description: string; shape: { layers: number; embd: number; heads: number; kvHeads: number; headDim: number; vocab: number; ffn: number }; sizeBytes: number; makeMs: number | null; kvBytesPerToken: number };
  settings: {
    gpuBudgetTokens: number; cpuTierBytes: number; kvCacheType: string; flashAttention: boolean; decodeTokens: number;
    batchSize: number; ubatchSize: number; hostPrefillTokens: number; restoreChunkTokens: number;
  };
  sizes: SizeResult[];
  totalMs: number;
}

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number | null) => (v === null ? '—' : `${int(v)} ms`);
const tps = (v: number) => (v >= 100 ? int(v) : v.toFixed(1));
const gib = (v: number) => (v >= 2 ** 30 ? `${(v / 2 ** 30).toFixed(2)} GiB` : `${(v / 2 ** 20).toFixed(1)} MiB`);
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
const rate = (tokens: number, v: number) => (v > 0 ? `${tps((tokens * 1000) / v)} tok/s` : '—');
const sizeLabel = (tokens: number) => (tokens >= 1024 && tokens % 1024 === 0 ? `${tokens / 1024}K` : int(tokens));

export function renderDeviceReport(report: DeviceBenchReport): string {
  const { machine, model, settings } = report;
  const gpu = machine.gpu === false ? 'none (CPU only)' : `${machine.gpuNames.join(', ') || String(machine.gpu)} (${String(machine.gpu)}${machine.vramTotalBytes === null ? '' : `, ${gib(machine.vramTotalBytes)}`})`;
  const lines = [
    `# Strata GPU bench: tiered engine vs llama.cpp (full KV on the GPU; KV in host memory)${report.mode === 'dry' ? ' — DRY RUN (CPU, tiny model)' : ''}`,
    '',
    `Run ${report.date}, ${(report.totalMs / 1000).toFixed(0)} s. GPU: ${gpu}; ${machine.cpuMathCores} CPU math cores; ${machine.platform}; Node ${machine.node}.`,
    `llama.cpp: ${report.llamaCpp.release}, libraries from ${report.llamaCpp.binsDir}; devices ${report.llamaCpp.devices.join(', ') || 'none listed'}.`,
    '',
    `Model: ${model.description}; ${gib(model.sizeBytes)}${model.makeMs === null ? '' : `, written in ${(model.makeMs / 1000).toFixed(0)} s`}. KV cache f16: ${int(model.kvBytesPerToken)} bytes per token.`,
    '',
    'All three run in one process on the same llama.cpp libraries, with flash attention on and an f16 KV cache:',
    `- **tiered**: the app's engine (TieredEngine), GPU budget ${int(settings.gpuBudgetTokens)} tokens, CPU tier ${gib(settings.cpuTierBytes)} (the app's default), disk tier in a temporary folder. The first question includes reading the document into the tiers; the repeated question is a different question on the document already read.`,
    `- **full-KV**: one llama.cpp context holding the whole document (KV and attention on the GPU), prefilled in batches of ${settings.batchSize} (ubatch ${settings.ubatchSize}), then greedy decoding.`,
    `- **host-KV**: the same with \`offload_kqv = false\`: the KV cache in host memory, and llama.cpp runs attention over it on the CPU. It prefills only the first ${int(settings.hostPrefillTokens)} tokens itself (a whole document's CPU attention would outlast the bench); the rest of its cells are copied from the full-KV context in position order (${int(settings.restoreChunkTokens)}-token blobs), which gives the same cells a prefill would. Its first-question time is therefore not measured ("—").`,
    '',
    `Decode: ${settings.decodeTokens} tokens. Ratios are tiered / baseline from this same run: below 1× is better for times and KV, above 1× is better for tokens/s.`,
    '',
  ];
  for (const size of report.sizes) {
    const { tiered, fullKv, hostKv } = size;
    lines.push(
      `## ${sizeLabel(size.targetTokens)} tokens (document: ${int(size.documentTokens)} tokens)`,
      '',
      '| metric | tiered | full-KV llama.cpp | llama.cpp, KV in host memory | tiered / full-KV | tiered / host-KV |',
      '|---|---|---|---|---|---|',
      `| prompt tokens (document + question) | ${int(tiered.promptTokens)} | ${int(fullKv.promptTokens)} | ${int(hostKv.promptTokens)} | | |`,
      `| KV cells in GPU memory (peak) | ${int(tiered.peakGpuTokens)} | ${int(fullKv.gpuKvTokens)} | ${int(hostKv.gpuKvTokens)} | ${ratio(tiered.peakGpuTokens, fullKv.gpuKvTokens)} | — |`,
      `| KV bytes in GPU memory (peak) | ${gib(tiered.peakGpuBytes)} | ${gib(fullKv.gpuKvTokens * model.kvBytesPerToken)} | ${gib(hostKv.gpuKvTokens * model.kvBytesPerToken)} | ${ratio(tiered.peakGpuBytes, fullKv.gpuKvTokens * model.kvBytesPerToken)} | — |`,
      `| reading the document | ${ms(tiered.readMs)} (${rate(size.documentTokens, tiered.readMs)}) | ${ms(fullKv.readMs)} (${rate(fullKv.readTokens, fullKv.readMs)}) | ${hostKv.readTokens < size.documentTokens ? '—' : `${ms(hostKv.readMs)} (${rate(hostKv.readTokens, hostKv.readMs)})`} | ${ratio(tiered.readMs, fullKv.readMs)} | ${hostKv.readTokens < size.documentTokens ? '—' : ratio(tiered.readMs, hostKv.readMs)} |`,
      `| time to first token, first question (includes reading the document) | ${ms(tiered.firstQuestionTtftMs)} | ${ms(fullKv.firstQuestionTtftMs)} | ${ms(hostKv.firstQuestionTtftMs)} | ${ratio(tiered.firstQuestionTtftMs, fullKv.firstQuestionTtftMs)} | ${ratio(tiered.firstQuestionTtftMs, hostKv.firstQuestionTtftMs)} |`,
      `| time to first token, repeated question | ${ms(tiered.repeatedQuestionTtftMs)} | ${ms(fullKv.repeatedQuestionTtftMs)} | ${ms(hostKv.repeatedQuestionTtftMs)} | ${ratio(tiered.repeatedQuestionTtftMs, fullKv.repeatedQuestionTtftMs)} | ${ratio(tiered.repeatedQuestionTtftMs, hostKv.repeatedQuestionTtftMs)} |`,
      `| decode tokens/s | ${tps(tiered.decodeTokensPerSecond)} | ${tps(fullKv.decodeTokensPerSecond)} | ${tps(hostKv.decodeTokensPerSecond)} | ${ratio(tiered.decodeTokensPerSecond, fullKv.decodeTokensPerSecond)} | ${ratio(tiered.decodeTokensPerSecond, hostKv.decodeTokensPerSecond)} |`,
      '',
    );
    const prefixRatio = ratio(hostKv.prefixMs, fullKv.prefixMs);
    lines.push(
      `Prefill of the first ${int(hostKv.prefixTokens)} tokens: host-KV ${ms(hostKv.prefixMs)} (${rate(hostKv.prefixTokens, hostKv.prefixMs)}), full-KV ${ms(fullKv.prefixMs)} (${rate(fullKv.prefixTokens, fullKv.prefixMs)}); host-KV / full-KV ${prefixRatio}.` +
        (hostKv.restoreMs === null ? '' : ` Host-KV's remaining cells copied from the full-KV context in ${ms(hostKv.restoreMs)}.`),
    );
    const ingest = tiered.ingest;
    if (ingest !== null) {
      lines.push(
        `Tiered read: ${int(ingest.tokens)} tokens in ${int(ingest.blocks)} blocks, ${ms(ingest.totalMs)}: decode ${ms(ingest.decodeMs)}, select ${ms(ingest.selectMs)}, splice ${ms(ingest.spliceMs)}, capture ${ms(ingest.captureMs)}, abstracts ${ms(ingest.abstractMs)}, waiting for the disk ${ms(ingest.diskWaitMs)} (disk writes ${ms(ingest.diskWriteMs)}, mostly hidden).`,
      );
    }
    const r = tiered.repeated;
    lines.push(
      `Tiered repeated question: probe ${ms(r.probeMs)}, select ${ms(r.selectMs)}, splice ${ms(r.spliceMs)}; ${gib(r.bytesFromCpu)} from the CPU tier, ${gib(r.bytesFromDisk)} from disk. Decode generated ${tiered.generatedTokens} tokens (tiered), ${fullKv.generatedTokens} (full-KV), ${hostKv.generatedTokens} (host-KV).`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
