// Each test gets its own directory (and so its own SQLite catalog), removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export function tempDir(t: TestContext, prefix = 'strata-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // Hooks run in the order they were added, so a service a test starts after this may still be
  // closing (its catalog writing its last WAL pages) while the folder goes: retry, as rm -rf would.
  t.after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  return dir;
}
