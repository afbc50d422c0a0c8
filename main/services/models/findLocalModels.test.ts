// The models a first run offers: what is in Strata's folder, LM Studio's and the Hugging Face cache
// (whose snapshots link to blobs), newest first, without half-downloaded files or second parts.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../test/tempDir.ts';
import { defaultModelSearchDirs, findLocalModels } from './findLocalModels.ts';

test('finds GGUFs in the usual places, follows the Hugging Face cache links, skips parts and partial downloads', async (t) => {
  const root = tempDir(t);
  const strata = join(root, 'data', 'models');
  const lmstudio = join(root, 'lmstudio', 'lmstudio-community', 'Qwen2.5-7B-Instruct-GGUF');
  const hub = join(root, 'hub', 'models--bartowski--Llama-3.1-8B-Instruct-GGUF');
  for (const dir of [strata, lmstudio, join(hub, 'blobs'), join(hub, 'snapshots', 'abc123')]) mkdirSync(dir, { recursive: true });
  const write = (path: string, bytes: number, ageDays: number) => {
    writeFileSync(path, Buffer.alloc(bytes, 1));
    const when = Date.now() / 1000 - ageDays * 86400;
    utimesSync(path, when, when);
  };
  write(join(strata, 'mine.gguf'), 10, 3);
  write(join(strata, 'half.gguf.part'), 10, 0);
  write(join(lmstudio, 'Qwen2.5-7B-Instruct-Q4_K_M.gguf'), 20, 1);
  write(join(lmstudio, 'big-00001-of-00002.gguf'), 5, 2);
  write(join(lmstudio, 'big-00002-of-00002.gguf'), 5, 2);
  write(join(hub, 'blobs', 'sha256-deadbeef'), 30, 0.5);
  symlinkSync(join(hub, 'blobs', 'sha256-deadbeef'), join(hub, 'snapshots', 'abc123', 'Llama-3.1-8B-Instruct-Q4_K_M.gguf'));
  const found = await findLocalModels([
    { dir: strata, source: 'strata' },
    { dir: join(root, 'lmstudio'), source: 'lm-studio' },
    { dir: join(root, 'hub'), source: 'huggingface' },
    { dir: join(root, 'missing'), source: 'lm-studio' },
  ]);
  assert.deepEqual(found.map((m) => [m.fileName, m.source, m.sizeBytes]), [
    ['Llama-3.1-8B-Instruct-Q4_K_M.gguf', 'huggingface', 30],
    ['Qwen2.5-7B-Instruct-Q4_K_M.gguf', 'lm-studio', 20],
    ['big-00001-of-00002.gguf', 'lm-studio', 5],
    ['mine.gguf', 'strata', 10],
  ]);
  const dirs = defaultModelSearchDirs('/data', { HF_HOME: '/hf' });
  assert.deepEqual(dirs.map((d) => d.source), ['strata', 'lm-studio', 'lm-studio', 'huggingface']);
  assert.equal(dirs[0].dir, join('/data', 'models'));
  assert.equal(dirs[3].dir, join('/hf', 'hub'));
});
