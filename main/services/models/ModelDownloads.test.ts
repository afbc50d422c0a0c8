// The Models panel's downloads against a loopback Hub: progress with speed and time left; cancel keeps
// the partial file (paused); a new manager (a restart) lists it as paused and resumes it with a Range
// request for exactly the missing bytes; a line that goes quiet is asked again and then paused with
// its bytes kept; the file is offered only once its SHA-256 checks out; a damaged one is removed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { DownloadInfo } from '../../../preload/api.ts';
import { startFakeHub } from '../../test/fakeHub.ts';
import { tempDir } from '../../test/tempDir.ts';
import { findLocalModels } from './findLocalModels.ts';
import { ModelDownloads } from './ModelDownloads.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + (i >> 9)) & 0xff);

test('a download reports progress, pauses on cancel, resumes after a restart with exactly the missing bytes, and is offered only once checked', { timeout: 120_000 }, async (t) => {
  const body = bytes(16 * 2 ** 20, 5);
  const hub = await startFakeHub('strata-test', 'slow-GGUF', {
    'slow-Q4_K_M.gguf': { bytes: body, pieceDelayMs: 5 }, // about 13 MB/s
    'bad-Q4_K_M.gguf': { bytes: bytes(2 ** 20, 6), damage: true },
  });
  t.after(() => hub.close());
  const modelsDir = join(tempDir(t), 'models');
  const uri = 'hf:strata-test/slow-GGUF/slow-Q4_K_M.gguf';
  const events: DownloadInfo[] = [];
  const first = new ModelDownloads({ modelsDir, endpoint: () => hub.endpoint, onChange: (info) => events.push(info) });
  const running = first.start(uri);
  while (!events.some((e) => e.downloadedBytes > 6 * 2 ** 20)) await new Promise((r) => setTimeout(r, 20));
  const during = events.filter((e) => e.state === 'downloading' && e.secondsLeft !== null).at(-1)!;
  assert.equal(during.totalBytes, body.length);
  assert.ok(during.bytesPerSecond > 0, 'a speed is shown');
  assert.ok(during.secondsLeft! > 0, 'a time left is shown');
  first.cancel(uri);
  const paused = await running;
  assert.equal(paused.state, 'paused');
  assert.ok(paused.downloadedBytes > 6 * 2 ** 20 && paused.downloadedBytes < body.length, `part kept (${paused.downloadedBytes} bytes)`);
  assert.deepEqual(await findLocalModels([{ dir: modelsDir, source: 'strata' }]), [], 'a partial download is never offered as a model');
  await first.dispose();

  // A restart: the new manager knows the unfinished download and resumes it with a Range request.
  const second = new ModelDownloads({ modelsDir, endpoint: () => hub.endpoint });
  const listed = await second.list();
  assert.equal(listed.length, 1);
  assert.equal(listed[0].state, 'paused');
  assert.equal(listed[0].totalBytes, body.length);
  assert.equal(listed[0].downloadedBytes, paused.downloadedBytes);
  const sentBefore = hub.sentBytes.get('slow-Q4_K_M.gguf') ?? 0;
  const done = await second.start(uri);
  assert.equal(done.state, 'done', JSON.stringify(done.error));
  assert.deepEqual(readFileSync(done.path!), Buffer.from(body));
  const resumedBytes = (hub.sentBytes.get('slow-Q4_K_M.gguf') ?? 0) - sentBefore;
  console.log(`# ${body.length} bytes; paused at ${paused.downloadedBytes}; the resumed run was sent ${resumedBytes} bytes`);
  assert.equal(resumedBytes, body.length - paused.downloadedBytes, 'the resumed run fetched exactly the missing bytes');
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

test('a line that goes quiet is asked again, then the download pauses with its bytes kept and resumes later', { timeout: 60_000 }, async (t) => {
  const body = bytes(4 * 2 ** 20, 7);
  const hub = await startFakeHub('strata-test', 'quiet-GGUF', { 'quiet-Q4_K_M.gguf': { bytes: body, stallAfterBytes: 2 ** 20 } });
  t.after(() => hub.close());
  const modelsDir = join(tempDir(t), 'models');
  const uri = 'hf:strata-test/quiet-GGUF/quiet-Q4_K_M.gguf';
  const downloads = new ModelDownloads({ modelsDir, endpoint: () => hub.endpoint, stallMs: 200 });
  t.after(() => downloads.dispose());
  const stalled = await downloads.start(uri);
  assert.equal(stalled.state, 'paused');
  assert.equal(stalled.error?.code, 'DOWNLOAD_FAILED');
  assert.match(stalled.error!.message, /No data for 0 s.*what arrived is kept/s);
  assert.equal(stalled.downloadedBytes, 2 ** 20);
  assert.ok((hub.rangeStarts.get('quiet-Q4_K_M.gguf') ?? []).filter((s) => s === 2 ** 20).length >= 2, 'asked again from where it stopped');
  hub.releaseStalls();
  const done = await downloads.start(uri);
  assert.equal(done.state, 'done');
  assert.deepEqual(readFileSync(done.path!), Buffer.from(body));
});
