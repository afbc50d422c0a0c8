import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../../test/tempDir.ts';
import { blobEnd, DiskTier, type BlobRef } from './DiskTier.ts';

function randomBlob(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

const segmentPath = (root: string, key: string, segment: number) => join(root, key, `${segment}.seg`);

test('blobs round-trip per document, in append order, in <root>/<key>/<n>.seg', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root });
  const blobs = [randomBlob(1000, 1), randomBlob(5, 2), randomBlob(0, 3), randomBlob(70_000, 4)];
  const refs: BlobRef[] = [];
  for (const blob of blobs) refs.push(await disk.append('doc-a', blob));
  const other = await disk.append('doc-b', randomBlob(300, 9));
  assert.deepEqual(
    refs.map((r) => [r.segment, r.offset, r.length]),
    [
      [0, 0, 1000],
      [0, 1000, 5],
      [0, 1005, 0],
      [0, 1005, 70_000],
    ],
  );
  for (let i = 0; i < blobs.length; i++) assert.deepEqual(await disk.read('doc-a', refs[i]), blobs[i]);
  assert.deepEqual(await disk.read('doc-b', other), randomBlob(300, 9));
  assert.equal(statSync(segmentPath(root, 'doc-a', 0)).size, 71_005);
  assert.equal(disk.usedBytes(), 71_305);
  assert.equal(disk.documentBytes('doc-a'), 71_005);
  assert.deepEqual(disk.listDocuments().sort(), ['doc-a', 'doc-b']);
});

test('a new segment starts when the current one would outgrow segmentBytes', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, segmentBytes: 1000 });
  const a = await disk.append('d', randomBlob(600, 1));
  const b = await disk.append('d', randomBlob(600, 2));
  const c = await disk.append('d', randomBlob(2500, 3)); // larger than a segment: alone in its own
  const e = await disk.append('d', randomBlob(10, 4));
  assert.deepEqual([a, b, c, e].map((r) => [r.segment, r.offset]), [
    [0, 0],
    [1, 0],
    [2, 0],
    [3, 0],
  ]);
  assert.deepEqual(await disk.read('d', c), randomBlob(2500, 3));
  assert.deepEqual(readdirSync(join(root, 'd')).sort(), ['0.seg', '1.seg', '2.seg', '3.seg']);
});

test('a flipped byte is detected on read and named in the error', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root });
  const first = await disk.append('doc', randomBlob(4096, 1));
  const second = await disk.append('doc', randomBlob(4096, 2));
  const path = segmentPath(root, 'doc', 0);
  const bytes = readFileSync(path);
  bytes[second.offset + 1234] ^= 0x10;
  writeFileSync(path, bytes);
  await assert.rejects(disk.read('doc', second), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'BLOB_CORRUPT');
    assert.match(error.message, /doc/);
    assert.match(error.message, /segment 0, offset 4096/);
    return true;
  });
  // The neighbour is intact and still reads.
  assert.deepEqual(await disk.read('doc', first), randomBlob(4096, 1));
  // A wrong length is caught too (the checksum covers exactly `length` bytes).
  await assert.rejects(disk.read('doc', { ...first, length: first.length - 1 }), { code: 'BLOB_CORRUPT' });
});

test('a truncated or missing segment file is detected on read', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, segmentBytes: 5000 });
  const a = await disk.append('doc', randomBlob(3000, 1));
  const b = await disk.append('doc', randomBlob(3000, 2));
  truncateSync(segmentPath(root, 'doc', 0), 2000);
  await assert.rejects(disk.read('doc', a), (error: Error & { code?: string }) => error.code === 'BLOB_CORRUPT' && /2000 of its 3000 bytes/.test(error.message));
  unlinkSync(segmentPath(root, 'doc', 1));
  await assert.rejects(disk.read('doc', b), (error: Error & { code?: string }) => error.code === 'BLOB_CORRUPT' && /missing/.test(error.message));
});

