// The service end to end with the standard engine and the generated needle model: what a user does
// (open a model, add a document, ask, stop, restart) and what they would notice if it broke.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { EngineKind, StrataEvents } from '../../preload/api.ts';
import { ModelError } from '../engine/errors.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { tempDir } from '../test/tempDir.ts';
import { recordingService, type RecordedEvent } from '../test/recordingService.ts';
import { StrataService } from './StrataService.ts';

type Recorded = RecordedEvent;

function startService(t: TestContext, dataDir: string, onEvent?: (e: Recorded) => void, engine?: EngineKind) {
  return recordingService(t, { dataDir, settingsOverride: engine ? { engine } : undefined, onEvent });
}

const haystack = makeHaystack({
  wordCount: 4000,
  seed: 11,
  needles: [0.03, 0.15, 0.3, 0.42, 0.55, 0.68, 0.8, 0.95].map((depth) => ({ depth })),
});

for (const engine of ['standard', 'tiered'] as const) test(`${engine} engine: every needle of a 4K-token document is answered, streamed and saved`, { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dataDir = tempDir(t);
  const docPath = join(dataDir, 'haystack.txt');
  writeFileSync(docPath, haystack.text);
  const { service, events } = startService(t, dataDir, undefined, engine);

  const model = await service.models.open({ path: modelPath });
  assert.equal(model.hasChatTemplate, false);
  assert.equal(model.engine, engine);
  const imported = await service.documents.importPath({ requestId: 'import-1', path: docPath });
  // Counted in the background for the open model, then announced.
  const doc = await waitFor(async () => (await service.documents.list()).find((d) => d.id === imported.id && d.tokenCount !== null));
  assert.equal(doc.tokenCount, haystack.words.length, 'one token per word under the needle tokenizer');
  assert.ok(events.some((e) => e.event === 'documents.onChanged'));
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  assert.equal(conversation.title, 'haystack.txt');

  let correct = 0;
  for (const [i, needle] of haystack.needles.entries()) {
    const requestId = `ask-${i}`;
    const message = await service.chat.ask({ requestId, conversationId: conversation.id, question: needleQuestion(needle.key), maxTokens: 2 });
    const streamed = events
      .filter((e): e is Extract<Recorded, { event: 'chat.onToken' }> => e.event === 'chat.onToken' && e.payload.requestId === requestId)
      .map((e) => e.payload.text)
      .join('');
    assert.equal(streamed, message.text, 'the streamed tokens are the saved answer');
    assert.equal(message.status, 'complete');
    assert.ok(message.metrics && message.metrics.timeToFirstTokenMs > 0 && message.metrics.generatedTokens === 2);
    if (message.text.trim() === needle.values.join(' ')) correct++;
    else t.diagnostic(`${needle.key} at depth ${needle.depth}: expected "${needle.values.join(' ')}", got "${message.text.trim()}"`);
    if (i > 0) {
      // A follow-up reuses the evaluated document instead of evaluating 4K tokens again.
      assert.ok(message.metrics!.evaluatedPromptTokens < 64, `follow-up evaluated ${message.metrics!.evaluatedPromptTokens} tokens`);
    }
  }
  t.diagnostic(`needles answered: ${correct}/${haystack.needles.length}`);
  assert.equal(correct, haystack.needles.length);
  assert.equal((await service.chat.messages({ conversationId: conversation.id })).length, haystack.needles.length * 2);
});

