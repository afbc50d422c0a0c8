// The `strata` command as a script would run it: exit codes and --json output.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { tempDir } from '../test/tempDir.ts';

const BIN = fileURLToPath(new URL('./strata.js', import.meta.url));

/** `path mode` for the folder and everything in it, e.g. `kv/doc/0.seg 600`. */
function modesUnder(root: string): string[] {
  const lines = [`. ${(statSync(root).mode & 0o777).toString(8)}`];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    lines.push(`${path.slice(root.length + 1)} ${(statSync(path).mode & 0o777).toString(8)}`);
  }
  return lines;
}

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
  const run = await strata(['ask', '--model', model, '--doc', doc, '--question', needleQuestion(needle.key), '--max-tokens', '2', '--data-dir', join(dir, 'data'), '--json', '--engine', 'standard']);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { answer: string; engine: string; metrics: Record<string, number> };
  assert.equal(out.engine, 'standard');
  assert.equal(out.answer.trim(), needle.values.join(' '));
  assert.equal(out.metrics.generatedTokens, 2);
  assert.ok(out.metrics.promptTokens > 1500);
  assert.ok(out.metrics.timeToFirstTokenMs > 0);

  const plain = await strata(['ask', '--model', model, '--doc', doc, '--question', needleQuestion(haystack.needles[1].key), '--max-tokens', '2', '--data-dir', join(dir, 'data')]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(plain.stdout.trim(), haystack.needles[1].values.join(' '));
});

test('strata exits 2 with a clear message on bad usage', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const missing = await strata(['ask', '--question', 'x', '--data-dir', dir]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--model is required/);
  const unknown = await strata(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command: frobnicate/);
  const engine = await strata(['ask', '--model', 'm.gguf', '--question', 'x', '--engine', 'turbo', '--data-dir', dir]);
  assert.equal(engine.code, 2);
  assert.match(engine.stderr, /--engine must be standard or tiered/);
  const budget = await strata(['ask', '--model', 'm.gguf', '--question', 'x', '--gpu-budget', 'lots', '--data-dir', dir]);
  assert.equal(budget.code, 2);
  assert.match(budget.stderr, /--gpu-budget must be a positive integer/);
});

test('strata ask --json reports failures as one object with engine and error.code; every setting is a flag', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const fake = join(dir, 'fake.gguf');
  writeFileSync(fake, 'not a model');
  const run = await strata(['ask', '--model', fake, '--question', 'x', '--data-dir', join(dir, 'data'), '--json']);
  assert.equal(run.code, 1);
  const reply = JSON.parse(run.stdout) as { engine: string | null; error: { code: string; message: string } };
  assert.ok('engine' in reply);
  assert.equal(typeof reply.error.code, 'string');
  assert.match(reply.error.message, /fake\.gguf/);

  const bad = await strata(['ask', '--model', fake, '--question', 'x', '--data-dir', join(dir, 'data'), '--chunk-min-tokens', '300', '--chunk-max-tokens', '100', '--json']);
  assert.equal(bad.code, 2, 'a refused setting is bad usage');
  assert.match(bad.stderr, /chunkMaxTokens/);
  assert.deepEqual(Object.keys(JSON.parse(bad.stdout)), ['engine', 'error']);
  assert.equal(JSON.parse(bad.stdout).error.code, 'BAD_USAGE');

  const modelPath = await ensureTestModel('needle');
  const hay = makeHaystack({ wordCount: 2000, seed: 4, needles: [{ depth: 0.5 }] });
  const doc = join(dir, 'hay.txt');
  writeFileSync(doc, hay.text);
  const flags = ['--gpu-budget', '256', '--chunk-min-tokens', '8', '--chunk-max-tokens', '32', '--cpu-tier-bytes', '1048576', '--disk-budget-bytes', '1073741824', '--scoring-layers', '1', '--reselect-every', '0'];
  const ok = await strata(['ask', '--model', modelPath, '--doc', doc, '--question', needleQuestion(hay.needles[0].key), '--max-tokens', '2', '--data-dir', join(dir, 'data'), '--json', ...flags]);
  assert.equal(ok.code, 0, ok.stderr);
  const answer = JSON.parse(ok.stdout) as { answer: string; engine: string; metrics: { tiered: { gpuBudgetTokens: number; chunksTotal: number; peakGpuResidentTokens: number } } };
  assert.equal(answer.engine, 'tiered');
  assert.equal(answer.answer.trim(), hay.needles[0].values.join(' '));
  assert.equal(answer.metrics.tiered.gpuBudgetTokens, 256);
  assert.ok(answer.metrics.tiered.chunksTotal > 2000 / 32, `chunks of at most 32 tokens (${answer.metrics.tiered.chunksTotal})`);
  assert.ok(answer.metrics.tiered.peakGpuResidentTokens <= 256);
});

