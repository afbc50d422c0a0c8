// Downloads against a loopback Hub: a file arrives and matches the repository's SHA-256; a damaged one
// is refused and removed; a connection dropped mid-file is asked again and completes.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { startFakeHub } from '../../test/fakeHub.ts';
import { tempDir } from '../../test/tempDir.ts';
import { parseHfUri, pullModel } from './pullModel.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

test('pulls a model, checks it against the tree listing, refuses and removes a damaged one, completes one whose connection dropped', { timeout: 120_000 }, async (t) => {
  const good = bytes(3 * 2 ** 20, 1);
  const hub = await startFakeHub('strata-test', 'tiny-GGUF', {
    'tiny-Q4_K_M.gguf': { bytes: good },
    'tiny-Q8_0.gguf': { bytes: bytes(2 ** 20, 2), damage: true },
    'sub/tiny-F16.gguf': { bytes: bytes(2 * 2 ** 20, 3), cutAfterBytes: 700_000 },
    'tiny-Q6_K.gguf': { bytes: bytes(2 ** 20, 4), servedBytes: 900_000 },
  });
  t.after(() => hub.close());
  const dir = tempDir(t);
  const progress: number[] = [];
  const pulled = await pullModel({ uri: 'hf:strata-test/tiny-GGUF/tiny-Q4_K_M.gguf', modelsDir: dir, endpoint: hub.endpoint, onProgress: ({ downloadedBytes }) => progress.push(downloadedBytes) });
  assert.deepEqual(readFileSync(pulled.path), Buffer.from(good));
  assert.equal(pulled.sizeBytes, good.length);
  assert.ok(progress.length > 0 && progress.at(-1) === good.length, 'progress reaches the size');

  await assert.rejects(
    pullModel({ uri: 'hf:strata-test/tiny-GGUF/tiny-Q8_0.gguf', modelsDir: dir, endpoint: hub.endpoint }),
    (e: Error & { code?: string }) => e.code === 'DOWNLOAD_CORRUPT' && /tiny-Q8_0\.gguf arrived damaged.*It was removed/.test(e.message),
  );
  assert.ok(!readdirSync(dir).some((name) => name.includes('Q8_0')), 'the damaged file is gone');
  assert.ok(!readdirSync(join(dir, '.downloads')).some((name) => name.includes('Q8_0')), 'nothing of it is left in the staging folder');

  // The server has only part of the file: what arrives is shorter than the listing says, and refused.
  await assert.rejects(
    pullModel({ uri: 'hf:strata-test/tiny-GGUF/tiny-Q6_K.gguf', modelsDir: dir, endpoint: hub.endpoint }),
    (e: Error & { code?: string }) => e.code === 'DOWNLOAD_CORRUPT' && /900,000 bytes/.test(e.message),
  );
  assert.ok(!readdirSync(dir).some((name) => name.includes('Q6_K')), 'the truncated file is not offered');

  // The connection drops after 700 KB: the downloader asks again and the file still checks out.
  const dropped = await pullModel({ uri: 'hf:strata-test/tiny-GGUF/sub/tiny-F16.gguf', modelsDir: dir, endpoint: hub.endpoint });
  assert.ok(existsSync(dropped.path));
  assert.deepEqual(readFileSync(dropped.path), Buffer.from(bytes(2 * 2 ** 20, 3)));
  assert.ok((hub.rangeStarts.get('sub/tiny-F16.gguf') ?? []).length >= 2, 'asked twice');

  await assert.rejects(pullModel({ uri: 'hf:strata-test/tiny-GGUF/missing.gguf', modelsDir: dir, endpoint: hub.endpoint }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
  assert.throws(() => parseHfUri('https://example.org/x.gguf'), /hf:OWNER\/REPO\/FILE\.gguf/);
});