test('a stopped answer keeps what streamed, is marked stopped, and survives a restart', { timeout: 300_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dataDir = tempDir(t);
  let tokens = 0;
  // Stop the answer from inside the stream, as the Stop button does, after three tokens.
  const first = startService(t, dataDir, (e) => {
    if (e.event === 'chat.onToken' && ++tokens === 3) void first.service.chat.cancel({ requestId: 'long' });
  });
  await first.service.models.open({ path: modelPath });
  const doc = await first.service.documents.import({ requestId: 'i', fileName: 'notes.txt', bytes: new TextEncoder().encode(haystack.text) });
  const conversation = await first.service.chat.createConversation({ documentIds: [doc.id] });

  const stopped = await first.service.chat.ask({ requestId: 'long', conversationId: conversation.id, question: needleQuestion(haystack.needles[0].key), maxTokens: 200 });
  assert.equal(stopped.status, 'stopped');
  assert.ok(stopped.metrics!.generatedTokens < 200, `stopped after ${stopped.metrics!.generatedTokens} tokens`);
  assert.ok(stopped.text.trim().startsWith(haystack.needles[0].values.join(' ')));
  await first.service.dispose();

  const second = startService(t, dataDir);
  assert.equal((await second.service.models.current()), null);
  assert.deepEqual((await second.service.models.listRecent()).map((m) => m.path), [modelPath]);
  assert.equal((await second.service.restoreLastModel())?.path, modelPath, 'the last model reopens after a restart');
  assert.deepEqual((await second.service.documents.list()).map((d) => d.fileName), ['notes.txt']);
  const [again] = await second.service.chat.listConversations();
  assert.deepEqual(again.documentIds, [doc.id]);
  const messages = await second.service.chat.messages({ conversationId: again.id });
  assert.deepEqual(messages.map((m) => [m.role, m.status]), [['user', 'complete'], ['assistant', 'stopped']]);
  assert.equal(messages[1].text, stopped.text);
});

test('a corrupt GGUF is refused with a clear error and the open model stays open', { timeout: 120_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dataDir = tempDir(t);
  const { service, events } = startService(t, dataDir);
  await service.models.open({ path: modelPath });

  const notGguf = join(dataDir, 'weights.gguf');
  writeFileSync(notGguf, 'this is not a model at all');
  await assert.rejects(service.models.open({ path: notGguf }), (e: Error & { code?: string }) => e.code === 'INVALID_GGUF' && /weights\.gguf/.test(e.message));

  const truncated = join(dataDir, 'truncated.gguf');
  const header = Buffer.alloc(24);
  header.write('GGUF', 0, 'latin1');
  header.writeUInt32LE(3, 4);
  header.writeBigUInt64LE(5n, 8);
  header.writeBigUInt64LE(40n, 16);
  writeFileSync(truncated, header);
  await assert.rejects(service.models.open({ path: truncated }), (e: Error & { code?: string }) => e.code === 'INVALID_GGUF' && /damaged or incomplete/.test(e.message));

  // A download cut short: the real header survives, the tensors do not.
  const cut = join(dataDir, 'cut.gguf');
  const whole = readFileSync(modelPath);
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
  await assert.rejects(service.models.open({ path: cut }), (e: Error & { code?: string }) => e.code === 'INVALID_GGUF' && /cut\.gguf/.test(e.message));

  await assert.rejects(service.models.open({ path: join(dataDir, 'missing.gguf') }), (e: Error & { code?: string }) => e.code === 'MODEL_NOT_FOUND');
  assert.equal((await service.models.current())?.path, modelPath);
  assert.ok(events.some((e) => e.event === 'models.onStatus' && e.payload.state === 'failed'));
  assert.deepEqual((await service.models.listRecent()).map((m) => m.path), [modelPath], 'failed files are not remembered');
});

test('asking without a model, or with an empty question, is a clear error that saves nothing', { timeout: 60_000 }, async (t) => {
  const { service } = startService(t, tempDir(t));
  const conversation = await service.chat.createConversation({ documentIds: [] });
  await assert.rejects(service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: 'hi' }), (e: Error & { code?: string }) => e.code === 'NO_MODEL');
  await assert.rejects(service.chat.ask({ requestId: 'b', conversationId: conversation.id, question: '  ' }), (e: Error & { code?: string }) => e.code === 'EMPTY_QUESTION');
  assert.equal((await service.chat.messages({ conversationId: conversation.id })).length, 0);
});

