// One process per data dir: `<dataDir>/strata.lock` names the Strata that uses the folder (the app,
// `strata serve` or `strata ask`); a second one is told which process holds it instead of sharing the
// catalog and the KV segment files. The folder is private to its owner on POSIX (0700, files 0600).
//
// The lock file appears whole or not at all: its JSON is written to a temporary file that is then
// hard-linked to strata.lock (link fails with EEXIST when the name is taken), so no reader ever sees
// a half-written lock and mistakes it for garbage. A stale lock (its process is gone, or its content
// unreadable) is removed only while holding `strata.lock.break`, and judged again under it, so two
// starters that both find the same stale lock still end with exactly one winner.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export const LOCK_FILE_NAME = 'strata.lock';
const BREAK_SUFFIX = '.break';
/** A break marker older than this is left over from a process that died while breaking a lock. */
const BREAK_STALE_MS = 10_000;
const MAX_ATTEMPTS = 50;
const RETRY_WAIT_MS = 20;
const POSIX = process.platform !== 'win32';
/** The lock files this process holds. */
const heldPaths = new Set<string>();

export interface DataDirLockInfo {
  pid: number;
  holder: string;
  /** ISO 8601. */
  startedAt: string;
  hostname: string;
}

export interface DataDirLock {
  readonly dataDir: string;
  readonly path: string;
  readonly info: DataDirLockInfo;
  /** Removes strata.lock if it still names this process. Idempotent; also runs on process exit. */
  release(): void;
}

/** Another live process holds the data dir. */
export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  readonly dataDir: string;
  readonly pid: number;
  readonly holder: string;
  readonly startedAt: string;
  readonly hostname: string;

  constructor(dataDir: string, info: DataDirLockInfo) {
    const since = Number.isNaN(Date.parse(info.startedAt)) ? info.startedAt : new Date(info.startedAt).toLocaleString();
    const elsewhere = info.hostname !== hostname();
    const where = elsewhere ? ` on ${info.hostname}` : '';
    const hint = elsewhere ? ` If nothing of Strata's runs on ${info.hostname}, delete ${join(dataDir, LOCK_FILE_NAME)}.` : '';
    super(
      `Another Strata (${info.holder}, process ${info.pid}${where}, running since ${since}) is using ${dataDir}. ` +
        `Close it first, or pass --data-dir to use another folder.${hint}`,
    );
    this.name = 'DataDirLockedError';
    this.dataDir = dataDir;
    this.pid = info.pid;
    this.holder = info.holder;
    this.startedAt = info.startedAt;
    this.hostname = info.hostname;
  }
}

/**
 * Takes `<dataDir>/strata.lock` for this process (creating the folder, 0700, if needed), or throws
 * DataDirLockedError naming the live process that holds it. A lock whose process is gone, or whose
 * content is unreadable, is taken over.
 */
export function acquireDataDirLock(dataDirPath: string, holder: string): DataDirLock {
  const dataDir = resolve(dataDirPath);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, LOCK_FILE_NAME);
  const info: DataDirLockInfo = { pid: process.pid, holder, startedAt: new Date().toISOString(), hostname: hostname() };
  const content = `${JSON.stringify(info)}\n`;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(path, content)) return heldLock(dataDir, path, info);
    const existing = readLock(path);
    if (existing === 'missing') continue; // released between our link and our read
    if (existing !== 'garbage' && isAlive(existing, path)) throw new DataDirLockedError(dataDir, existing);
    const outcome = breakStaleLock(path, content);
    if (outcome === 'acquired') return heldLock(dataDir, path, info);
    if (outcome !== 'busy' && outcome !== 'retry') throw new DataDirLockedError(dataDir, outcome);
    sleepMs(RETRY_WAIT_MS);
  }
  throw new Error(`Could not take ${path}: it kept changing while Strata tried. Is another Strata starting on ${dataDir}?`);
}

/**
 * Makes the data dir private to its owner on POSIX: creates it (0700) if needed, sets it to 0700 and
 * everything below it to 0700 (folders) or 0600 (files), and sets this process's umask to 077 so the
 * files created later (the SQLite catalog and its -wal/-shm, the KV segment files) are 0600 too.
 * Symbolic links are left alone (chmod would change their targets). Only mkdir on Windows.
 */
export function ensurePrivateDataDir(dataDir: string): void {
  if (!POSIX) {
    mkdirSync(dataDir, { recursive: true });
    return;
  }
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  setMode(dataDir, 0o700);
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT')) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (setMode(path, 0o700)) walk(path);
      } else if (entry.isFile()) {
        setMode(path, 0o600);
      }
    }
  };
  walk(dataDir);
}

