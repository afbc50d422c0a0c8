// Faults (issue 7, point 9): a disk that fills up or fails mid-write, a document removed while it is
// being read, and a process killed at random points of reading and answering. After each: every
// catalog row points at a checksummed blob, the start-up sweep leaves no unowned bytes, and the needle
// answers are right.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Catalog } from '../catalog/Catalog.ts';
import { KvCatalog } from '../catalog/KvCatalog.ts';
import { createRng } from '../engine/testModels/createRng.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { DiskTier } from '../engine/tiered/tiers/DiskTier.ts';
import { turnsDiskKey } from '../engine/tiered/turnsDiskKey.ts';
import { kvBytesOnDisk } from '../test/kvFiles.ts';
import { tempDir } from '../test/tempDir.ts';
import { StrataService } from './StrataService.ts';

const hay = makeHaystack({ wordCount: 3000, seed: 71, needles: [0.1, 0.35, 0.6, 0.85].map((depth) => ({ depth })) });
const BUDGET = { gpuBudgetTokens: 1024, chunkMaxTokens: 128 };

/** Every row's blob reads back with its checksum, and the bytes on disk are exactly the rows' bytes. */
async function checkConsistency(dataDir: string): Promise<{ rows: number; bytes: number }> {
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const disk = await DiskTier.open({ root: join(dataDir, 'kv') });
  try {
    const kv = new KvCatalog(catalog.database);
    let rows = 0;
    for (const ingest of kv.listIngests()) {
      for (const chunk of kv.listChunks(ingest.id)) {
        await disk.read(ingest.id, chunk.ref);
        rows++;
      }
    }
    for (const conversation of catalog.listConversations()) {
      for (const turn of kv.listTurns(conversation.id)) {
        await disk.read(turnsDiskKey(conversation.id), turn.ref);
        rows++;
      }
    }
    assert.equal(kvBytesOnDisk(dataDir), kv.accountedBytes(), 'no unowned bytes after the sweep');
    return { rows, bytes: kv.accountedBytes() };
  } finally {
    disk.dispose();
    catalog.dispose();
  }
}

function serviceWith(t: TestContext, dataDir: string, writeBlob?: (handle: FileHandle, blob: Uint8Array) => Promise<void>): StrataService {
  const service = new StrataService({ dataDir, host: 'browser', version: 'test', diskWriteBlob: writeBlob });
  t.after(() => service.dispose());
  return service;
}

for (const errno of ['ENOSPC', 'EIO'] as const) {
  test(`a disk write failing with ${errno} mid-read gives a clear error, keeps the catalog consistent and loses no other document`, { timeout: 300_000 }, async (t) => {
    const modelPath = await ensureTestModel('needle');
    const dataDir = tempDir(t);
    let failAfter = Infinity;
    let writes = 0;
    const service = serviceWith(t, dataDir, async (handle, blob) => {
      if (++writes > failAfter) {
        await handle.write(blob, 0, Math.floor(blob.byteLength / 2), null); // half a blob, then the disk gives up
        throw Object.assign(new Error(`${errno}: simulated`), { code: errno });
      }
      await handle.write(blob, 0, blob.byteLength, null);
    });
    await service.settings.update(BUDGET);
    await service.models.open({ path: modelPath });
    const other = makeHaystack({ wordCount: 2000, seed: 72, needles: [{ depth: 0.5 }] });
    const otherDoc = await service.documents.import({ requestId: 'o', fileName: 'other.txt', bytes: new TextEncoder().encode(other.text) });
    const otherConversation = await service.chat.createConversation({ documentIds: [otherDoc.id] });
    const ok = await service.chat.ask({ requestId: 'a0', conversationId: otherConversation.id, question: needleQuestion(other.needles[0].key), maxTokens: 2 });
    assert.equal(ok.text.trim(), other.needles[0].values.join(' '));

    failAfter = writes + 5;
    const doc = await service.documents.import({ requestId: 'd', fileName: 'hay.txt', bytes: new TextEncoder().encode(hay.text) });
    const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
    const failed = await service.chat.ask({ requestId: 'a1', conversationId: conversation.id, question: needleQuestion(hay.needles[0].key), maxTokens: 2 });
    assert.equal(failed.status, 'error');
    assert.equal(failed.error?.code, errno === 'ENOSPC' ? 'DISK_FULL' : 'DISK_WRITE_FAILED');
    assert.match(failed.error!.message, errno === 'ENOSPC' ? /is full \(ENOSPC\)/ : /EIO/);
    console.log(`# ${errno}: ${failed.error!.message}`);
    const { rows } = await checkConsistency(dataDir);
    assert.ok(rows > 5);

    failAfter = Infinity;
    const again = await service.chat.ask({ requestId: 'a2', conversationId: otherConversation.id, question: needleQuestion(other.needles[0].key), maxTokens: 2 });
    assert.equal(again.text.trim(), other.needles[0].values.join(' '), 'the other document still answers');
    assert.equal(again.metrics?.tiered?.documentTokensEvaluated, 0, 'without being read again');
    const resumed = await service.chat.ask({ requestId: 'a3', conversationId: conversation.id, question: needleQuestion(hay.needles[1].key), maxTokens: 2 });
    assert.equal(resumed.text.trim(), hay.needles[1].values.join(' '), 'once the disk has room, the read resumes and answers');
    await checkConsistency(dataDir);
  });
}

