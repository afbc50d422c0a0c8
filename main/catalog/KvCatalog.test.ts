import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { blobEnd, DiskTier } from '../engine/tiered/tiers/DiskTier.ts';
import { tempDir } from '../test/tempDir.ts';
import { Catalog } from './Catalog.ts';
import { KvCatalog, type KvChunk } from './KvCatalog.ts';

const key = { modelId: 'model-1', configFingerprint: 'llama-8b|fa=on|k=f16|v=f16|layers=8,16|chunks=256-1024' };

function openCatalog(path: string) {
  const catalog = new Catalog(path);
  return { catalog, kv: new KvCatalog(catalog.database) };
}

function addDocument(catalog: Catalog, sha256 = 'sha-1'): string {
  return catalog.addDocument({ sha256, fileName: 'book.txt', kind: 'txt', sizeBytes: 10, text: 'x'.repeat(10), tokenCount: null, tokenCountModelId: null }).id;
}

// Abstracts with values that a lossy round trip would change: -0, subnormals, extremes, NaN payloads.
function abstractFor(index: number): Float32Array {
  const abstract = new Float32Array(2 * 2 * 2 * 8);
  for (let i = 0; i < abstract.length; i++) abstract[i] = Math.sin(index * 131 + i) * 10 ** ((i % 7) - 3);
  abstract[0] = -0;
  abstract[1] = 1e-45;
  abstract[2] = -3.4028234663852886e38;
  new Uint32Array(abstract.buffer)[3] = 0x7fc00000 + index; // a NaN with a payload
  return abstract;
}

function chunkAt(index: number, tokensEach = 100): KvChunk {
  return {
    index,
    tokenStart: index * tokensEach,
    tokenEnd: (index + 1) * tokensEach,
    posStart: 5 + index * tokensEach,
    posEnd: 5 + (index + 1) * tokensEach,
    charStart: index * 400,
    charEnd: (index + 1) * 400,
    ref: { segment: 0, offset: index * 1000, length: 1000, crc32: 0xfedcba98 - index },
    abstract: abstractFor(index),
  };
}

const bytesOf = (a: Float32Array) => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];

test('an ingest interrupted after k chunks reopens as running with exactly k chunks, and resumes', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  let { catalog, kv } = openCatalog(path);
  const documentId = addDocument(catalog);
  const ingest = kv.startIngest({ documentId, ...key, tokenCount: 1000 });
  assert.equal(ingest.state, 'running');
  for (let i = 0; i < 3; i++) kv.addChunk(ingest.id, chunkAt(i));
  catalog.dispose(); // the app quits (or crashes) mid-ingest

  ({ catalog, kv } = openCatalog(path));
  const found = kv.findIngest({ documentId, ...key });
  assert.equal(found?.id, ingest.id);
  assert.equal(found?.state, 'running');
  assert.equal(found?.chunkCount, 3);
  assert.equal(found?.tokensDone, 300);
  const chunks = kv.listChunks(ingest.id);
  assert.deepEqual(
    chunks.map((c) => c.index),
    [0, 1, 2],
  );
  assert.deepEqual(chunks[1].ref, chunkAt(1).ref);
  assert.deepEqual({ ...chunks[2], abstract: null }, { ...chunkAt(2), abstract: null });
  assert.equal(kv.lastChunk(ingest.id)?.index, 2);

  const resumed = kv.startIngest({ documentId, ...key, tokenCount: 1000 });
  assert.equal(resumed.id, ingest.id);
  assert.equal(resumed.chunkCount, 3);
  for (let i = 3; i < 10; i++) kv.addChunk(ingest.id, chunkAt(i));
  assert.equal(kv.completeIngest(ingest.id).state, 'complete');
  assert.equal(kv.startIngest({ documentId, ...key, tokenCount: 1000 }).state, 'complete', 'a complete ingest is found, not restarted');
  catalog.dispose();
});

test('abstracts survive closing and reopening bit for bit, one by one and packed', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  let { catalog, kv } = openCatalog(path);
  const ingest = kv.startIngest({ documentId: addDocument(catalog), ...key, tokenCount: 500 });
  // A view at an odd offset into a larger buffer, as a capture buffer would hand it over.
  const backing = new Float32Array(200);
  backing.set(abstractFor(0), 7);
  kv.addChunk(ingest.id, { ...chunkAt(0), abstract: backing.subarray(7, 7 + 64) });
  for (let i = 1; i < 5; i++) kv.addChunk(ingest.id, chunkAt(i));
  catalog.dispose();

  ({ catalog, kv } = openCatalog(path));
  const chunks = kv.listChunks(ingest.id);
  chunks.forEach((chunk, i) => assert.deepEqual(bytesOf(chunk.abstract), bytesOf(abstractFor(i))));
  const packed = kv.packedAbstracts(ingest.id);
  assert.equal(packed.length, 5 * 64);
  for (let i = 0; i < 5; i++) assert.deepEqual(bytesOf(packed.subarray(i * 64, (i + 1) * 64)), bytesOf(abstractFor(i)));
  catalog.dispose();
});