/** What a host calls before it opens the service: the lock first, then the folder made private. */
export function claimDataDir(dataDir: string, holder: string): DataDirLock {
  if (POSIX) process.umask(0o077); // the folder and the lock file are created private from the start
  const lock = acquireDataDirLock(dataDir, holder);
  try {
    ensurePrivateDataDir(dataDir);
  } catch (error) {
    lock.release();
    throw error;
  }
  return lock;
}

function heldLock(dataDir: string, path: string, info: DataDirLockInfo): DataDirLock {
  let released = false;
  heldPaths.add(path);
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    heldPaths.delete(path);
    const current = readLock(path);
    if (typeof current === 'object' && current.pid === info.pid && current.startedAt === info.startedAt) unlinkQuietly(path);
  };
  process.on('exit', release);
  return { dataDir, path, info, release };
}

/** Creates `path` holding `content`, all at once; false when the name is taken. */
function tryCreate(path: string, content: string): boolean {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeNew(temporary, content);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    // A file system without hard links: fall back to an exclusive create written in one call (a
    // reader could then see it empty for a moment, and take it for garbage).
    if (isCode(error, 'EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP', 'EXDEV')) {
      try {
        writeNew(path, content);
        return true;
      } catch (fallbackError) {
        if (isCode(fallbackError, 'EEXIST')) return false;
        throw fallbackError;
      }
    }
    throw error;
  } finally {
    unlinkQuietly(temporary);
  }
}

/**
 * Removes a stale strata.lock and takes it, while holding strata.lock.break so that no other starter
 * removes the lock this one then creates. Returns the live holder when the lock turned out not to be
 * stale after all, 'busy' while another starter is breaking it, 'retry' when the lock went away.
 */
function breakStaleLock(path: string, content: string): 'acquired' | 'busy' | 'retry' | DataDirLockInfo {
  const breakPath = `${path}${BREAK_SUFFIX}`;
  if (!tryCreate(breakPath, `${process.pid}\n`)) {
    removeAbandonedBreak(breakPath);
    return 'busy';
  }
  try {
    // Judged again under the break marker: another starter may have broken and taken it meanwhile.
    const existing = readLock(path);
    if (typeof existing === 'object' && isAlive(existing, path)) return existing;
    if (existing !== 'missing') unlinkQuietly(path);
    return tryCreate(path, content) ? 'acquired' : 'retry';
  } finally {
    unlinkQuietly(breakPath);
  }
}

/** A break marker whose process is gone, or that is old, is removed so that starters do not wait forever. */
function removeAbandonedBreak(breakPath: string): void {
  let pid: number;
  let ageMs: number;
  try {
    pid = Number(readFileSync(breakPath, 'utf8').trim());
    ageMs = Date.now() - lstatSync(breakPath).mtimeMs;
  } catch {
    return;
  }
  const dead = Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive({ pid, hostname: hostname() });
  if (dead || ageMs > BREAK_STALE_MS) unlinkQuietly(breakPath);
}

function readLock(path: string): DataDirLockInfo | 'missing' | 'garbage' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return 'missing';
    if (isCode(error, 'EISDIR')) return 'garbage';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<DataDirLockInfo> | null;
    if (!parsed || typeof parsed !== 'object') return 'garbage';
    const { pid, holder, startedAt, hostname: host } = parsed;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return 'garbage';
    return {
      pid,
      holder: typeof holder === 'string' && holder !== '' ? holder : 'Strata',
      startedAt: typeof startedAt === 'string' ? startedAt : 'an unknown time',
      hostname: typeof host === 'string' && host !== '' ? host : hostname(),
    };
  } catch {
    return 'garbage';
  }
}

/**
 * Whether the process a lock names still runs. A process on another machine cannot be asked, so its
 * lock counts as live. Our own pid counts only for a lock this process took: otherwise it is left by
 * an earlier process that had the same pid (a container's pid 1 after a restart).
 */
function isAlive(info: Pick<DataDirLockInfo, 'pid' | 'hostname'>, path?: string): boolean {
  if (info.hostname !== hostname()) return true;
  if (info.pid === process.pid) return path === undefined || heldPaths.has(path);
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH'); // EPERM: it exists, as another user
  }
}

/** Exclusive create of a new file holding `content`, private to its owner. */
function writeNew(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

/** Sets the mode when it differs; false when the path went away meanwhile. */
function setMode(path: string, wanted: number): boolean {
  try {
    if ((lstatSync(path).mode & 0o777) !== wanted) chmodSync(path, wanted);
    return true;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '');
}
