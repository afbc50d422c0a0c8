import assert from 'node:assert/strict';
import test from 'node:test';
import { tempDir } from '../../../test/tempDir.ts';
import type { KvChunk } from '../../../catalog/KvCatalog.ts';
import { DiskTier } from './DiskTier.ts';
import { WriteBehind, type PendingChunk } from './WriteBehind.ts';

function chunk(index: number): PendingChunk {
  return { index, tokenStart: index, tokenEnd: index + 1, posStart: index, posEnd: index + 1, charStart: 0, charEnd: 0, abstract: new Float32Array(2), ref: null };
}

test('rows are committed in order, only after their blobs are written, while the producer goes on', async (t) => {
  const root = tempDir(t);
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const disk = await DiskTier.open({
    root,
    writeBlob: async (handle, blob) => {
      await gate;
      await handle.write(blob, 0, blob.byteLength, null);
    },
  });
  gate = new Promise((r) => (release = r));
  const committed: KvChunk[] = [];
  const writer = new WriteBehind({ disk, documentKey: 'doc', maxQueuedBytes: 1 << 20, commit: (done) => committed.push(...done) });
  for (let i = 0; i < 5; i++) await writer.add(`k${i}`, chunk(i), new Uint8Array(100).fill(i));
  assert.equal(committed.length, 0, 'nothing is committed while the disk has not finished');
  assert.deepEqual(writer.blobOf('k3'), new Uint8Array(100).fill(3), 'an unwritten blob stays reachable for splices');
  release();
  await writer.drain();
  assert.deepEqual(committed.map((c) => c.index), [0, 1, 2, 3, 4]);
  for (const c of committed) assert.deepEqual(await disk.read('doc', c.ref), new Uint8Array(100).fill(c.index));
  assert.equal(writer.blobOf('k3'), undefined);
});

test('the producer waits once more than maxQueuedBytes are unwritten', async (t) => {
  const root = tempDir(t);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const disk = await DiskTier.open({ root, writeBlob: async (handle, blob) => (await gate, void (await handle.write(blob, 0, blob.byteLength, null))) });
  const writer = new WriteBehind({ disk, documentKey: 'doc', maxQueuedBytes: 250, commit: () => {} });
  await writer.add('a', chunk(0), new Uint8Array(100));
  await writer.add('b', chunk(1), new Uint8Array(100));
  let third = false;
  const adding = writer.add('c', chunk(2), new Uint8Array(100)).then(() => (third = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(third, false, '300 unwritten bytes > 250: the third add waits');
  release();
  await adding;
  await writer.drain();
});

test('a failed write stops the queue: nothing after it is committed, and the error reaches the producer', async (t) => {
  const root = tempDir(t);
  let writes = 0;
  const disk = await DiskTier.open({
    root,
    writeBlob: async (handle, blob) => {
      if (++writes === 2) throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
      await handle.write(blob, 0, blob.byteLength, null);
    },
  });
  const committed: number[] = [];
  const writer = new WriteBehind({ disk, documentKey: 'doc', maxQueuedBytes: 0, commit: (done) => committed.push(...done.map((c) => c.index)) });
  await writer.add('a', chunk(0), new Uint8Array(10));
  await assert.rejects(writer.add('b', chunk(1), new Uint8Array(10)), { code: 'DISK_FULL' });
  await assert.rejects(writer.add('c', chunk(2), new Uint8Array(10)), { code: 'DISK_FULL' });
  await assert.rejects(writer.drain(), { code: 'DISK_FULL' });
  assert.deepEqual(committed, [0]);
  assert.equal(disk.usedBytes(), 10);
});