test('an append over the budget is refused before anything is written', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, budgetBytes: 10_000, segmentBytes: 4000 });
  await disk.append('a', randomBlob(3000, 1));
  await disk.append('b', randomBlob(3000, 2));
  const before = statSync(segmentPath(root, 'a', 0)).size;
  // 6000 + 3000 + 2000 > 10,000, and this one would also have opened segment 1.
  await disk.append('a', randomBlob(3000, 3));
  await assert.rejects(disk.append('a', randomBlob(2000, 4)), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'DISK_BUDGET_EXCEEDED');
    assert.match(error.message, /2000 bytes/);
    assert.match(error.message, /9000 bytes in use/);
    assert.match(error.message, /10000 bytes/);
    assert.match(error.message, /Remove documents/);
    return true;
  });
  await assert.rejects(disk.append('c', randomBlob(1001, 5)), { code: 'DISK_BUDGET_EXCEEDED' });
  assert.equal(existsSync(join(root, 'c')), false, 'no folder for a refused document');
  assert.deepEqual(readdirSync(join(root, 'a')).sort(), ['0.seg', '1.seg']);
  assert.equal(statSync(segmentPath(root, 'a', 0)).size, before);
  assert.equal(statSync(segmentPath(root, 'a', 1)).size, 3000);
  assert.equal(disk.usedBytes(), 9000);
  // What still fits is accepted.
  await disk.append('a', randomBlob(1000, 6));
  assert.equal(disk.usedBytes(), 10_000);
});

test('a new DiskTier on the same root reads old refs and appends after them', async (t) => {
  const root = tempDir(t);
  const first = await DiskTier.open({ root, segmentBytes: 10_000 });
  const refs: BlobRef[] = [];
  for (let i = 0; i < 5; i++) refs.push(await first.append('doc', randomBlob(3000, i + 1)));
  first.dispose();
  await assert.rejects(async () => first.read('doc', refs[0]), { code: 'DISPOSED' });

  const second = await DiskTier.open({ root, segmentBytes: 10_000 });
  assert.equal(second.usedBytes(), 15_000);
  for (let i = 0; i < 5; i++) assert.deepEqual(await second.read('doc', refs[i]), randomBlob(3000, i + 1));
  const next = await second.append('doc', randomBlob(3000, 6));
  assert.deepEqual([next.segment, next.offset], [1, 6000]);
});

test('truncateTo drops what an interrupted ingest appended after its last committed blob', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, segmentBytes: 5000 });
  const refs: BlobRef[] = [];
  for (let i = 0; i < 5; i++) refs.push(await disk.append('doc', randomBlob(2000, i + 1))); // segments 0,0,1,1,2
  // The catalog committed refs[0..2]; refs[3] and refs[4] were written but never recorded.
  const end = blobEnd(refs[2]);
  await disk.truncateTo('doc', end.segment, end.offset);
  assert.equal(disk.usedBytes(), 6000);
  assert.deepEqual(readdirSync(join(root, 'doc')).sort(), ['0.seg', '1.seg']);
  assert.equal(statSync(segmentPath(root, 'doc', 1)).size, 2000);
  for (let i = 0; i < 3; i++) assert.deepEqual(await disk.read('doc', refs[i]), randomBlob(2000, i + 1));
  const again = await disk.append('doc', randomBlob(2000, 9));
  assert.deepEqual([again.segment, again.offset], [1, 2000]);

  // Bytes a crashed process left behind that this DiskTier never saw are found by a new one.
  writeFileSync(segmentPath(root, 'doc', 1), randomBlob(500, 1), { flag: 'a' });
  const reopened = await DiskTier.open({ root, segmentBytes: 5000 });
  assert.equal(reopened.usedBytes(), 8500);
  await reopened.truncateTo('doc', 1, 4000);
  assert.equal(reopened.usedBytes(), 8000);

  // Nothing committed: everything goes.
  await reopened.truncateTo('doc', 0, 0);
  assert.equal(reopened.usedBytes(), 0);
  await reopened.truncateTo('never-written', 0, 0);
  // Committed bytes that are not on disk are corruption, not something to paper over with zeros.
  await reopened.append('doc', randomBlob(100, 1));
  await assert.rejects(reopened.truncateTo('doc', 0, 200), { code: 'BLOB_CORRUPT' });
  assert.equal(statSync(segmentPath(root, 'doc', 0)).size, 100);
});

test('removeDocument deletes one document and its bytes from the total', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root });
  await disk.append('a', randomBlob(100, 1));
  const b = await disk.append('b', randomBlob(200, 2));
  await disk.removeDocument('a');
  await disk.removeDocument('a');
  assert.equal(existsSync(join(root, 'a')), false);
  assert.equal(disk.usedBytes(), 200);
  assert.deepEqual(await disk.read('b', b), randomBlob(200, 2));
});

