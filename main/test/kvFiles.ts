// What is on disk under a data dir, for tests that compare it with what the catalog accounts for.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesUnder(dir: string): { path: string; bytes: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), bytes: statSync(join(e.parentPath, e.name)).size }));
}

/** Bytes of every file under `<dataDir>/kv` (segments and anything a crash left). */
export function kvBytesOnDisk(dataDir: string): number {
  return filesUnder(join(dataDir, 'kv')).reduce((sum, f) => sum + f.bytes, 0);
}
