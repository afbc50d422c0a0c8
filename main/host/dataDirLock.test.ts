import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../test/tempDir.ts';
import { DataDirLockedError, acquireDataDirLock, claimDataDir, ensurePrivateDataDir } from './dataDirLock.ts';

const POSIX = process.platform !== 'win32';
const MODULE_URL = new URL('./dataDirLock.ts', import.meta.url).href;

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

/** The pid of a process that has exited (spawnSync reaps it before returning). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid && child.pid > 0);
  return child.pid;
}

function writeLock(dir: string, pid: number, holder = 'strata serve'): void {
  writeFileSync(join(dir, 'strata.lock'), JSON.stringify({ pid, holder, startedAt: '2020-01-02T03:04:05.000Z', hostname: hostname() }));
}

test('acquire writes strata.lock naming this process; a second acquire throws DATA_DIR_LOCKED naming it', (t) => {
  const dir = join(tempDir(t), 'data');
  const lock = acquireDataDirLock(dir, 'strata serve');
  t.after(() => lock.release());
  const file = join(dir, 'strata.lock');
  const content = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.equal(content.pid, process.pid);
  assert.equal(content.holder, 'strata serve');
  assert.equal(content.hostname, hostname());
  assert.ok(!Number.isNaN(Date.parse(String(content.startedAt))));
  if (POSIX) assert.equal(mode(file), '600');

  assert.throws(
    () => acquireDataDirLock(dir, 'strata ask'),
    (error: unknown) => {
      assert.ok(error instanceof DataDirLockedError);
      assert.equal(error.code, 'DATA_DIR_LOCKED');
      assert.equal(error.pid, process.pid);
      assert.equal(error.holder, 'strata serve');
      assert.match(error.message, new RegExp(`Another Strata \\(strata serve, process ${process.pid}, running since .+\\) is using `));
      assert.ok(error.message.includes(dir), error.message);
      assert.match(error.message, /--data-dir/);
      return true;
    },
  );
  // The refused acquire did not disturb the holder's lock.
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { holder: string }).holder, 'strata serve');
});

test('a lock left by a process that is gone, or an unreadable one, is taken over', (t) => {
  const dir = tempDir(t);
  const dead = deadPid();
  writeLock(dir, dead);
  const lock = acquireDataDirLock(dir, 'strata ask');
  assert.equal((JSON.parse(readFileSync(join(dir, 'strata.lock'), 'utf8')) as { pid: number }).pid, process.pid);
  lock.release();

  for (const garbage of ['', '{"pid":', 'null', '{"pid":0}', '{"pid":-1,"holder":"x"}']) {
    writeFileSync(join(dir, 'strata.lock'), garbage);
    const again = acquireDataDirLock(dir, 'strata ask');
    assert.equal(again.info.pid, process.pid, `garbage ${JSON.stringify(garbage)}`);
    again.release();
  }
});

test('a lock held by another live process is refused, naming that process', { timeout: 30_000 }, async (t) => {
  const dir = tempDir(t);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  writeLock(dir, sleeper.pid!, 'the Strata app');
  assert.throws(() => acquireDataDirLock(dir, 'strata serve'), (error: unknown) => {
    assert.ok(error instanceof DataDirLockedError);
    assert.equal(error.pid, sleeper.pid);
    assert.match(error.message, new RegExp(`the Strata app, process ${sleeper.pid}\\b`));
    return true;
  });
  const exited = new Promise((resolve) => sleeper.once('exit', resolve));
  sleeper.kill('SIGKILL');
  await exited;
  acquireDataDirLock(dir, 'strata serve').release();
});

test('release is idempotent, removes the file, and leaves a lock that another process took since', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'strata.lock');
  const lock = acquireDataDirLock(dir, 'strata serve');
  lock.release();
  assert.equal(existsSync(file), false);
  lock.release();
  assert.equal(existsSync(file), false);

  const next = acquireDataDirLock(dir, 'strata serve');
  assert.equal(existsSync(file), true);
  next.release();
  next.release();
  assert.equal(existsSync(file), false);

  const mine = acquireDataDirLock(dir, 'strata serve');
  writeLock(dir, process.pid + 1_000_000, 'someone else');
  mine.release();
  assert.equal(existsSync(file), true, 'release removed a lock it no longer held');
});

test('the lock goes when its process exits without releasing it', { timeout: 30_000 }, (t) => {
  const dir = tempDir(t);
  const script = `import { acquireDataDirLock } from ${JSON.stringify(MODULE_URL)}; acquireDataDirLock(process.env.DIR, 'strata ask'); process.exit(0);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DIR: dir }, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(existsSync(join(dir, 'strata.lock')), false);
});

test('starters racing for a stale lock end with exactly one winner', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const contenders = 8;
  // Each waits for the same instant, then tries; the winner holds the lock long enough for all the others to try.
  const script = `
    import { acquireDataDirLock } from ${JSON.stringify(MODULE_URL)};
    const startAt = Number(process.env.START_AT);
    while (Date.now() < startAt) {}
    try {
      const lock = acquireDataDirLock(process.env.DIR, 'strata serve');
      console.log('won');
      setTimeout(() => lock.release(), 1500);
    } catch (error) {
      console.log(error.code === 'DATA_DIR_LOCKED' ? 'locked ' + error.pid : 'error ' + error.message);
    }`;
  for (let round = 0; round < 5; round++) {
    writeLock(dir, deadPid());
    const startAt = Date.now() + 800;
    const runs = Array.from({ length: contenders }, () =>
      new Promise<{ pid: number; out: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, DIR: dir, START_AT: String(startAt) } });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.once('error', reject);
        child.once('exit', () => resolve({ pid: child.pid!, out: out.trim() }));
      }),
    );
    const results = await Promise.all(runs);
    const winners = results.filter((r) => r.out === 'won');
    assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
    for (const loser of results.filter((r) => r.out !== 'won')) assert.equal(loser.out, `locked ${winners[0]!.pid}`, `round ${round}`);
    assert.equal(existsSync(join(dir, 'strata.lock')), false);
  }
});

test('ensurePrivateDataDir makes the folder 0700 and what is in it 0700/0600, and new files 0600', { skip: !POSIX }, (t) => {
  const dir = join(tempDir(t), 'data');
  mkdirSync(join(dir, 'kv', 'doc1'), { recursive: true, mode: 0o755 });
  for (const sub of [dir, join(dir, 'kv'), join(dir, 'kv', 'doc1')]) chmodSync(sub, 0o755);
  for (const file of [join(dir, 'catalog.sqlite'), join(dir, 'catalog.sqlite-wal'), join(dir, 'kv', 'doc1', 'seg-0.bin')]) {
    writeFileSync(file, 'x');
    chmodSync(file, 0o644);
  }
  const umask = process.umask(0o022);
  t.after(() => process.umask(umask));

  ensurePrivateDataDir(dir);
  assert.equal(mode(dir), '700');
  assert.equal(mode(join(dir, 'kv')), '700');
  assert.equal(mode(join(dir, 'kv', 'doc1')), '700');
  assert.equal(mode(join(dir, 'catalog.sqlite')), '600');
  assert.equal(mode(join(dir, 'catalog.sqlite-wal')), '600');
  assert.equal(mode(join(dir, 'kv', 'doc1', 'seg-0.bin')), '600');

  // Files and folders the catalog and the disk tier create later are private too.
  writeFileSync(join(dir, 'catalog.sqlite-shm'), 'x');
  mkdirSync(join(dir, 'kv', 'doc2'));
  assert.equal(mode(join(dir, 'catalog.sqlite-shm')), '600');
  assert.equal(mode(join(dir, 'kv', 'doc2')), '700');
});

test('claimDataDir creates a missing folder 0700 with its lock 0600', { skip: !POSIX }, (t) => {
  const dir = join(tempDir(t), 'fresh');
  const umask = process.umask(0o022);
  t.after(() => process.umask(umask));
  const lock = claimDataDir(dir, 'strata serve');
  t.after(() => lock.release());
  assert.equal(mode(dir), '700');
  assert.equal(mode(join(dir, 'strata.lock')), '600');
  assert.throws(() => claimDataDir(dir, 'strata ask'), { code: 'DATA_DIR_LOCKED' });
});