test('strata ask on a file that is not a model exits 1 naming the file', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const fake = join(dir, 'fake.gguf');
  writeFileSync(fake, 'not a model');
  const run = await strata(['ask', '--model', fake, '--question', 'x', '--data-dir', join(dir, 'data')]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /fake\.gguf is not a GGUF model file/);
});

test('strata ask --engine tiered --gpu-budget answers from the tiers and reports tier metrics', { timeout: 180_000 }, async (t) => {
  const model = await ensureTestModel('needle');
  const dir = tempDir(t);
  const haystack = makeHaystack({ wordCount: 6000, seed: 8, needles: [{ depth: 0.1 }, { depth: 0.6 }] });
  const doc = join(dir, 'facts.txt');
  writeFileSync(doc, haystack.text);
  const ask = (key: string) => strata(['ask', '--model', model, '--doc', doc, '--question', needleQuestion(key), '--max-tokens', '2', '--gpu-budget', '1024', '--data-dir', join(dir, 'data'), '--json']);
  const first = await ask(haystack.needles[0].key);
  assert.equal(first.code, 0, first.stderr);
  const out = JSON.parse(first.stdout) as { answer: string; engine: string; metrics: { tiered: Record<string, number> & { residentBytes: Record<string, number> } } };
  assert.equal(out.engine, 'tiered');
  assert.equal(out.answer.trim(), haystack.needles[0].values.join(' '));
  const tiered = out.metrics.tiered;
  for (const key of ['probeMs', 'selectMs', 'spliceMs', 'bytesFromCpu', 'bytesFromDisk', 'peakGpuResidentTokens']) assert.equal(typeof tiered[key], 'number', key);
  assert.equal(tiered.gpuBudgetTokens, 1024);
  assert.ok(tiered.peakGpuResidentTokens <= 1024);
  assert.ok(tiered.documentTokensEvaluated > 6000, 'the first question reads the document');
  assert.ok(tiered.residentBytes.disk > 0);

  // A second process on the same data dir answers from disk without reading the document again.
  const second = await ask(haystack.needles[1].key);
  assert.equal(second.code, 0, second.stderr);
  const again = JSON.parse(second.stdout) as { answer: string; metrics: { tiered: { documentTokensEvaluated: number; bytesFromDisk: number } } };
  assert.equal(again.answer.trim(), haystack.needles[1].values.join(' '));
  assert.equal(again.metrics.tiered.documentTokensEvaluated, 0);
  assert.ok(again.metrics.tiered.bytesFromDisk > 0);

  // The catalog and the KV segment files on disk are the user's alone: folders 0700, files 0600.
  if (process.platform !== 'win32') {
    const modes = modesUnder(join(dir, 'data'));
    assert.ok(modes.some((line) => /\.seg 600$/.test(line)), modes.join('\n'));
    assert.deepEqual(modes.filter((line) => !/ (600|700)$/.test(line)), [], 'not private');
  }
});