test('removing a document while it is being read stops the read cleanly and frees everything it wrote', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dataDir = tempDir(t);
  const service = serviceWith(t, dataDir);
  await service.settings.update(BUDGET);
  await service.models.open({ path: modelPath });
  const big = makeHaystack({ wordCount: 12000, seed: 73, needles: [{ depth: 0.5 }] });
  const doc = await service.documents.import({ requestId: 'd', fileName: 'big.txt', bytes: new TextEncoder().encode(big.text) });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const asking = service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(big.needles[0].key), maxTokens: 2 });
  while (kvBytesOnDisk(dataDir) < 500_000) await new Promise((resolve) => setTimeout(resolve, 20));
  await service.documents.remove({ id: doc.id });
  const message = await asking;
  assert.equal(message.status, 'stopped');
  assert.equal(kvBytesOnDisk(dataDir), 0, 'nothing of the half-read document is left');
  assert.deepEqual(await service.documents.list(), []);
  await checkConsistency(dataDir);
});

const KILLS = process.env.STRATA_LONG_TESTS === '1' ? 20 : 3;
test(`SIGKILL at ${KILLS} random points of reading and answering: consistent after each, and the needles are right`, { timeout: 1_800_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dataDir = tempDir(t);
  const textPath = join(dataDir, '..', `hay-${process.pid}.txt`);
  writeFileSync(textPath, hay.text);
  const questions = hay.needles.map((n) => needleQuestion(n.key));
  const child = fileURLToPath(new URL('./testServiceChild.ts', import.meta.url));
  const rng = createRng(7);
  const stages: string[] = [];
  for (let k = 0; k < KILLS; k++) {
    const proc = spawn(process.execPath, [child, dataDir, modelPath, textPath, JSON.stringify(questions)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    // Kill somewhere after the model is up: during the read (first runs) or during answers.
    while (!out.includes('ready') && proc.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(out.includes('ready'), `child started: ${err}`);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(rng.uniform() * 2500)));
    proc.kill('SIGKILL');
    await exited;
    const answers = out.split('\n').filter((l) => l.startsWith('answer'));
    for (const line of answers) assert.match(line, /complete|stopped/, line);
    stages.push(answers.length === 0 ? 'reading' : `answer ${answers.length}`);
    const service = new StrataService({ dataDir, host: 'browser', version: 'test' });
    try {
      await service.whenReady?.();
      await checkConsistency(dataDir);
    } finally {
      await service.dispose();
    }
  }
  console.log(`# killed at: ${stages.join(', ')}`);
  const service = serviceWith(t, dataDir);
  await service.whenReady?.();
  await service.models.open({ path: modelPath });
  const [conversation] = await service.chat.listConversations();
  for (const [i, needle] of hay.needles.entries()) {
    const message = await service.chat.ask({ requestId: `final-${i}`, conversationId: conversation.id, question: needleQuestion(needle.key), maxTokens: 2 });
    assert.equal(message.text.trim(), needle.values.join(' '), `needle ${i} after ${KILLS} kills`);
  }
  await checkConsistency(dataDir);
});
