// The document library against what a user would notice: a document is read once per model and
// layout, whatever set, order or conversation it is asked in afterwards (also after a restart), and
// the answers stay right.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import type { EngineSettings } from '../../engineTypes.ts';
import { Catalog } from '../../../catalog/Catalog.ts';
import { tempDir } from '../../../test/tempDir.ts';
import { DEFAULT_SETTINGS } from '../../settings/engineSettings.ts';
import { ensureTestModel } from '../../testModels/cli.ts';
import { makeHaystack, needleQuestion, type Haystack } from '../../testModels/haystack.ts';
import { NEEDLE_KEYS } from '../../testModels/needleVocabulary.ts';
import { tieredEngineUnavailableReason, TieredEngine } from '../TieredEngine.ts';
import { documentRow } from '../testSupport.ts';
import type { EngineDocument } from '../../Engine.ts';

const unavailable = tieredEngineUnavailableReason();
const skip = unavailable === null ? false : `tiered engine unavailable: ${unavailable}`;

function openEngine(t: TestContext, dataDir: string, settings: Partial<EngineSettings>) {
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, ...settings }) });
  const close = async () => {
    await engine.dispose();
    catalog.dispose();
  };
  t.after(close);
  return { catalog, engine, close };
}

/** Three documents with distinct keys (a needle's answer names its document). */
export function libraryHaystacks(wordCount: number, needlesEach: number): Haystack[] {
  return [0, 1, 2].map((d) =>
    makeHaystack({ wordCount, seed: 40 + d, needles: Array.from({ length: needlesEach }, (_, j) => ({ depth: (j + 0.5) / needlesEach, key: NEEDLE_KEYS[d * 10 + j] })) }),
  );
}

type Model = Awaited<ReturnType<TieredEngine['openModel']>>;

async function askAll(model: Model, documents: EngineDocument[], haystacks: Haystack[]) {
  const conversation = model.createConversation();
  conversation.setDocuments(documents);
  let correct = 0;
  let total = 0;
  let documentTokens = 0;
  let composedTokens = 0;
  for (const haystack of haystacks) {
    for (const needle of haystack.needles) {
      conversation.setHistory([]);
      const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 });
      total++;
      if (result.text.trim() === needle.values.join(' ')) correct++;
      documentTokens += result.metrics.tiered!.documentTokensEvaluated;
      composedTokens += result.metrics.tiered!.composedTokensEvaluated;
      assert.equal(result.metrics.tiered!.kvReuse, 'library');
    }
  }
  await conversation.dispose();
  return { correct, total, documentTokens, composedTokens };
}

test('library: each document is read once; a new set, order or subset, and a restart, evaluate only the text between documents', { skip, timeout: 600_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dir = tempDir(t);
  const settings = { kvReuse: 'library', gpuBudgetTokens: 1024 } as const;
  const haystacks = libraryHaystacks(1500, 3);
  const first = openEngine(t, dir, settings);
  const [a, b, c] = haystacks.map((h) => ({ id: documentRow(first.catalog, h.text).id, text: h.text }));
  let model = await first.engine.openModel(modelPath);

  const ab = await askAll(model, [a, b], [haystacks[0], haystacks[1]]);
  t.diagnostic(`[A, B]: ${ab.correct}/${ab.total}, document tokens read ${ab.documentTokens}, composed ${ab.composedTokens}`);
  assert.ok(ab.documentTokens >= 3000 && ab.documentTokens <= 3010, `A and B are read once: ${ab.documentTokens}`);
  assert.equal(ab.correct, ab.total);

  for (const [name, docs, stacks] of [
    ['[B, A]', [b, a], [haystacks[1], haystacks[0]]],
    ['[A]', [a], [haystacks[0]]],
  ] as const) {
    const r = await askAll(model, [...docs], [...stacks]);
    t.diagnostic(`${name}: ${r.correct}/${r.total}, document tokens read ${r.documentTokens}, composed ${r.composedTokens}`);
    assert.equal(r.documentTokens, 0, `${name} reads no document`);
    assert.ok(r.composedTokens > 0 && r.composedTokens < 200, `${name} evaluates only the text between documents and their first tokens: ${r.composedTokens}`);
    assert.equal(r.correct, r.total, name);
  }
  const ac = await askAll(model, [a, c], [haystacks[0], haystacks[2]]);
  t.diagnostic(`[A, C]: ${ac.correct}/${ac.total}, document tokens read ${ac.documentTokens}`);
  assert.ok(ac.documentTokens >= 1500 && ac.documentTokens <= 1505, `only C is read: ${ac.documentTokens}`);
  assert.equal(ac.correct, ac.total);

  // Another process: every document comes from the library on disk.
  await first.close();
  const second = openEngine(t, dir, settings);
  model = await second.engine.openModel(modelPath);
  const cba = await askAll(model, [c, b, a], [haystacks[2], haystacks[1], haystacks[0]]);
  t.diagnostic(`after a restart, [C, B, A]: ${cba.correct}/${cba.total}, document tokens read ${cba.documentTokens}, composed ${cba.composedTokens}`);
  assert.equal(cba.documentTokens, 0);
  assert.equal(cba.correct, cba.total);
});

