// The Documents tab's Prepare and KV state through the service (documents.prepare, kvState,
// cancelPrepare): a prepared document is not read again by a question, a stopped Prepare resumes, a
// removal during a Prepare is clean, and every refusal says why.
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import type { DocumentKvReport, EngineSettings, StrataEvents } from '../../preload/api.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { tempDir } from '../test/tempDir.ts';
import { recordingService, type RecordedEvent } from '../test/recordingService.ts';
import { StrataService } from './StrataService.ts';

type Recorded = RecordedEvent;

/** Small blocks so a read has many steps to report and to stop between. */
const LIBRARY: Partial<EngineSettings> = { kvReuse: 'library', gpuBudgetTokens: 1024, chunkMaxTokens: 128 };

function startService(t: TestContext, settingsOverride?: Partial<EngineSettings>, onEvent?: (e: Recorded) => void) {
  return recordingService(t, { dataDir: tempDir(t), settingsOverride, onEvent });
}

function importText(service: StrataService, fileName: string, text: string) {
  return service.documents.import({ requestId: fileName, fileName, bytes: new TextEncoder().encode(text) });
}

function kvChanges(events: Recorded[]): number {
  return events.filter((e) => e.event === 'documents.onChanged' && e.payload.reason === 'kv').length;
}

for (const kvReuse of ['library', 'exact'] as const) test(`${kvReuse} mode: a prepared document shows as read with its bytes and tier, is not read again by a second Prepare or by a question`, { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const { service, events } = startService(t, { ...LIBRARY, kvReuse });
  await service.models.open({ path: modelPath });
  const hay = makeHaystack({ wordCount: 3000, seed: 51, needles: [{ depth: 0.6 }] });
  const doc = await importText(service, 'hay.txt', hay.text);
  const before = await service.documents.kvState();
  assert.equal(before.engine, 'tiered');
  assert.equal(before.unavailableReason, null);
  assert.equal(before.kvReuse, kvReuse);
  assert.equal(before.documents.find((d) => d.documentId === doc.id), undefined, 'never read: no entry');

  const startedAt = performance.now();
  const first = await service.documents.prepare({ id: doc.id });
  const elapsedMs = performance.now() - startedAt;
  assert.ok(first.tokensEvaluated > 3000, `the whole document was read (${first.tokensEvaluated} tokens)`);
  const progress = events.filter((e): e is Extract<Recorded, { event: 'documents.onKvProgress' }> => e.event === 'documents.onKvProgress');
  assert.ok(progress.length > 0, 'progress was reported');
  assert.ok(progress.every((e) => e.payload.documentId === doc.id && e.payload.tokensDone <= e.payload.tokenCount));
  assert.ok(progress.length <= elapsedMs / 250 + 2, `at most 4 progress events a second (${progress.length} in ${Math.round(elapsedMs)} ms)`);
  assert.equal(kvChanges(events), 1, 'the Documents tab is told once the Prepare ended');

  const after = await service.documents.kvState();
  const entry = after.documents.find((d) => d.documentId === doc.id);
  assert.ok(entry, 'the document has an entry now');
  assert.equal(entry.state, 'complete');
  assert.equal(entry.preparing, false);
  assert.equal(entry.tokensDone, entry.tokenCount);
  assert.ok(entry.bytes > 0, 'its KV is on disk');
  assert.ok(['gpu', 'cpu', 'disk'].includes(entry.tier));

  assert.deepEqual(await service.documents.prepare({ id: doc.id }), { tokensEvaluated: 0 }, 'a second Prepare reads nothing');

  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const needle = hay.needles[0];
  const changesBefore = kvChanges(events);
  const answer = await service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(needle.key), maxTokens: 2 });
  assert.equal(answer.text.trim(), needle.values.join(' '));
  assert.equal(answer.metrics?.tiered?.documentTokensEvaluated, 0, 'the question did not read the prepared document again');
  assert.ok(kvChanges(events) > changesBefore, 'an answer on the tiered engine tells the Documents tab too');
});

test('Prepare can be stopped: the document shows a read stopped part-way, and the next Prepare resumes it; two calls share one read', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  let stopped = false;
  const { service } = startService(t, LIBRARY, (e) => {
    if (e.event === 'documents.onKvProgress' && e.payload.tokensDone > 1500 && !stopped) {
      stopped = true;
      void service.documents.cancelPrepare({ id: e.payload.documentId });
    }
  });
  await service.models.open({ path: modelPath });
  const hay = makeHaystack({ wordCount: 8000, seed: 52, needles: [{ depth: 0.5 }] });
  const doc = await importText(service, 'long.txt', hay.text);
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'CANCELLED');
  const half = (await service.documents.kvState()).documents.find((d) => d.documentId === doc.id);
  assert.ok(half, 'the part read is kept');
  assert.notEqual(half.state, 'complete');
  assert.equal(half.preparing, false, 'nothing reads it now: "stopped at N% (resumes)"');
  assert.ok(half.tokensDone > 0 && half.tokensDone < half.tokenCount, `stopped part-way (${half.tokensDone}/${half.tokenCount})`);

  const [a, b] = await Promise.all([service.documents.prepare({ id: doc.id }), service.documents.prepare({ id: doc.id })]);
  assert.deepEqual(a, b, 'a second call joins the running read');
  assert.ok(a.tokensEvaluated > 0 && a.tokensEvaluated < half.tokenCount - 1000, `the read resumed where it stopped (${a.tokensEvaluated} of ${half.tokenCount} tokens)`);
  assert.equal((await service.documents.kvState()).documents.find((d) => d.documentId === doc.id)?.state, 'complete');
});