test('the same file imported twice is one document; a binary file is refused and loses nothing', async (t) => {
  const { service, events } = startService(t, tempDir(t));
  const bytes = new TextEncoder().encode('# Notes\n\nThe meeting moved to Thursday.\n');
  const a = await service.documents.import({ requestId: '1', fileName: 'notes.md', bytes });
  const b = await service.documents.import({ requestId: '2', fileName: 'copy of notes.md', bytes });
  assert.equal(b.id, a.id);
  assert.equal(a.kind, 'md');
  // The same bytes under a new name say which document they are.
  const notices = events.filter((e): e is Extract<Recorded, { event: 'app.onNotice' }> => e.event === 'app.onNotice').map((e) => e.payload.message);
  assert.deepEqual(notices, ['copy of notes.md has the same contents as notes.md, already in the library; it was not added again.']);
  await assert.rejects(
    service.documents.import({ requestId: '3', fileName: 'photo.png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) }),
    (e: Error & { code?: string }) => (e.code === 'UNSUPPORTED_TYPE' || e.code === 'BINARY_FILE') && /photo\.png/.test(e.message),
  );
  await assert.rejects(service.documents.import({ requestId: '4', fileName: 'empty.txt', bytes: new Uint8Array() }), (e: Error & { code?: string }) => e.code === 'EMPTY_DOCUMENT');
  assert.deepEqual((await service.documents.list()).map((d) => d.fileName), ['notes.md']);
  const failures = events.filter((e) => e.event === 'documents.onImportProgress' && e.payload.phase === 'failed');
  assert.equal(failures.length, 2);
});

test('importing a text with an invalid byte says how it was decoded', async (t) => {
  const { service, events } = startService(t, tempDir(t));
  await service.documents.import({ requestId: 'c', fileName: 'damaged.txt', bytes: new Uint8Array([...new TextEncoder().encode('déjà vu '.repeat(200)), 0xff]) });
  const notices = events.filter((e): e is Extract<Recorded, { event: 'app.onNotice' }> => e.event === 'app.onNotice').map((e) => e.payload.message);
  assert.equal(notices.length, 1);
  assert.match(notices[0], /damaged\.txt: 1 byte was not valid UTF-8/);
});

test('answer length and temperature apply to the next answer without reopening the model', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDir(t);
  const { service, events } = startService(t, dataDir, undefined, 'standard');
  await service.models.open({ path: await ensureTestModel('needle') });
  const docPath = join(dataDir, 'facts.txt');
  writeFileSync(docPath, haystack.text);
  const doc = await service.documents.importPath({ requestId: 'i', path: docPath });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const loadsBefore = events.filter((e) => e.event === 'models.onStatus' && e.payload.state === 'loading').length;
  const updated = await service.settings.update({ answerMaxTokens: 1, temperature: 0 });
  assert.equal(updated.answerMaxTokens, 1);
  assert.equal(events.filter((e) => e.event === 'models.onStatus' && e.payload.state === 'loading').length, loadsBefore, 'the model was not reopened');
  const message = await service.chat.ask({ requestId: 'q', conversationId: conversation.id, question: needleQuestion(haystack.needles[0].key) });
  assert.equal(message.metrics?.generatedTokens, 1, 'the answer stops at the setting');
  assert.equal(message.text.trim(), haystack.needles[0].values[0]);
  await assert.rejects(service.settings.update({ temperature: 5 }), (e: Error & { code?: string }) => e.code === 'INVALID_SETTING' && /temperature must be a number from 0/.test(e.message));
  await assert.rejects(service.settings.update({ answerMaxTokens: 0 }), (e: Error & { code?: string }) => e.code === 'INVALID_SETTING');
  // A system prompt reaches the next answer's prompt (after the documents), also without a reopen.
  await service.settings.update({ systemPrompt: 'Answer with the values only.' });
  assert.equal(events.filter((e) => e.event === 'models.onStatus' && e.payload.state === 'loading').length, loadsBefore, 'still not reopened');
  const fresh = await service.chat.createConversation({ documentIds: [doc.id] });
  const instructed = await service.chat.ask({ requestId: 'q2', conversationId: fresh.id, question: needleQuestion(haystack.needles[0].key) });
  assert.ok(instructed.metrics!.promptTokens > message.metrics!.promptTokens + 4, `the instructions are in the prompt (${instructed.metrics!.promptTokens} vs ${message.metrics!.promptTokens} tokens)`);
});

test('settings are validated with clear errors and persist across restarts', async (t) => {
  const dataDir = tempDir(t);
  const first = startService(t, dataDir);
  const defaults = await first.service.settings.get();
  assert.equal(defaults.gpuBudgetTokens, null);
  await assert.rejects(first.service.settings.update({ gpuBudgetTokens: 12 }), (e: Error & { code?: string }) => e.code === 'INVALID_SETTING' && /gpuBudgetTokens/.test(e.message));
  await assert.rejects(first.service.settings.update({ chunkMinTokens: 300, chunkMaxTokens: 100 }), (e: Error & { code?: string }) => e.code === 'INVALID_SETTING' && /chunkMaxTokens/.test(e.message));
  await assert.rejects(first.service.settings.update({ bogus: 1 } as never), /Unknown setting: bogus/);
  const updated = await first.service.settings.update({ gpuBudgetTokens: 2048, scoringLayers: [3, 1, 3] });
  assert.deepEqual(updated.scoringLayers, [1, 3]);
  await first.service.dispose();
  const second = startService(t, dataDir);
  const again = await second.service.settings.get();
  assert.equal(again.gpuBudgetTokens, 2048);
  assert.deepEqual(again.scoringLayers, [1, 3]);
});

test('when the tiered engine cannot serve a model, the standard engine does and the user is told why', { timeout: 120_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const refusing = {
    kind: 'tiered' as const,
    openModel: async () => {
      throw new ModelError('TIERED_UNSUPPORTED', 'needle cannot be split into KV chunks: the model uses sliding-window attention (4096 tokens).');
    },
    dispose: async () => undefined,
  };
  const service = new StrataService({ dataDir: tempDir(t), host: 'browser', version: 'test', tieredEngine: refusing });
  t.after(() => service.dispose());
  const model = await service.models.open({ path: modelPath });
  assert.equal(model.engine, 'standard');
  assert.match(model.engineNotice ?? '', /sliding-window attention.*Using the standard engine/);
  assert.equal((await service.models.current())?.engine, 'standard');

  // Any other failure is the model's, not the engine's: no silent fallback.
  const broken = new StrataService({
    dataDir: tempDir(t),
    host: 'browser',
    version: 'test',
    tieredEngine: { ...refusing, openModel: async () => { throw new ModelError('OUT_OF_MEMORY', 'no room'); } },
  });
  t.after(() => broken.dispose());
  await assert.rejects(broken.models.open({ path: modelPath }), (e: Error & { code?: string }) => e.code === 'OUT_OF_MEMORY');
});

test('the tiered engine is the default and answers through the service with tier metrics', { timeout: 180_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const { service } = startService(t, tempDir(t));
  await service.settings.update({ gpuBudgetTokens: 1024, chunkMaxTokens: 128 });
  const model = await service.models.open({ path: modelPath });
  assert.equal(model.engine, 'tiered');
  assert.deepEqual((await service.app.info()).engines, ['tiered', 'standard']);
  const doc = await service.documents.import({ requestId: 'i', fileName: 'h.txt', bytes: new TextEncoder().encode(haystack.text) });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const needle = haystack.needles[2];
  const message = await service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(needle.key), maxTokens: 2 });
  assert.equal(message.text.trim(), needle.values.join(' '));
  assert.equal(message.metrics?.engine, 'tiered');
  assert.ok((message.metrics?.tiered?.peakGpuResidentTokens ?? Infinity) <= 1024);
  assert.ok((message.metrics?.tiered?.selectedChunkIndices.length ?? 0) > 0);
});

