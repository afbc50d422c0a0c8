// The Models panel through the service, against a loopback Hub serving the generated needle model:
// the catalog (STRATA_MODEL_CATALOG), "fits this machine" from GgufInsights reading only the header
// over HTTP, the recommended model, Hub search and a repository's GGUF files, a download that then
// opens, and deletion limited to Strata's own models folder.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { DownloadInfo } from '../../../preload/api.ts';
import { ensureTestModel } from '../../engine/testModels/cli.ts';
import { startFakeHub } from '../../test/fakeHub.ts';
import { tempDir } from '../../test/tempDir.ts';
import { StrataService } from '../StrataService.ts';
import { CURATED_MODELS } from './curatedModels.ts';
import { parseHfUri } from './hubClient.ts';
import { pickRecommended } from './modelFit.ts';

test('the curated catalog: 8–12 instruct models with long contexts, each a checkable hf: URI with its facts', () => {
  assert.ok(CURATED_MODELS.length >= 8 && CURATED_MODELS.length <= 12);
  for (const m of CURATED_MODELS) {
    parseHfUri(m.uri);
    assert.ok(m.sizeBytes > 1e9 && m.trainContextTokens >= 8192 && m.license !== '' && m.quantization !== '', m.name);
  }
  assert.equal(new Set(CURATED_MODELS.map((m) => m.uri)).size, CURATED_MODELS.length);
});

test('the recommended model is the largest that fits the GPU, else the smallest that runs on the CPU', () => {
  const models = [
    { uri: 'a', sizeBytes: 2, engine: 'tiered' },
    { uri: 'b', sizeBytes: 5, engine: 'tiered' },
    { uri: 'c', sizeBytes: 9, engine: 'tiered' },
  ];
  const fit = (verdict: string) => ({ verdict }) as never;
  assert.equal(pickRecommended(models, new Map([['a', fit('fits')], ['b', fit('fits')], ['c', fit('partial')]]))?.uri, 'b');
  assert.equal(pickRecommended(models, new Map([['a', fit('cpu')], ['b', fit('cpu')], ['c', fit('too-large')]]))?.uri, 'a');
  assert.equal(pickRecommended(models, new Map([['a', fit('unknown')]])), null);
});

test('Models panel: fit from the header over HTTP, search, a download that opens, deletion only in the models folder', { timeout: 180_000 }, async (t) => {
  const needle = readFileSync(await ensureTestModel('needle'));
  const hub = await startFakeHub('strata-test', 'needle-GGUF', { 'needle-F32.gguf': { bytes: needle } });
  t.after(() => hub.close());
  const dataDir = tempDir(t);
  const catalogFile = join(dataDir, 'catalog.json');
  const uri = 'hf:strata-test/needle-GGUF/needle-F32.gguf';
  writeFileSync(catalogFile, JSON.stringify([{ uri, name: 'Needle (test)', sizeBytes: needle.length, quantization: 'F32', trainContextTokens: 65536, architecture: 'llama', license: 'MIT' }]));
  const saved = process.env.STRATA_MODEL_CATALOG;
  process.env.STRATA_MODEL_CATALOG = catalogFile;
  t.after(() => (saved === undefined ? delete process.env.STRATA_MODEL_CATALOG : (process.env.STRATA_MODEL_CATALOG = saved)));
  const events: DownloadInfo[] = [];
  const service = new StrataService({ dataDir, host: 'browser', version: 'test', hfEndpoint: hub.endpoint, settingsOverride: { engine: 'standard' }, emit: (event, payload) => event === 'models.onDownload' && events.push(payload as DownloadInfo) });
  t.after(() => service.dispose());

  const [entry] = await service.models.catalog();
  assert.equal(entry.uri, uri);
  assert.equal(entry.localPath, null);

  const fit = await service.models.fit({ uri });
  console.log(`# fit: ${fit.verdict}: ${fit.summary}`);
  assert.ok(['fits', 'cpu', 'partial'].includes(fit.verdict), fit.summary);
  assert.ok(fit.totalLayers > 0 && (fit.ramBytes > 0 || fit.vramBytes > 0));
  assert.ok((hub.requestedBytes.get('needle-F32.gguf') ?? 0) > 0, 'the header was read from the Hub');
  const recommended = await service.models.recommended();
  assert.equal(recommended?.model.uri, uri);

  assert.deepEqual(await service.models.searchHub({ query: 'needle' }), [{ repo: 'strata-test/needle-GGUF', downloads: 1234, likes: 5 }]);
  assert.deepEqual(await service.models.searchHub({ query: 'nothing-like-it' }), []);
  assert.deepEqual(await service.models.repoFiles({ repo: 'strata-test/needle-GGUF' }), [{ uri, fileName: 'needle-F32.gguf', sizeBytes: needle.length }]);
  await assert.rejects(service.models.repoFiles({ repo: 'not a repo' }), /OWNER\/REPO/);

  const done = await service.models.download({ uri });
  assert.equal(done.state, 'done');
  assert.ok(events.some((e) => e.state === 'downloading') && events.at(-1)?.state === 'done', 'progress events, then done');
  const [downloaded] = await service.models.catalog();
  assert.equal(downloaded.localPath, done.path);
  assert.ok((await service.models.listLocal()).some((m) => m.path === done.path && m.source === 'strata'));
  const opened = await service.models.open({ path: done.path! });
  assert.equal(opened.path, done.path);

  const elsewhere = join(tempDir(t), 'other.gguf');
  writeFileSync(elsewhere, needle.subarray(0, 1024));
  await assert.rejects(service.models.deleteFile({ path: elsewhere }), (e: Error & { code?: string }) => e.code === 'NOT_ALLOWED' && /only the models it downloaded/.test(e.message));
  assert.ok(existsSync(elsewhere));
  // Deleting the open model closes it first.
  await service.models.deleteFile({ path: done.path! });
  assert.ok(!existsSync(done.path!));
  assert.equal(await service.models.current(), null);
  assert.equal((await service.models.catalog())[0].localPath, null);
});