test('library lifecycle: the disk budget drops whole documents, least recently used, never one of the set being read; removal frees a document', { skip, timeout: 600_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const dir = tempDir(t);
  // About 3.1 MB of blobs per 1,500-token document (2 KiB of KV per token): room for two, not three.
  const settings = { kvReuse: 'library', gpuBudgetTokens: 1024, diskBudgetBytes: 8 * 2 ** 20 } as const;
  const haystacks = libraryHaystacks(1500, 1);
  const { catalog, engine } = openEngine(t, dir, settings);
  const [a, b, c] = haystacks.map((h) => ({ id: documentRow(catalog, h.text).id, text: h.text }));
  const model = await engine.openModel(modelPath);
  const ask = async (docs: EngineDocument[], stacks: Haystack[]) => {
    const evicted: string[][] = [];
    const conversation = model.createConversation();
    conversation.setDocuments(docs);
    const needle = stacks.at(-1)!.needles[0];
    try {
      const result = await conversation.ask(needleQuestion(needle.key), { maxTokens: 2, onKvEvicted: (e) => evicted.push(e.documentIds) });
      assert.equal(result.text.trim(), needle.values.join(' '));
      return { read: result.metrics.tiered!.documentTokensEvaluated, evicted };
    } finally {
      await conversation.dispose();
    }
  };
  const folders = () => readdirSync(join(dir, 'kv')).filter((name) => !name.startsWith('turns-')).length;

  assert.ok((await ask([a], [haystacks[0]])).read > 1000);
  await new Promise((r) => setTimeout(r, 5));
  assert.ok((await ask([b], [haystacks[1]])).read > 1000);
  const third = await ask([c], [haystacks[2]]);
  t.diagnostic(`reading C dropped ${JSON.stringify(third.evicted)}; ${folders()} documents on disk`);
  assert.deepEqual(third.evicted, [[a.id]], 'the least recently used document goes, whole');
  assert.equal(folders(), 2);
  assert.equal((await ask([b, c], [haystacks[1], haystacks[2]])).read, 0, 'the two left answer without a read');

  // A and the two others do not fit together: neither B nor C is dropped for A, and the error says so.
  await assert.rejects(ask([a, b, c], [haystacks[0], haystacks[1], haystacks[2]]), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'DISK_BUDGET_EXCEEDED');
    assert.match(error.message, /not in this conversation/);
    return true;
  });
  assert.equal((await ask([c, b], [haystacks[2], haystacks[1]])).read, 0, 'B and C are still there');

  await engine.forgetDocument(b.id);
  assert.equal(folders(), 1, "removing B frees its KV");
  assert.ok((await ask([b, c], [haystacks[1], haystacks[2]])).read > 1000, 'B is read again, C is not');
});

test('library memory: composed sets are kept while their glue fits an eighth of the CPU tier; a set dropped is composed again, never read again', { skip, timeout: 600_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  // An eighth of 8 MiB is 1 MiB of glue; each document's first 256 tokens (2 KiB of KV each) make ~0.5 MiB.
  const settings = { kvReuse: 'library', gpuBudgetTokens: 2048, chunkMaxTokens: 256, recomputePercent: 100, cpuTierBytes: 8 * 2 ** 20 } as const;
  const haystacks = libraryHaystacks(1500, 1);
  const { catalog, engine } = openEngine(t, tempDir(t), settings);
  const [a, b, c] = haystacks.map((h) => ({ id: documentRow(catalog, h.text).id, text: h.text }));
  const model = await engine.openModel(modelPath);
  const composed = async (docs: EngineDocument[], stacks: Haystack[]) => {
    const r = await askAll(model, docs, stacks);
    assert.equal(r.correct, r.total);
    return r;
  };
  const ab = await composed([a, b], [haystacks[0], haystacks[1]]);
  assert.ok(ab.composedTokens > 500, `[A, B] composes each document's first 256 tokens: ${ab.composedTokens}`);
  await composed([c], [haystacks[2]]);
  const again = await composed([a, b], [haystacks[0], haystacks[1]]);
  const last = await composed([a, b], [haystacks[0], haystacks[1]]);
  t.diagnostic(`[A, B] composed ${ab.composedTokens} tokens, again after [C]: ${again.composedTokens}, then: ${last.composedTokens}`);
  assert.ok(again.composedTokens > 500, 'its glue did not fit beside [C]: composed again');
  assert.equal(again.documentTokens, 0, 'and no document is read again');
  assert.equal(last.composedTokens, 0, 'kept while it is the most recent');
});