test('dashboards: memory snapshots stream during an answer and the residency map marks the needle passage as read', { timeout: 180_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const { service, events } = startService(t, tempDir(t));
  await service.settings.update({ gpuBudgetTokens: 1024, chunkMaxTokens: 128 });
  await service.models.open({ path: modelPath });
  const doc = await service.documents.import({ requestId: 'i', fileName: 'h.txt', bytes: new TextEncoder().encode(haystack.text) });
  const text = (await service.documents.getText({ id: doc.id })).text;
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  assert.equal(await service.engine.residency({ conversationId: conversation.id }), null, 'nothing read yet');
  const needle = haystack.needles[4];
  const first = await service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(needle.key), maxTokens: 2 });
  assert.equal(first.text.trim(), needle.values.join(' '));

  const residency = await service.engine.residency({ conversationId: conversation.id });
  assert.ok(residency && residency.chunks.length > 10);
  const fact = `${needle.key} : ${needle.values.join(' ')}`;
  const factAt = text.indexOf(fact);
  assert.ok(factAt > 0);
  const holder = residency.chunks.find((c) => c.documentId === doc.id && c.charStart <= factAt && factAt < c.charEnd);
  assert.ok(holder, 'a chunk holds the needle');
  assert.equal(holder.read, true, 'the needle chunk was read for the answer');
  assert.equal(holder.tier, 'gpu');
  assert.ok(text.slice(holder.charStart, holder.charEnd).includes(needle.key));
  assert.ok(residency.chunks.some((c) => c.tier === 'cpu'), 'chunks outside the budget live in the CPU tier');
  assert.ok(residency.chunks.filter((c) => c.read).length < residency.chunks.length / 2, 'the model read a fraction of the document');

  const memory = await service.engine.memory();
  assert.equal(memory.engine, 'tiered');
  assert.ok(memory.tiers.gpu.bytes > 0 && memory.tiers.gpu.bytes <= (memory.tiers.gpu.budgetBytes ?? 0));
  assert.ok(memory.tiers.disk.bytes > 0 && memory.tiers.cpu.bytes > 0);
  assert.ok(memory.hits.cpu + memory.hits.gpu > 0);
  assert.ok(events.filter((e) => e.event === 'engine.onMemory').length >= 2, 'memory snapshots were pushed');
  assert.ok(events.some((e) => e.event === 'engine.onResidency' && e.payload.conversationId === conversation.id));
  const tokens = events.filter((e): e is Extract<Recorded, { event: 'chat.onToken' }> => e.event === 'chat.onToken');
  assert.ok(tokens.every((e) => e.payload.elapsedMs > 0));

  // Regenerate replaces the last answer (greedy: the same one) instead of adding a turn.
  const again = await service.chat.regenerate({ requestId: 'r', conversationId: conversation.id, maxTokens: 2 });
  assert.equal(again.text.trim(), needle.values.join(' '));
  const messages = await service.chat.messages({ conversationId: conversation.id });
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant']);
});

