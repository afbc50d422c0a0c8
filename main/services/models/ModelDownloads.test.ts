// The Models panel's downloads against a loopback Hub: progress with speed and time left; cancel keeps
// the partial file (paused); a new manager (a restart) lists it as paused and resumes it from where it
// stopped, and the file is offered only once its SHA-256 checks out; a damaged one is removed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { DownloadInfo } from '../../../preload/api.ts';
import { startFakeHub } from '../../test/fakeHub.ts';
import { tempDir } from '../../test/tempDir.ts';
import { findLocalModels } from './findLocalModels.ts';
import { ModelDownloads } from './ModelDownloads.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 9)) & 0xff);

test('a download reports progress, pauses on cancel, resumes after a restart from its partial file, and is offered only once checked', { timeout: 120_000 }, async (t) => {
  const body = bytes(16 * 2 ** 20, 5); // the downloader keeps whole 5 MiB pieces of a cancelled download
  const hub = await startFakeHub('strata-test', 'slow-GGUF', {
    'slow-Q4_K_M.gguf': { bytes: body, pieceDelayMs: 8 }, // about 8 MB/s
    'bad-Q4_K_M.gguf': { bytes: bytes(2 ** 20, 6), damage: true },
  });
  t.after(() => hub.close());
  const modelsDir = join(tempDir(t), 'models');
  const uri = 'hf:strata-test/slow-GGUF/slow-Q4_K_M.gguf';
  const events: DownloadInfo[] = [];
  const first = new ModelDownloads({ modelsDir, endpoint: () => hub.endpoint, onChange: (info) => events.push(info) });
  const running = first.start(uri);
  // Cancel once more than two pieces have arrived.
  while (!events.some((e) => e.downloadedBytes > 12 * 2 ** 20)) await new Promise((r) => setTimeout(r, 20));
  const during = events.filter((e) => e.state === 'downloading' && e.downloadedBytes > 0).at(-1)!;
  assert.equal(during.totalBytes, body.length);
  assert.ok(during.bytesPerSecond > 0, 'a speed is shown');
  assert.ok(during.secondsLeft !== null && during.secondsLeft > 0, 'a time left is shown');
  first.cancel(uri);
  const paused = await running;
  assert.equal(paused.state, 'paused');
  assert.ok(paused.downloadedBytes > 0 && paused.downloadedBytes < body.length, `part kept (${paused.downloadedBytes} bytes)`);
  assert.deepEqual(await findLocalModels([{ dir: modelsDir, source: 'strata' }]), [], 'a partial download is never offered as a model');
  await first.dispose();

  // A restart: the new manager knows the unfinished download and resumes it with a Range request.
  const firstRunBytes = hub.sentBytes.get('slow-Q4_K_M.gguf') ?? 0;
  const second = new ModelDownloads({ modelsDir, endpoint: () => hub.endpoint });
  const listed = await second.list();
  assert.equal(listed.length, 1);
  assert.equal(listed[0].state, 'paused');
  assert.equal(listed[0].totalBytes, body.length);
  assert.equal(listed[0].downloadedBytes, paused.downloadedBytes);
  const done = await second.start(uri);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  assert.deepEqual(readFileSync(done.path!), Buffer.from(body));
  const resumedBytes = (hub.sentBytes.get('slow-Q4_K_M.gguf') ?? 0) - firstRunBytes;
  console.log(`# ${body.length} bytes; paused at ${paused.downloadedBytes}; the resumed run was sent ${resumedBytes} bytes`);
  // The downloader keeps whole 5 MiB pieces: the resumed run fetches the unfinished ones, not the file.
  assert.ok(resumedBytes <= body.length - 10 * 2 ** 20, 'the resumed run fetched only the unfinished pieces');
  assert.deepEqual(await second.list(), [], 'nothing left unfinished');
  assert.deepEqual((await findLocalModels([{ dir: modelsDir, source: 'strata' }])).map((m) => m.fileName), ['slow-Q4_K_M.gguf']);

  const bad = await second.start('hf:strata-test/slow-GGUF/bad-Q4_K_M.gguf');
  assert.equal(bad.state, 'failed');
  assert.equal(bad.error?.code, 'DOWNLOAD_CORRUPT');
  assert.ok(!existsSync(join(modelsDir, 'bad-Q4_K_M.gguf')));
  assert.ok(!readdirSync(join(modelsDir, '.downloads')).some((n) => n.startsWith('bad-')), 'the damaged bytes are gone from the staging folder too');
  assert.deepEqual(await second.list(), []);
  await second.dispose();
});
