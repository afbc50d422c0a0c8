// Each test gets its own directory (and so its own SQLite catalog), removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export function tempDir(t: TestContext, prefix = 'strata-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Hooks run in the order they were added, so a service a test starts after this is still open
  // (its start-up sweep may still be creating folders) while this one runs: retry as rm -rf would,
  // and if files keep appearing, remove what is left when the test process ends instead.
  t.after(async () => {
    try {
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
  });
  return dir;
}
