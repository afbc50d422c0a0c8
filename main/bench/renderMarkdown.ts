// The bench report as markdown: per issue-11 question (reading, decoding, asking again, overlap, memory
// and disk per KV type, scoring) a table of raw numbers and the ratio against the baseline measured in
// the same run.
import type { WorkloadSpec } from './benchWorkloads.ts';
import type { TieredResult } from './tieredRun.ts';

export interface WorkloadResult {
  spec: WorkloadSpec;
  description: string;
  gpuBudgetTokens: number;
  tiered: TieredResult;
  baseline: {
    /** llama.cpp, full KV: B tokens on top of B (B = the GPU budget). */
    marginalPrefill: { tokensPerSecond: number; ms: number } | null;
    /** llama.cpp, full KV: greedy decode with the whole document in context. */
    decode: { tokensPerSecond: number; contextTokens: number };
  };
}

export interface ScoringRow {
  shape: string;
  queryTokens: number;
  chunks: number;
  tsMs: number;
  nativeMs: number | null;
}

export interface BenchReport {
  date: string;
  machine: { gpu: unknown; cpuMathCores: number; platform: string };
  quick: boolean;
  results: WorkloadResult[];
  scoring: ScoringRow[];
  /** What happened to this run that its numbers do not say (a workload run again, and why). */
  notes?: string[];
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const rate = (v: number) => v.toFixed(v < 100 ? 1 : 0);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)}%`;
const mib = (v: number) => `${(v / 2 ** 20).toFixed(0)} MiB`;
const k = (tokens: number) => `${(tokens / 1000).toFixed(1)}K`;

export function renderMarkdown(report: BenchReport): string {
  const f16 = report.results.filter((r) => r.spec.kvCacheType === 'f16');
  const lines: string[] = [
    '# Strata bench: the tiered engine against llama.cpp with the full KV cache',
    '',
    `Run ${report.date} on ${report.machine.platform}, GPU: ${String(report.machine.gpu)}, ${report.machine.cpuMathCores} math cores${report.quick ? ' (--quick: small sizes)' : ''}. ` +
      `GPU budget ${report.results[0]?.gpuBudgetTokens ?? 0} tokens. Baseline: llama.cpp (the same build, threads, flash attention, ubatch 512 and KV type) with the whole ` +
      'KV cache in one context, no capture hook, greedy argmax in C++. Each workload runs in its own process. Ratios are tiered / baseline from this run.',
    '',
    'Models: ' + [...new Set(report.results.map((r) => `${r.spec.family}: ${r.description}`))].join('; ') + '.',
    '',
    '## Reading a document (ingest)',
    '',
    'Baseline: llama.cpp prefill of B tokens on top of B already in context (B = the GPU budget), the work per token of a read under a B-token budget. ' +
      '"Other" is everything on the critical path that is not llama.cpp decode: working-set choice and scoring, splices, blob capture, abstracts, waiting for the disk. ' +
      'Disk writes and fsyncs run behind the next block\'s decode ("hidden").',
    '',
    '| workload | tokens | tiered tok/s | baseline tok/s | tiered / baseline | decode | other | of which select / splice / capture / abstracts / disk wait | disk writes hidden |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of f16.filter((w) => w.baseline.marginalPrefill)) {
    const t = r.tiered;
    const i = t.ingest;
    const base = r.baseline.marginalPrefill!.tokensPerSecond;
    lines.push(
      `| ${r.spec.name} | ${k(i.tokens)} | ${rate(t.ingestTokensPerSecond)} | ${rate(base)} | **${ratio(t.ingestTokensPerSecond, base)}** | ${pct(i.decodeMs, i.totalMs)} | **${pct(i.totalMs - i.decodeMs, i.totalMs)}** | ` +
        `${ms(i.selectMs)} / ${ms(i.spliceMs)} / ${ms(i.captureMs)} / ${ms(i.abstractMs)} / ${ms(i.diskWaitMs)} | ${ms(Math.max(0, i.diskWriteMs - i.diskWaitMs))} of ${ms(i.diskWriteMs)} |`,
    );
    if (t.markTokensPerSecond !== null) {
      lines.push(`| ${r.spec.name}, first ${k(r.spec.markTokens!)} | ${k(r.spec.markTokens!)} | ${rate(t.markTokensPerSecond)} | ${rate(base)} | **${ratio(t.markTokensPerSecond, base)}** | | | | |`);
    }
  }
  lines.push(
    '',
    '## Decoding',
    '',
    'Greedy decode of the answer. Baseline: llama.cpp with the whole document in its KV cache (the stored chunks spliced into one context, the cells a full prefill leaves). Where the document fits the budget, each side is timed several times and its fastest run kept (needle 5, 8B-shaped 3). The tiered engine decodes greedy tokens in runs of about a frame (16 ms) inside C++; the baseline returns to JavaScript after each token, as node-llama-cpp does.',
    '',
    '| workload | document tokens | fits the budget | tiered tok/s | baseline tok/s | tiered / baseline |',
    '|---|---|---|---|---|---|',
  );
  for (const r of f16) {
    const fits = r.tiered.documentTokens + r.tiered.generatedTokens + 64 <= r.gpuBudgetTokens;
    lines.push(`| ${r.spec.name} | ${k(r.tiered.documentTokens)} | ${fits ? 'yes' : 'no'} | ${rate(r.tiered.decodeTokensPerSecond)} | ${rate(r.baseline.decode.tokensPerSecond)} | **${ratio(r.tiered.decodeTokensPerSecond, r.baseline.decode.tokensPerSecond)}** |`);
  }
  lines.push(
    '',
    '## Asking again',
    '',
    'Time to first token of a second, different question on a document already read; warm: the same process; cold: a new process (model opening not counted, shown apart). ' +
      'Probe: the question evaluated on the pinned chunks to get its queries; select: scoring every chunk\'s abstract and choosing; splice: loading the chosen chunks into the GPU tier. Disk loads hidden: blob reads that ran while earlier chunks were spliced or, for the last question\'s picks (read ahead as a guess), while the question was probed; "during the probe" counts the chosen chunks whose read started then.',
    '',
    '| workload | first question (reads the document) | repeated, warm | probe / select / splice | probe + select share | repeated, cold process | cold: probe / select / splice | cold: disk loads hidden | cold: model open |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of f16) {
    const w = r.tiered.repeated;
    const c = r.tiered.cold;
    lines.push(
      `| ${r.spec.name} | ${ms(r.tiered.firstTtftMs)} | **${ms(w.ttftMs)}** | ${ms(w.probeMs)} / ${ms(w.selectMs)} / ${ms(w.spliceMs)} | ${pct(w.probeMs + w.selectMs, w.ttftMs)} | ` +
        (c ? `**${ms(c.ttftMs)}** | ${ms(c.probeMs)} / ${ms(c.selectMs)} / ${ms(c.spliceMs)} | ${ms(c.loadHiddenMs)} (${mib(c.bytesFromDisk)} from disk; ${c.prefetchedChunks ?? 0} chunks read during the probe) | ${ms(c.openMs)} |` : '| | | |'),
    );
  }
  lines.push(
    '',
    '## Memory and disk per KV cache type',
    '',
    'Peak resident memory of the workload\'s process through the read and the questions (model weights included); blob bytes per token on disk. Ratios against f16 at the same size.',
    '',
    '| workload | KV type | tokens | peak resident memory | vs f16 | disk bytes / token | vs f16 | needle accuracy |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of report.results.filter((w) => w.spec.family === 'needle')) {
    const base = report.results.find((b) => b.spec.kvCacheType === 'f16' && b.spec.family === r.spec.family && b.spec.tokens === r.spec.tokens)!;
    const t = r.tiered;
    lines.push(
      `| ${r.spec.name} | ${r.spec.kvCacheType} | ${k(t.documentTokens)} | ${mib(t.peakRssBytes)} | ${ratio(t.peakRssBytes, base.tiered.peakRssBytes)} | ${t.blobBytesPerToken.toFixed(0)} | ${ratio(t.blobBytesPerToken, base.tiered.blobBytesPerToken)} | ${t.needleAccuracy === null ? 'n/a' : `${(t.needleAccuracy * 100).toFixed(0)}%`} |`,
    );
  }
  for (const r of f16.filter((w) => w.spec.family !== 'needle')) {
    lines.push(`| ${r.spec.name} | f16 | ${k(r.tiered.documentTokens)} | ${mib(r.tiered.peakRssBytes)} | | ${r.tiered.blobBytesPerToken.toFixed(0)} | | n/a |`);
  }
  lines.push(
    '',
    '## Scoring chunks',
    '',
    'Ranking chunks by their abstracts (Quest upper bounds, standardised per head): the TypeScript reference against the native addon (C++, AVX2 where the CPU has it, split over the cores), best of 5.',
    '',
    '| shape | query tokens | chunks | TypeScript | native | speedup |',
    '|---|---|---|---|---|---|',
  );
  for (const row of report.scoring) {
    lines.push(`| ${row.shape} | ${row.queryTokens} | ${row.chunks} | ${row.tsMs.toFixed(1)} ms | ${row.nativeMs === null ? 'n/a' : `${row.nativeMs.toFixed(1)} ms`} | ${row.nativeMs === null ? 'n/a' : `**${ratio(row.tsMs, row.nativeMs)}**`} |`);
  }
  lines.push('', 'On this CPU-only machine the "GPU tier" is the llama.cpp context that holds the working set.', '');
  for (const note of report.notes ?? []) lines.push(`Note: ${note}`, '');
  return lines.join('\n');
}
