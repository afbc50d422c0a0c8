// npm run bench: the tiered engine against llama.cpp with the full KV cache, on the needle model at 2K,
// 32K and 128K tokens and the 8B-KV-shaped random model at 2K and 32K (f16), the needle sizes again in
// q8_0 and q4_0, and chunk scoring in TypeScript against the addon. Each workload runs in its own process
// (benchWorkloadChild.ts) so its peak memory is its own. Every number in the report is measured in this
// run; ratios are tiered / baseline from the same run. Writes bench/results/latest.{json,md}, and the
// document library's new-combination timings (libraryRun.ts) to bench/results/library.md.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { tieredEngineUnavailableReason } from '../engine/tiered/TieredEngine.ts';
import { parseOptions, positiveInteger } from '../cli/parseOptions.ts';
import { UsageError } from '../cli/UsageError.ts';
import { workloadSpecs } from './benchWorkloads.ts';
import { libraryRows, renderLibraryMarkdown } from './libraryRun.ts';
import { renderMarkdown, type BenchReport, type ScoringRow, type WorkloadResult } from './renderMarkdown.ts';

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const CHILD = fileURLToPath(new URL('./benchWorkloadChild.ts', import.meta.url));
const SCORING = fileURLToPath(new URL('../engine/tiered/abstracts/benchScoring.ts', import.meta.url));
const run = promisify(execFile);

export async function runBench(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, { quick: { type: 'boolean', default: false }, 'decode-tokens': { type: 'string' }, only: { type: 'string' } });
  const unavailable = tieredEngineUnavailableReason();
  if (unavailable !== null) {
    console.error(`strata bench: ${unavailable}`);
    return 1;
  }
  const decodeTokens = positiveInteger(values['decode-tokens'], '--decode-tokens') ?? 64;
  const all = workloadSpecs(values.quick);
  const only = values.only?.split(',');
  const sections = ['scoring', 'library'];
  const unknown = only?.filter((name) => !sections.includes(name) && !all.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) throw new UsageError(`--only takes workload names (${[...all.map((s) => s.name), ...sections].join(', ')}), got ${unknown.join(', ')}`);
  const specs = only ? all.filter((s) => only.includes(s.name)) : all;

  const results: WorkloadResult[] = [];
  for (const spec of specs) {
    const started = performance.now();
    console.error(`bench: ${spec.name}…`);
    const args = [CHILD, spec.name, '--decode-tokens', String(decodeTokens), ...(values.quick ? ['--quick'] : [])];
    const { stdout } = await run(process.execPath, args, { maxBuffer: 16 << 20 });
    results.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkloadResult);
    console.error(`bench: ${spec.name} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const scoring = await scoringRows(specs.length === all.length || only?.includes('scoring') ? 2000 : 0);
  const llama = await getLlamaRuntime();
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: { gpu: llama.gpu, cpuMathCores: llama.cpuMathCores, platform: `${process.platform}-${process.arch}` },
    quick: values.quick,
    results,
    scoring,
  };
  // The library's own report (bench/results/library.md): written by a full run and by --only library.
  if (!only || only.includes('library')) {
    console.error('bench: library…');
    const library = renderLibraryMarkdown(await libraryRows(values.quick), report.date);
    if (!values.quick) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(join(RESULTS_DIR, 'library.md'), library);
    }
    console.log(library);
  }
  if (only && specs.length === 0 && !only.includes('scoring')) return 0;
  const markdown = renderMarkdown(report);
  // A partial run (--only) is printed, not written over the committed full report.
  if (!only) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);
  }
  console.log(markdown);
  return 0;
}

/** Chunk scoring, TypeScript against the addon, for 2,000 chunks of the needle and the 8B shapes. */
async function scoringRows(chunks: number): Promise<ScoringRow[]> {
  if (chunks === 0) return [];
  const { stdout } = await run(process.execPath, [SCORING, '--json', '--chunks', String(chunks)]);
  return (JSON.parse(stdout) as { rows: ScoringRow[] }).rows;
}
