// Documents longer than the model's trained context (issue 8, point 5, first half): before the read
// goes on, the user is told, with the numbers and the time the read takes at the measured rate.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import type { StrataEvents } from '../../preload/api.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { makeNeedleModel } from '../engine/testModels/makeNeedleModel.ts';
import { formatDuration } from '../engine/tiered/TieredModel.ts';
import { tempDir } from '../test/tempDir.ts';
import { StrataService } from './StrataService.ts';

type Recorded = { [E in keyof StrataEvents]: { event: E; payload: StrataEvents[E] } }[keyof StrataEvents];

test('a read longer than the trained context is announced early, with its numbers and time at the measured rate', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const modelPath = join(dir, 'needle-2k.gguf');
  await makeNeedleModel(modelPath, { contextLength: 2048 });
  const events: Recorded[] = [];
  const service = new StrataService({ dataDir: join(dir, 'data'), host: 'browser', version: 'test', emit: (event, payload) => events.push({ event, payload } as Recorded) });
  t.after(() => service.dispose());
  await service.settings.update({ gpuBudgetTokens: 1024 });
  const model = await service.models.open({ path: modelPath });
  assert.equal(model.trainContextTokens, 2048);
  const hay = makeHaystack({ wordCount: 6000, seed: 3, needles: [{ depth: 0.5 }] });
  const doc = await service.documents.import({ requestId: 'd', fileName: 'long.txt', bytes: new TextEncoder().encode(hay.text) });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const answer = await service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(hay.needles[0].key), maxTokens: 2 });
  assert.equal(answer.status, 'complete');

  const noticeAt = events.findIndex((e) => e.event === 'app.onNotice' && /longer than the 2,048 tokens/.test(e.payload.message));
  assert.ok(noticeAt >= 0, 'the user is told');
  const message = (events[noticeAt].payload as { message: string }).message;
  t.diagnostic(message);
  assert.match(message, /These documents are 6,0\d\d tokens/);
  assert.match(message, /takes about \d+ (s|min|hours) at the measured \d+ tokens\/s/);
  // Early: in the first half of the read, whatever this machine's speed.
  const progressBefore = events.slice(0, noticeAt).filter((e) => e.event === 'chat.onIngestProgress');
  const progressAfter = events.slice(noticeAt).filter((e) => e.event === 'chat.onIngestProgress');
  assert.ok(progressAfter.length > progressBefore.length, `said early in the read, not at its end (${progressBefore.length} progress events before, ${progressAfter.length} after)`);
});

test('read times are in hours when they are hours', () => {
  assert.equal(formatDuration(40_000), '40 s');
  assert.equal(formatDuration(12 * 60_000), '12 min');
  assert.equal(formatDuration(406 * 60_000), '6.8 hours');
});
