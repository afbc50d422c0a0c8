// Nothing heavy on the thread that serves the API (issue 7, point 8): with a 25 MB-text library,
// app.info answers within 100 ms (p99) while a model opens (the library's token counts are made in a
// tokenizer worker, not by the open) and while a document is read into the tiers.
import assert from 'node:assert/strict';
import test from 'node:test';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { tempDir } from '../test/tempDir.ts';
import { StrataService } from './StrataService.ts';
import { latenciesDuring as during, p99 } from '../test/latenciesDuring.ts';

const latenciesDuring = (service: StrataService, work: Promise<unknown>) => during(() => service.app.info(), work);

test('app.info answers within 100 ms (p99) while a model opens over a 25 MB library and while a document is read', { timeout: 600_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const service = new StrataService({ dataDir: tempDir(t), host: 'browser', version: 'test' });
  t.after(() => service.dispose());
  await service.settings.update({ gpuBudgetTokens: 1024, chunkMaxTokens: 128 });
  const filler = makeHaystack({ wordCount: 200_000, seed: 5, needles: [] }).text;
  for (let i = 0; i < 20; i++) {
    await service.documents.import({ requestId: `lib-${i}`, fileName: `notes-${i}.txt`, bytes: new TextEncoder().encode(`${i} ${filler}`) });
  }
  const libraryBytes = (await service.documents.list()).reduce((sum, d) => sum + d.sizeBytes, 0);
  assert.ok(libraryBytes > 25_000_000, `library of ${libraryBytes} bytes`);

  const opening = await latenciesDuring(service, service.models.open({ path: modelPath }));
  // The counts arrive in the background; measure while they are being made too.
  const counting = await latenciesDuring(service, (async () => {
    while ((await service.documents.list()).some((d) => d.tokenCount === null)) await new Promise((resolve) => setTimeout(resolve, 50));
  })());

  const hay = makeHaystack({ wordCount: 16000, seed: 6, needles: [{ depth: 0.5 }] });
  const doc = await service.documents.import({ requestId: 'hay', fileName: 'hay.txt', bytes: new TextEncoder().encode(hay.text) });
  const conversation = await service.chat.createConversation({ documentIds: [doc.id] });
  const reading = await latenciesDuring(service, service.chat.ask({ requestId: 'a', conversationId: conversation.id, question: needleQuestion(hay.needles[0].key), maxTokens: 2 }));

  const line = (name: string, v: number[]) => `${name}: ${v.length} calls, p99 ${p99(v).toFixed(1)} ms, max ${Math.max(...v).toFixed(1)} ms`;
  console.log(`# library ${(libraryBytes / 1e6).toFixed(1)} MB; ${line('model open', opening)}; ${line('counting', counting)}; ${line('reading a 16K-token document', reading)}`);
  assert.ok(p99(opening) < 100, line('model open', opening));
  assert.ok(p99(counting) < 100, line('counting', counting));
  assert.ok(p99(reading) < 100, line('reading', reading));
});
