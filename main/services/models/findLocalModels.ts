// GGUF files already on this machine, so a first run can open one without typing a path: Strata's
// own models folder, and (read-only, never moved or changed) the places LM Studio and the Hugging Face
// cache keep theirs. Multi-part files list their first part only; downloads still in progress
// (.part, .incomplete, .download) are skipped.
import { readdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { LocalModelFile, LocalModelSource } from '../../../preload/api.ts';

export interface ModelSearchDir {
  dir: string;
  source: LocalModelSource;
}

const MAX_DEPTH = 6;
const MAX_FILES = 500;

/** Where to look: `<dataDir>/models`, LM Studio's folders, the Hugging Face hub cache. */
export function defaultModelSearchDirs(dataDir: string, env: NodeJS.ProcessEnv = process.env): ModelSearchDir[] {
  const home = homedir();
  const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'huggingface');
  return [
    { dir: join(dataDir, 'models'), source: 'strata' },
    { dir: join(home, '.lmstudio', 'models'), source: 'lm-studio' },
    { dir: join(home, '.cache', 'lm-studio', 'models'), source: 'lm-studio' },
    { dir: env.HF_HUB_CACHE ?? join(hfHome, 'hub'), source: 'huggingface' },
  ];
}

/** A .gguf file a model is opened by: a whole model, or the first part of a split one (-00001-of-N). */
export function isModelEntryFile(name: string): boolean {
  if (!/\.gguf$/i.test(name)) return false;
  const part = /-(\d{5})-of-\d{5}\.gguf$/i.exec(name);
  return part === null || part[1] === '00001';
}

export async function findLocalModels(dirs: readonly ModelSearchDir[]): Promise<LocalModelFile[]> {
  const found = new Map<string, LocalModelFile>();
  for (const { dir, source } of dirs) {
    await walk(dir, 0, async (path) => {
      const name = basename(path);
      if (!isModelEntryFile(name)) return;
      const real = await realpath(path).catch(() => null); // the HF cache links snapshots to blobs
      if (real === null || found.has(real)) return;
      const info = await stat(real).catch(() => null);
      if (!info?.isFile()) return;
      found.set(real, { path, fileName: name, sizeBytes: info.size, source, modifiedAt: Math.round(info.mtimeMs) });
    }, () => found.size >= MAX_FILES);
  }
  return [...found.values()].sort((a, b) => b.modifiedAt - a.modifiedAt);
}

async function walk(dir: string, depth: number, visit: (path: string) => Promise<void>, full: () => boolean): Promise<void> {
  if (depth > MAX_DEPTH || full()) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
  if (!entries) return;
  for (const entry of entries) {
    if (full()) return;
    if (entry.name.startsWith('.') && depth > 0) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, depth + 1, visit, full);
    else if (entry.isFile() || entry.isSymbolicLink()) await visit(path);
  }
}