test('a settings change during a Prepare stops it, says so, and reopens the model; Prepare then goes on where it stopped', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  let change = null as Promise<unknown> | null;
  // Stored settings, not a run's override (an override would win over the change).
  const { service, events } = startService(t, undefined, (e) => {
    if (e.event === 'documents.onKvProgress' && e.payload.tokensDone > 1000 && !change) change = service.settings.update({ gpuBudgetTokens: 2048 });
  });
  await service.settings.update(LIBRARY);
  await service.models.open({ path: modelPath });
  const doc = await importText(service, 'long.txt', makeHaystack({ wordCount: 8000, seed: 56, needles: [] }).text);
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'CANCELLED');
  assert.ok(change);
  assert.equal(((await change) as EngineSettings).gpuBudgetTokens, 2048);
  assert.ok(events.some((e) => e.event === 'app.onNotice' && /Stopped preparing a document to apply the new engine settings/.test(e.payload.message)));
  const half = (await service.documents.kvState()).documents.find((d) => d.documentId === doc.id);
  assert.ok(half && half.state !== 'complete' && half.tokensDone > 0, 'what was read is kept (the GPU budget does not change stored KV)');
  const rest = await service.documents.prepare({ id: doc.id });
  assert.ok(rest.tokensEvaluated > 0 && rest.tokensEvaluated < half.tokenCount - half.tokensDone + 1, `went on from ${half.tokensDone} (${rest.tokensEvaluated} tokens more)`);
});

test('removing a document while it is being prepared stops the read and removes it with its KV', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  let removal = null as Promise<void> | null;
  let during = null as Promise<DocumentKvReport> | null;
  const { service } = startService(t, LIBRARY, (e) => {
    if (e.event !== 'documents.onKvProgress') return;
    // While it reads, the state says so (another window shows "reading").
    during ??= service.documents.kvState();
    if (e.payload.tokensDone > 500 && !removal) removal = service.documents.remove({ id: e.payload.documentId });
  });
  await service.models.open({ path: modelPath });
  const hay = makeHaystack({ wordCount: 8000, seed: 53, needles: [{ depth: 0.5 }] });
  const doc = await importText(service, 'gone.txt', hay.text);
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'CANCELLED');
  assert.ok(during, 'progress was reported');
  const reading = (await during).documents.find((d) => d.documentId === doc.id);
  assert.equal(reading?.preparing, true);
  assert.equal(reading?.state, 'running');
  assert.ok(removal, 'the removal started during the read');
  await removal;
  assert.deepEqual(await service.documents.list(), []);
  assert.deepEqual((await service.documents.kvState()).documents, [], 'no KV is left for it');
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && e.message.includes(doc.id));
  // The model still works.
  const other = await importText(service, 'small.txt', makeHaystack({ wordCount: 300, seed: 54, needles: [] }).text);
  assert.ok((await service.documents.prepare({ id: other.id })).tokensEvaluated > 300);
});

test('Prepare without a model, of an unknown document, on the standard engine or over the disk budget is refused with a clear error', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const { service } = startService(t, LIBRARY);
  await service.settings.update({ engine: 'standard' });
  const doc = await importText(service, 'hay.txt', makeHaystack({ wordCount: 2000, seed: 55, needles: [] }).text);

  const closed = await service.documents.kvState();
  assert.equal(closed.engine, null);
  assert.match(closed.unavailableReason ?? '', /No model is open/);
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'NO_MODEL');
  await assert.rejects(service.documents.prepare({ id: 'nope' }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /No document with id nope/.test(e.message));
  await assert.rejects(service.documents.prepare({} as { id: string }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT');

  await service.models.open({ path: modelPath });
  const standard = await service.documents.kvState();
  assert.equal(standard.engine, 'standard');
  assert.match(standard.unavailableReason ?? '', /Prepare needs the tiered engine/);
  assert.deepEqual(standard.documents, []);
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'NOT_ALLOWED' && /Prepare needs the tiered engine/.test(e.message));

  // The tiered engine, with a disk budget smaller than this document's KV alone.
  await service.settings.update({ engine: 'tiered', diskBudgetBytes: 2 ** 20 });
  await assert.rejects(service.documents.prepare({ id: doc.id }), (e: Error & { code?: string }) => e.code === 'DISK_BUDGET_EXCEEDED' && /disk budget/i.test(e.message));
  const refused = (await service.documents.kvState()).documents.find((d) => d.documentId === doc.id);
  assert.notEqual(refused?.state, 'complete');
  // A cancel of nothing running is harmless.
  await service.documents.cancelPrepare({ id: doc.id });
});