test('chunks must come in order, fit the token count, and go to a running ingest; a refused chunk changes nothing', (t) => {
  const { catalog, kv } = openCatalog(join(tempDir(t), 'catalog.sqlite'));
  t.after(() => catalog.dispose());
  const ingest = kv.startIngest({ documentId: addDocument(catalog), ...key, tokenCount: 250 });
  kv.addChunk(ingest.id, chunkAt(0));
  assert.throws(() => kv.addChunk(ingest.id, chunkAt(2)), { code: 'KV_CHUNK_OUT_OF_ORDER' });
  assert.throws(() => kv.addChunk(ingest.id, chunkAt(0)), { code: 'KV_CHUNK_OUT_OF_ORDER' });
  kv.addChunk(ingest.id, chunkAt(1));
  assert.throws(() => kv.addChunk(ingest.id, chunkAt(2)), { code: 'KV_CHUNK_OUT_OF_RANGE' });
  assert.throws(() => kv.completeIngest(ingest.id), { code: 'KV_INGEST_INCOMPLETE' });
  assert.throws(() => kv.addChunk(ingest.id, { ...chunkAt(2), tokenEnd: 200 }), RangeError, 'an empty token range');
  assert.throws(() => kv.addChunk('nope', chunkAt(0)), { code: 'NOT_FOUND' });
  const after = kv.getIngest(ingest.id)!;
  assert.equal(after.chunkCount, 2);
  assert.equal(after.tokensDone, 200);

  const failed = kv.failIngest(ingest.id, { code: 'OUT_OF_MEMORY', message: 'GPU out of memory' });
  assert.equal(failed.state, 'failed');
  assert.deepEqual(failed.error, { code: 'OUT_OF_MEMORY', message: 'GPU out of memory' });
  assert.throws(() => kv.addChunk(ingest.id, { ...chunkAt(2), tokenEnd: 250 }), { code: 'KV_INGEST_NOT_RUNNING' });
  const retried = kv.startIngest({ documentId: after.documentId, ...key, tokenCount: 250 });
  assert.equal(retried.state, 'running');
  assert.equal(retried.error, null);
  assert.equal(retried.chunkCount, 2, 'a failed ingest resumes from its committed chunks');
  kv.addChunk(ingest.id, { ...chunkAt(2), tokenEnd: 250 });
  assert.equal(kv.completeIngest(ingest.id).tokensDone, 250);
});

test('another model or configuration gets its own ingest; a new token count starts over', (t) => {
  const { catalog, kv } = openCatalog(join(tempDir(t), 'catalog.sqlite'));
  t.after(() => catalog.dispose());
  const documentId = addDocument(catalog);
  const a = kv.startIngest({ documentId, ...key, tokenCount: 300 });
  kv.addChunk(a.id, chunkAt(0));
  const b = kv.startIngest({ documentId, ...key, configFingerprint: 'other', tokenCount: 300 });
  assert.notEqual(a.id, b.id);
  assert.equal(kv.listIngests({ documentId }).length, 2);
  const restarted = kv.startIngest({ documentId, ...key, tokenCount: 301 });
  assert.equal(restarted.id, a.id);
  assert.equal(restarted.chunkCount, 0);
  assert.equal(restarted.tokensDone, 0);
});

test('deleting an ingest or its document deletes its chunk rows', (t) => {
  const { catalog, kv } = openCatalog(join(tempDir(t), 'catalog.sqlite'));
  t.after(() => catalog.dispose());
  const first = addDocument(catalog, 'sha-a');
  const second = addDocument(catalog, 'sha-b');
  const a = kv.startIngest({ documentId: first, ...key, tokenCount: 300 });
  const b = kv.startIngest({ documentId: second, ...key, tokenCount: 300 });
  kv.addChunk(a.id, chunkAt(0));
  kv.addChunk(b.id, chunkAt(0));
  kv.deleteIngest(a.id);
  assert.equal(kv.getIngest(a.id), null);
  assert.deepEqual(kv.listChunks(a.id), []);
  catalog.removeDocument(second);
  assert.equal(kv.getIngest(b.id), null);
  assert.equal((catalog.database.prepare('SELECT COUNT(*) AS n FROM kv_chunks').get() as { n: number }).n, 0);
});

test('after a crash between a blob write and its row, resuming drops the orphan bytes and continues', async (t) => {
  const dir = tempDir(t);
  const catalogPath = join(dir, 'catalog.sqlite');
  const root = join(dir, 'kv');
  const blob = (i: number) => new Uint8Array(3000).fill(i + 1);
  let { catalog, kv } = openCatalog(catalogPath);
  let disk = await DiskTier.open({ root, segmentBytes: 8000 });
  const documentId = addDocument(catalog);
  let ingest = kv.startIngest({ documentId, ...key, tokenCount: 1000 });
  for (let i = 0; i < 4; i++) {
    const ref = await disk.append(ingest.id, blob(i));
    kv.addChunk(ingest.id, { ...chunkAt(i), ref });
  }
  await disk.append(ingest.id, blob(4)); // written and fsynced, but the process died before its row
  await disk.append(ingest.id, blob(5));
  catalog.dispose();
  disk.dispose();

  ({ catalog, kv } = openCatalog(catalogPath));
  disk = await DiskTier.open({ root, segmentBytes: 8000 });
  ingest = kv.startIngest({ documentId, ...key, tokenCount: 1000 });
  assert.equal(ingest.chunkCount, 4);
  const end = blobEnd(kv.lastChunk(ingest.id)!.ref);
  await disk.truncateTo(ingest.id, end.segment, end.offset);
  assert.equal(disk.usedBytes(), 4 * 3000);
  for (let i = 4; i < 10; i++) {
    const ref = await disk.append(ingest.id, blob(i));
    kv.addChunk(ingest.id, { ...chunkAt(i), ref });
  }
  kv.completeIngest(ingest.id);
  const chunks = kv.listChunks(ingest.id);
  for (const chunk of chunks) assert.deepEqual(await disk.read(ingest.id, chunk.ref), blob(chunk.index));
  assert.equal(disk.usedBytes(), 10 * 3000);
  catalog.dispose();
});