test('strata docs add|list|text|rm and settings get|set: the library and the settings from a terminal, --json for every outcome', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const lease = join(dir, 'lease.txt');
  writeFileSync(lease, 'The lease ends in March.\n');
  const added = await strata(['docs', 'add', lease, '--data-dir', data, '--json']);
  assert.equal(added.code, 0, added.stderr);
  const [doc] = JSON.parse(added.stdout).documents;
  assert.equal(doc.fileName, 'lease.txt');
  const again = await strata(['docs', 'add', join(dir, 'lease.txt'), '--data-dir', data]);
  assert.equal(again.code, 0);
  assert.match(again.stderr, /lease\.txt is already in the library/);
  const listed = await strata(['docs', 'list', '--data-dir', data]);
  assert.match(listed.stdout, new RegExp(`${doc.id}\\s+txt .* lease\\.txt`));
  const text = await strata(['docs', 'text', doc.id, '--data-dir', data]);
  assert.equal(text.stdout, 'The lease ends in March.\n');
  const missing = await strata(['docs', 'text', 'nope', '--data-dir', data, '--json']);
  assert.equal(missing.code, 1);
  assert.equal(JSON.parse(missing.stdout).error.code, 'NOT_FOUND');
  const folder = await strata(['docs', 'add', dir, '--data-dir', data, '--json']);
  assert.equal(folder.code, 1);
  assert.deepEqual(JSON.parse(folder.stdout).error.code, 'NOT_A_FILE');
  const removed = await strata(['docs', 'rm', doc.id, '--data-dir', data, '--json']);
  assert.deepEqual(JSON.parse(removed.stdout), { removed: doc.id });
  assert.equal(JSON.parse((await strata(['docs', 'list', '--data-dir', data, '--json'])).stdout).documents.length, 0);

  const set = await strata(['settings', 'set', 'gpuBudgetTokens', '2048', '--data-dir', data, '--json']);
  assert.equal(JSON.parse(set.stdout).settings.gpuBudgetTokens, 2048);
  const kv = await strata(['settings', 'set', 'kvCacheType', 'q8_0', '--data-dir', data]);
  assert.equal(kv.stdout, 'kvCacheType = "q8_0"\n');
  const got = await strata(['settings', 'get', 'gpuBudgetTokens', '--data-dir', data]);
  assert.equal(got.stdout, 'gpuBudgetTokens = 2048\n');
  const refused = await strata(['settings', 'set', 'gpuBudgetTokens', '12', '--data-dir', data, '--json']);
  assert.equal(refused.code, 1);
  assert.equal(JSON.parse(refused.stdout).error.code, 'INVALID_SETTING');
  const unknown = await strata(['settings', 'set', 'turbo', '1', '--data-dir', data, '--json']);
  assert.equal(unknown.code, 2);
  assert.equal(JSON.parse(unknown.stdout).error.code, 'BAD_USAGE');
  for (const help of [['docs', '--help'], ['settings', '--help']]) assert.equal((await strata(help)).code, 0);

  // ask: a folder or a missing file as --doc is said before the model loads.
  const askFolder = await strata(['ask', '--model', 'm.gguf', '--doc', dir, '--question', 'x', '--data-dir', data, '--json']);
  assert.equal(askFolder.code, 2);
  assert.match(JSON.parse(askFolder.stdout).error.message, /is a folder/);
});