test('concurrent appends get disjoint refs that all read back', async (t) => {
  const disk = await DiskTier.open({ root: tempDir(t), segmentBytes: 20_000 });
  const refs = await Promise.all(Array.from({ length: 30 }, (_, i) => disk.append(i % 2 ? 'x' : 'y', randomBlob(1500 + i, i + 1))));
  for (let i = 0; i < refs.length; i++) assert.deepEqual(await disk.read(i % 2 ? 'x' : 'y', refs[i]), randomBlob(1500 + i, i + 1));
  assert.equal(disk.usedBytes(), refs.reduce((sum, r) => sum + r.length, 0));
});

test('append resolves only after the file, and a new file directory entry, are fsynced', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, segmentBytes: 1000 });
  const probe = await open(join(root, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
  await probe.close();
  const events: string[] = [];
  const original = proto.sync;
  proto.sync = async function (this: unknown) {
    await original.call(this);
    events.push('sync');
  };
  t.after(() => {
    proto.sync = original;
  });
  await disk.append('doc', randomBlob(600, 1)).then(() => events.push('resolved'));
  // The new document folder's entry in the root, the blob, and the new file's entry in the folder.
  assert.deepEqual(events, ['sync', 'sync', 'sync', 'resolved']);
  events.length = 0;
  await disk.append('doc', randomBlob(100, 2)).then(() => events.push('resolved'));
  assert.deepEqual(events, ['sync', 'resolved']);
  events.length = 0;
  await disk.append('doc', randomBlob(600, 3)).then(() => events.push('resolved')); // new segment file
  assert.deepEqual(events, ['sync', 'sync', 'resolved']);
});

test('bad keys and refs are refused before touching the file system', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root });
  for (const key of ['', '..', '../x', 'a/b', '.hidden', 'a'.repeat(129)]) {
    assert.throws(() => disk.append(key, new Uint8Array(1)), RangeError, key);
  }
  await assert.rejects(async () => disk.read('doc', { segment: -1, offset: 0, length: 1, crc32: 0 }), RangeError);
  await assert.rejects(DiskTier.open({ root, budgetBytes: -5 }), RangeError);
});

test('appendMany writes a batch with one fsync per segment file and returns refs that read back', async (t) => {
  const root = tempDir(t);
  const disk = await DiskTier.open({ root, segmentBytes: 1000 });
  await disk.append('doc', randomBlob(10, 1));
  const proto = Object.getPrototypeOf(await open(join(root, 'doc', '0.seg'), 'r')) as { sync: () => Promise<void> };
  let syncs = 0;
  const original = proto.sync;
  proto.sync = async function (this: unknown) {
    await original.call(this);
    syncs++;
  };
  t.after(() => {
    proto.sync = original;
  });
  const blobs = [0, 1, 2, 3, 4].map((i) => randomBlob(300, 10 + i));
  const refs = await disk.appendMany('doc', blobs);
  // 10 + 3 × 300 bytes fill segment 0; the last two go to segment 1 (a new file: its directory entry too).
  assert.deepEqual(refs.map((r) => r.segment), [0, 0, 0, 1, 1]);
  assert.equal(syncs, 3, 'segment 0, segment 1 and the folder holding the new segment');
  for (let i = 0; i < blobs.length; i++) assert.deepEqual(await disk.read('doc', refs[i]), blobs[i]);
});

test('appendMany is all or nothing: over the budget nothing is written, a failed write leaves no blob of the batch', async (t) => {
  const root = tempDir(t);
  let writes = 0;
  let failAt = Infinity;
  const disk = await DiskTier.open({
    root,
    budgetBytes: 2000,
    writeBlob: async (handle, blob) => {
      if (++writes === failAt) {
        await handle.write(blob, 0, Math.floor(blob.byteLength / 2), null);
        throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
      }
      await handle.write(blob, 0, blob.byteLength, null);
    },
  });
  const kept = await disk.append('doc', randomBlob(100, 1));
  await assert.rejects(disk.appendMany('doc', [randomBlob(1000, 2), randomBlob(1000, 3)]), { code: 'DISK_BUDGET_EXCEEDED' });
  assert.equal(statSync(segmentPath(root, 'doc', 0)).size, 100);
  failAt = writes + 2;
  await assert.rejects(disk.appendMany('doc', [randomBlob(300, 4), randomBlob(300, 5), randomBlob(300, 6)]), { code: 'DISK_FULL' });
  assert.equal(statSync(segmentPath(root, 'doc', 0)).size, 100, 'the whole batch was cut off again');
  assert.equal(disk.usedBytes(), 100);
  assert.deepEqual(await disk.read('doc', kept), randomBlob(100, 1));
  const after = await disk.append('doc', randomBlob(50, 7));
  assert.equal(after.offset, 100);
});
