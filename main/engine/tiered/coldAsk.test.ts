// A question in a new process on a document read before: nothing of the document is tokenized or
// rendered again (its prefix tokens come from the catalog, the prompt is composed after them), and the
// answers stay right. Conversations with turns compose the same way: chatTemplates.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { Catalog } from '../../catalog/Catalog.ts';
import { tempDir } from '../../test/tempDir.ts';
import type { EngineDocument } from '../Engine.ts';
import { DEFAULT_SETTINGS } from '../settings/engineSettings.ts';
import { ensureTestModel } from '../testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../testModels/haystack.ts';
import { tieredEngineUnavailableReason, TieredEngine } from './TieredEngine.ts';
import type { TieredModel } from './TieredModel.ts';
import { documentRow } from './testSupport.ts';

const unavailable = tieredEngineUnavailableReason();
const skip = unavailable === null ? false : `tiered engine unavailable: ${unavailable}`;

async function open(t: TestContext, dataDir: string) {
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, gpuBudgetTokens: 1024 }) });
  const model = (await engine.openModel(await ensureTestModel('needle'))) as TieredModel;
  const close = async () => {
    await model.dispose();
    await engine.dispose();
    catalog.dispose();
  };
  t.after(close);
  return { catalog, model, close };
}

/** Counts the document characters the model's prompt renderer is handed. */
function countRenderedText(model: TieredModel): { chars: number } {
  const seen = { chars: 0 };
  const renderer = model.renderer as unknown as Record<string, (documents: readonly EngineDocument[], ...rest: unknown[]) => Promise<number[]>>;
  for (const name of ['render', 'prefix', 'prefixWithTurns']) {
    const original = renderer[name];
    renderer[name] = (documents, ...rest) => {
      seen.chars += documents.reduce((n, d) => n + d.text.length, 0);
      return original(documents, ...rest);
    };
  }
  return seen;
}

test('a new process answers from the stored prefix without tokenizing the document again', { skip, timeout: 300_000 }, async (t) => {
  const dataDir = tempDir(t);
  const hay = makeHaystack({ wordCount: 8000, seed: 31, needles: [0.2, 0.5, 0.8].map((depth) => ({ depth })) });
  const first = await open(t, dataDir);
  const row = documentRow(first.catalog, hay.text);
  const documents = [{ id: row.id, text: hay.text, sha256: row.sha256 }];
  const c1 = first.model.createConversation();
  c1.setDocuments(documents);
  const asked = await c1.ask(needleQuestion(hay.needles[0].key), { maxTokens: 2 });
  assert.equal(asked.text.trim(), hay.needles[0].values.join(' '));
  await first.close();

  const second = await open(t, dataDir);
  const rendered = countRenderedText(second.model);
  const c2 = second.model.createConversation();
  c2.setDocuments(documents);
  for (const [i, needle] of hay.needles.entries()) {
    const result = await c2.ask(needleQuestion(needle.key), { maxTokens: 2 });
    assert.equal(result.text.trim(), needle.values.join(' '));
    assert.equal(result.metrics.tiered!.documentTokensEvaluated, 0);
    if (i === 0) {
      // The same question as the last one of the first process: the chunks it chose then (kept in the
      // catalog) were read from disk while this one was probed.
      const tiered = result.metrics.tiered!;
      assert.deepEqual(tiered.selectedChunkIndices, asked.metrics.tiered!.selectedChunkIndices);
      assert.ok(tiered.prefetchedChunks >= 1 && tiered.prefetchedChunks <= tiered.chunksSelected, `${tiered.prefetchedChunks} chunks read during the probe`);
    }
  }
  // Only the stand-ins (the document's last 4,000 characters) are rendered, never the 40K-character text.
  assert.ok(rendered.chars <= 4000 * 12, `${rendered.chars} document characters rendered`);
  assert.ok(rendered.chars < hay.text.length, 'the whole document was never rendered');
});
