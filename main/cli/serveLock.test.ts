// One process per data dir, as a user would meet it: a second `strata serve` (or `strata ask`) on a
// folder another Strata is using exits 2 naming that process, and the folder is private to its owner.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test/tempDir.ts';

const BIN = fileURLToPath(new URL('./strata.js', import.meta.url));
const POSIX = process.platform !== 'win32';

function strata(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; elapsedMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number | string }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** Starts `strata serve` and resolves once it printed its `Open http…` line. */
function startServe(dataDir: string, rendererDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir, '--renderer-dir', rendererDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('strata serve printed no URL within 30 s')), 30_000);
    const onExit = (code: number | null) => fail(new Error(`strata serve exited (${code}) before its URL: ${stderr}`));
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    }
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/^Open http/.test(line)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    });
  });
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test('a second strata serve on the same data dir exits 2 naming the first; the dir is private and the lock goes with the first', { timeout: 90_000 }, async (t) => {
  const root = tempDir(t);
  const data = join(root, 'data');
  const renderer = join(root, 'renderer');
  mkdirSync(renderer);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Strata</title>');

  const first = await startServe(data, renderer);
  const exited = new Promise<void>((resolve) => first.once('exit', () => resolve()));
  t.after(() => {
    if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
  });

  const second = await strata(['serve', '--port', '0', '--data-dir', data, '--renderer-dir', renderer], 20_000);
  assert.equal(second.code, 2, `second serve: code ${second.code}, stdout ${second.stdout}, stderr ${second.stderr}`);
  assert.ok(second.elapsedMs < 10_000, `the second serve took ${second.elapsedMs} ms to give up`);
  assert.match(second.stderr, new RegExp(`process ${first.pid}\\b`));
  assert.match(second.stderr, /strata serve/);
  assert.doesNotMatch(second.stdout, /Open http/);

  // strata ask is turned away the same way, before it touches the model.
  const ask = await strata(['ask', '--model', join(root, 'missing.gguf'), '--question', 'x', '--data-dir', data], 20_000);
  assert.equal(ask.code, 2, ask.stderr);
  assert.match(ask.stderr, new RegExp(`process ${first.pid}\\b`));

  if (POSIX) {
    assert.equal(mode(data).toString(8), '700');
    assert.equal(mode(join(data, 'catalog.sqlite')).toString(8), '600');
    assert.equal(mode(join(data, 'strata.lock')).toString(8), '600');
    for (const entry of readdirSync(data, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      assert.equal(mode(path).toString(8), entry.isDirectory() ? '700' : '600', path);
    }
  }

  first.kill('SIGTERM');
  await exited;
  assert.equal(first.exitCode, 0);
  assert.equal(existsSync(join(data, 'strata.lock')), false, 'strata.lock outlived the serve that held it');
});
