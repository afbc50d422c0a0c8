// The bench report as a markdown table: raw numbers per engine and the tiered / standard ratio.

export interface EngineRun {
  promptTokens: number;
  firstQuestionTtftMs: number;
  repeatedQuestionTtftMs: number;
  decodeTokensPerSecond: number;
  peakGpuTierTokens: number;
  peakGpuTierBytes: number;
  needleAccuracy: number | null;
  repeated: { probeMs: number; selectMs: number; spliceMs: number; bytesFromCpu: number; bytesFromDisk: number } | null;
}

export interface WorkloadResult {
  name: string;
  model: string;
  documentTokens: number;
  gpuBudgetTokens: number;
  standard: EngineRun;
  tiered: EngineRun;
}

export interface BenchReport {
  date: string;
  machine: { gpu: unknown; cpuMathCores: number; platform: string };
  results: WorkloadResult[];
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mib = (v: number) => `${(v / 1024 / 1024).toFixed(1)} MiB`;
const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(0)}%`);
const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

export function renderMarkdown(report: BenchReport): string {
  const lines = [
    '# Strata bench: tiered vs standard (full KV cache)',
    '',
    `Run ${report.date} on ${report.machine.platform}, GPU: ${String(report.machine.gpu)}, ${report.machine.cpuMathCores} math cores. Ratios are tiered / standard from this same run.`,
    '',
  ];
  for (const r of report.results) {
    const { standard: s, tiered: t } = r;
    lines.push(
      `## ${r.name}`,
      '',
      `${r.model}; prompt ${r.documentTokens} tokens; tiered GPU budget ${r.gpuBudgetTokens} tokens.`,
      '',
      '| metric | standard | tiered | tiered / standard |',
      '|---|---|---|---|',
      `| time to first token, first question (includes reading the document) | ${ms(s.firstQuestionTtftMs)} | ${ms(t.firstQuestionTtftMs)} | ${ratio(t.firstQuestionTtftMs, s.firstQuestionTtftMs)} |`,
      `| time to first token, repeated question | ${ms(s.repeatedQuestionTtftMs)} | ${ms(t.repeatedQuestionTtftMs)} | ${ratio(t.repeatedQuestionTtftMs, s.repeatedQuestionTtftMs)} |`,
      `| decode tokens/s | ${s.decodeTokensPerSecond.toFixed(1)} | ${t.decodeTokensPerSecond.toFixed(1)} | ${ratio(t.decodeTokensPerSecond, s.decodeTokensPerSecond)} |`,
      `| peak GPU-tier KV (tokens) | ${s.peakGpuTierTokens} | ${t.peakGpuTierTokens} | ${ratio(t.peakGpuTierTokens, s.peakGpuTierTokens)} |`,
      `| peak GPU-tier KV (bytes) | ${mib(s.peakGpuTierBytes)} | ${mib(t.peakGpuTierBytes)} | ${ratio(t.peakGpuTierBytes, s.peakGpuTierBytes)} |`,
      `| needle accuracy | ${pct(s.needleAccuracy)} | ${pct(t.needleAccuracy)} | |`,
      '',
    );
    if (t.repeated) {
      lines.push(
        `Repeated question, tiered: probe ${ms(t.repeated.probeMs)}, select ${ms(t.repeated.selectMs)}, splice ${ms(t.repeated.spliceMs)}, ${mib(t.repeated.bytesFromCpu)} from the CPU tier, ${mib(t.repeated.bytesFromDisk)} from disk.`,
        '',
      );
    }
  }
  lines.push('On this CPU-only machine the "GPU tier" is the llama.cpp context that holds the working set; the bytes are its KV cells (f16 K and V plus bookkeeping).', '');
  return lines.join('\n');
}