test('strata docs prepare reads a document ahead of any question and finds it read the second time; docs list --model shows it; a bad ID fails clearly', { timeout: 240_000 }, async (t) => {
  const model = await ensureTestModel('needle');
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const file = join(dir, 'hay.txt');
  writeFileSync(file, makeHaystack({ wordCount: 2000, seed: 21, needles: [{ depth: 0.5 }] }).text);
  const [doc] = JSON.parse((await strata(['docs', 'add', file, '--data-dir', data, '--json'])).stdout).documents;
  const library = ['--kv-reuse', 'library', '--data-dir', data];

  const first = await strata(['docs', 'prepare', doc.id, '--model', model, ...library, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const read = JSON.parse(first.stdout) as { id: string; tokensEvaluated: number; kv: { state: string; bytes: number; tier: string } };
  assert.equal(read.id, doc.id);
  assert.ok(read.tokensEvaluated > 2000, `the document was read (${read.tokensEvaluated} tokens)`);
  assert.equal(read.kv.state, 'complete');
  assert.ok(read.kv.bytes > 0);
  // Without --model: the model opened last, as the app reopens it.
  const second = await strata(['docs', 'prepare', doc.id, ...library]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /hay\.txt: read before with .*, nothing to do \(read · [\d.]+ MiB (on disk|in RAM|on GPU)\)/);
  const listed = await strata(['docs', 'list', '--model', model, ...library]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${doc.id}\\s+txt .* read · [\\d.]+ MiB on disk\\s+hay\\.txt`));

  const bad = await strata(['docs', 'prepare', 'nope', '--model', model, '--data-dir', data, '--json']);
  assert.equal(bad.code, 1);
  assert.equal(JSON.parse(bad.stdout).error.code, 'NOT_FOUND');
  assert.match(bad.stderr, /No document with id nope \(strata docs list shows them\)/);
  const usage = await strata(['docs', 'prepare', '--data-dir', data]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /strata docs prepare needs one document ID/);
  assert.equal((await strata(['docs', 'prepare', doc.id, '--kv-reuse', 'sometimes', '--data-dir', data])).code, 2);
});

test('strata ask says how the reading goes on stderr (a line every few seconds when not a terminal), and nothing with --quiet', { timeout: 300_000 }, async (t) => {
  const model = await ensureTestModel('needle');
  const dir = tempDir(t);
  const haystack = makeHaystack({ wordCount: 12_000, seed: 8, needles: [{ depth: 0.5 }] });
  const doc = join(dir, 'long.txt');
  writeFileSync(doc, haystack.text);
  const question = needleQuestion(haystack.needles[0].key);
  const loud = await strata(['ask', '--model', model, '--doc', doc, '--question', question, '--max-tokens', '2', '--gpu-budget', '1024', '--data-dir', join(dir, 'a')]);
  assert.equal(loud.code, 0, loud.stderr);
  assert.match(loud.stderr, /Reading documents: [\d,]+\/[\d,]+ tokens \(\d+%\)/);
  const quiet = await strata(['ask', '--model', model, '--doc', doc, '--question', question, '--max-tokens', '2', '--gpu-budget', '1024', '--data-dir', join(dir, 'b'), '--quiet']);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /Reading documents/);
  assert.equal(quiet.stdout.trim(), haystack.needles[0].values.join(' '));
});

test('strata chat: questions from stdin stream their answers, /docs lists the documents, --conversation continues after a restart; strata models list', { timeout: 300_000 }, async (t) => {
  const model = await ensureTestModel('needle');
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const haystack = makeHaystack({ wordCount: 2000, seed: 12, needles: [{ depth: 0.3 }, { depth: 0.8 }] });
  const doc = join(dir, 'facts.txt');
  writeFileSync(doc, haystack.text);
  const chat = (args: string[], input: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [BIN, 'chat', '--model', model, '--max-tokens', '2', '--data-dir', data, ...args], { timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
  const [first, second] = haystack.needles;
  const run = await chat(['--doc', doc], `${needleQuestion(first.key)}\n/docs\n/nonsense\n/quit\n`);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(first.values.join(' ')));
  assert.match(run.stdout, /facts\.txt \(\d+ tokens\)/);
  assert.match(run.stderr, /unknown command \/nonsense/);
  const id = /conversation ([0-9a-f-]{36})/.exec(run.stderr)![1];
  const again = await chat(['--conversation', id], `${needleQuestion(second.key)}\n`);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(second.values.join(' ')));
  const listed = await strata(['models', 'list', '--data-dir', data, '--json']);
  assert.equal(JSON.parse(listed.stdout).recent[0].path, model);
  assert.equal((await strata(['chat', '--help'])).code, 0);
});

test('strata models pull downloads from the Hub named by STRATA_HF_ENDPOINT into the models folder, then lists it', { timeout: 120_000 }, async (t) => {
  const { startFakeHub } = await import('../test/fakeHub.ts');
  const model = new Uint8Array((await import('node:fs')).readFileSync(await ensureTestModel('needle')));
  const hub = await startFakeHub('strata-test', 'needle-GGUF', { 'needle-F32.gguf': { bytes: model }, 'broken.gguf': { bytes: model, damage: true } });
  t.after(() => hub.close());
  const data = join(tempDir(t), 'data');
  const pull = (uri: string) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, 'models', 'pull', uri, '--data-dir', data, '--json'], { timeout: 60_000, env: { ...process.env, STRATA_HF_ENDPOINT: hub.endpoint } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
  const ok = await pull('hf:strata-test/needle-GGUF/needle-F32.gguf');
  assert.equal(ok.code, 0, ok.stderr);
  const pulled = JSON.parse(ok.stdout).model;
  assert.equal(pulled.sizeBytes, model.length);
  assert.ok(pulled.path.startsWith(join(data, 'models')));
  const broken = await pull('hf:strata-test/needle-GGUF/broken.gguf');
  assert.equal(broken.code, 1);
  assert.equal(JSON.parse(broken.stdout).error.code, 'DOWNLOAD_CORRUPT');
  const listed = JSON.parse((await strata(['models', 'list', '--data-dir', data, '--json'])).stdout);
  const ours = listed.local.filter((m: { path: string }) => m.path.startsWith(data));
  assert.deepEqual(ours.map((m: { source: string; sizeBytes: number }) => [m.source, m.sizeBytes]), [['strata', model.length]], 'the damaged download is not offered');
});
