// The `strata` command as a script would run it: exit codes and --json output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { tempDir } from '../test/tempDir.ts';

const BIN = fileURLToPath(new URL('./strata.js', import.meta.url));

function strata(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('strata ask --json answers a needle with answer and metrics', { timeout: 180_000 }, async (t) => {
  const model = await ensureTestModel('needle');
  const dir = tempDir(t);
  const haystack = makeHaystack({ wordCount: 1500, seed: 4, needles: [{ depth: 0.2 }, { depth: 0.7 }] });
  const doc = join(dir, 'facts.txt');
  writeFileSync(doc, haystack.text);
  const needle = haystack.needles[0];
  const run = await strata(['ask', '--model', model, '--doc', doc, '--question', needleQuestion(needle.key), '--max-tokens', '2', '--data-dir', join(dir, 'data'), '--json']);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { answer: string; metrics: Record<string, number> };
  assert.equal(out.answer.trim(), needle.values.join(' '));
  assert.equal(out.metrics.generatedTokens, 2);
  assert.ok(out.metrics.promptTokens > 1500);
  assert.ok(out.metrics.timeToFirstTokenMs > 0);

  const plain = await strata(['ask', '--model', model, '--doc', doc, '--question', needleQuestion(haystack.needles[1].key), '--max-tokens', '2', '--data-dir', join(dir, 'data')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout.trim(), haystack.needles[1].values.join(' '));
});

test('strata exits 2 with a clear message on bad usage and on the unavailable tiered engine', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const missing = await strata(['ask', '--question', 'x', '--data-dir', dir]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model is required/);
  const unknown = await strata(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command: frobnicate/);
  const tiered = await strata(['ask', '--model', 'm.gguf', '--question', 'x', '--engine', 'tiered', '--data-dir', dir]);
  assert.equal(tiered.code, 2);
  assert.match(tiered.stderr, /tiered engine is not available yet/);
});

test('strata ask on a file that is not a model exits 1 naming the file', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const fake = join(dir, 'fake.gguf');
  writeFileSync(fake, 'not a model');
  const run = await strata(['ask', '--model', fake, '--question', 'x', '--data-dir', join(dir, 'data')]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /fake\.gguf is not a GGUF model file/);
});
