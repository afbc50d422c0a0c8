// bench/device.sh runs on a GPU machine that CI never sees: its dry mode (the same bench code, CPU
// variant, a tiny model at 1K/2K tokens) runs here so that the script and the bench cannot rot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tieredEngineUnavailableReason } from '../engine/tiered/TieredEngine.ts';
import type { DeviceBenchReport } from './renderDeviceReport.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const unavailable = tieredEngineUnavailableReason();
const skip = unavailable === null ? false : `tiered engine unavailable: ${unavailable}`;

test('bench/device.sh and bench/device-pack.sh parse, and the pack lists what the GPU machine needs', { skip }, () => {
  for (const script of ['bench/device.sh', 'bench/device-pack.sh']) {
    const parsed = spawnSync('bash', ['-n', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(parsed.status, 0, `${script}: ${parsed.stderr}`);
  }
  const check = spawnSync('bash', ['bench/device-pack.sh', '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (check.stderr.includes('optional dependency')) return; // no CUDA prebuilt on this platform: nothing to pack
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /node: .*\(v22\./);
  assert.match(check.stdout, /addon: native\/build\/Release\/strata_tier\.node/);
  assert.match(check.stderr, /\d+ packages, \d+ files/);
});

test('bench/device.sh --dry writes the GPU report with every row for both sizes', { skip, timeout: 180_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'strata-device-dry-'));
  try {
    const run = spawnSync('bash', ['bench/device.sh', '--dry', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    assert.equal(run.status, 0, `exit ${run.status}: ${run.stderr.slice(-3000)}`);
    const markdown = readFileSync(join(out, 'gpu-dry.md'), 'utf8');
    const report = JSON.parse(readFileSync(join(out, 'gpu-dry.json'), 'utf8')) as DeviceBenchReport;

    assert.equal(report.mode, 'dry');
    assert.deepEqual(report.sizes.map((s) => s.targetTokens), [1024, 2048]);
    for (const size of report.sizes) {
      assert.ok(size.documentTokens >= size.targetTokens, `a ${size.targetTokens}-token document has ${size.documentTokens}`);
      const { tiered, fullKv, hostKv } = size;
      // The tiered engine read the document under its budget; full-KV held all of it; host-KV none on a GPU.
      assert.ok(tiered.ingest !== null && tiered.ingest.tokens >= size.documentTokens, 'the first question read the document');
      assert.ok(tiered.peakGpuTokens > 0 && tiered.peakGpuTokens <= report.settings.gpuBudgetTokens);
      assert.ok(fullKv.gpuKvTokens > size.documentTokens);
      assert.equal(hostKv.gpuKvTokens, 0);
      // Host-KV prefilled its first tokens itself and took the rest from the full-KV context.
      assert.equal(hostKv.readTokens, report.settings.hostPrefillTokens);
      assert.ok(hostKv.restoreMs !== null && hostKv.firstQuestionTtftMs === null);
      for (const run of [tiered, fullKv, hostKv]) {
        assert.ok(run.readMs > 0 && run.repeatedQuestionTtftMs > 0 && run.decodeTokensPerSecond > 0, JSON.stringify(run));
      }
      assert.equal(fullKv.generatedTokens, report.settings.decodeTokens);
      assert.equal(hostKv.generatedTokens, report.settings.decodeTokens);
    }

    for (const label of ['1K', '2K']) assert.match(markdown, new RegExp(`^## ${label} tokens \\(document: [\\d,]+ tokens\\)$`, 'm'));
    const rows = [
      'prompt tokens (document + question)', 'KV cells in GPU memory (peak)', 'KV bytes in GPU memory (peak)', 'reading the document',
      'time to first token, first question (includes reading the document)', 'time to first token, repeated question', 'decode tokens/s',
    ];
    for (const row of rows) {
      const lines = markdown.split('\n').filter((line) => line.startsWith(`| ${row} |`));
      assert.equal(lines.length, 2, `row "${row}" once per size`);
      for (const line of lines) assert.equal(line.split('|').length, 8, `six cells in: ${line}`);
    }
    // Every ratio is tiered / baseline from this run; the only blanks are what host-KV did not measure.
    const repeated = markdown.split('\n').find((line) => line.startsWith('| time to first token, repeated question |'))!;
    assert.match(repeated, /\| [\d.]+× \| [\d.]+× \|$/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