test('stopping while a document is read into the tiers ends the answer as stopped; the next question resumes the reading', { timeout: 180_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const big = makeHaystack({ wordCount: 16000, seed: 31, needles: [{ depth: 0.9 }] });
  let cancelled = false;
  const dataDir = tempDir(t);
  const { service } = startService(t, dataDir, (e) => {
    if (e.event === 'chat.onIngestProgress' && e.payload.tokensDone > 3000 && !cancelled) {
      cancelled = true;
      void service.chat.cancel({ requestId: e.payload.requestId });
    }
  });
  await service.settings.update({ gpuBudgetTokens: 1024, chunkMaxTokens: 128 });
  await service.models.open({ path: modelPath });
  const doc = await service.documents.import({ requestId: 'i', fileName: 'big.txt', bytes: new TextEncoder().encode(big.text) });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const stopped = await service.chat.ask({ requestId: 'first', conversationId: conversation.id, question: needleQuestion(big.needles[0].key), maxTokens: 2 });
  assert.equal(stopped.status, 'stopped');
  assert.equal(stopped.error, null);
  const resumed = await service.chat.ask({ requestId: 'second', conversationId: conversation.id, question: needleQuestion(big.needles[0].key), maxTokens: 2 });
  assert.equal(resumed.text.trim(), big.needles[0].values.join(' '));
  const evaluated = resumed.metrics!.tiered!.documentTokensEvaluated;
  t.diagnostic(`resumed reading: ${evaluated} of ${big.words.length + 1} tokens`);
  assert.ok(evaluated > 0 && evaluated < big.words.length - 2000, 'the reading resumed where it stopped');
});

/** Polls until `probe` gives a value (background work the service announces with an event). */
async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
