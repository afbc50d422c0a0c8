// Files that are not what they claim get an error naming them, and nothing the user had is touched.
import { writeFile } from 'node:fs/promises';
import { makeArchModel } from '../main/engine/testModels/architectures/index.ts';
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack } from '../main/engine/testModels/haystack.ts';
import { expect, test } from './fixtures/strataApp.ts';

/** Deterministic "random" bytes with NULs in them, which no text file has. */
function binaryBytes(length: number): Uint8Array {
  let x = 0x2545f491;
  return Uint8Array.from({ length }, (_, i) => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return i % 16 === 5 ? 0 : (x >>> 0) & 0xff;
  });
}

test('refuses binary, model and empty files dropped as documents, keeping the document already there', async ({ strata }, testInfo) => {
  const notes = makeHaystack({ wordCount: 300, seed: 3, needles: [{ depth: 0.5 }] });
  await strata.waitUntilLoaded();
  await strata.dropFiles([{ name: 'notes.txt', contents: notes.text }]);
  await expect(strata.document('notes.txt')).toBeVisible();
  await expect(strata.conversation('notes.txt')).toBeVisible();

  // A GGUF header under a document's name: refused for what it is, not for its extension.
  const gguf = new Uint8Array([...Buffer.from('GGUF'), 3, 0, 0, 0, ...binaryBytes(256)]);
  await strata.dropFiles([
    { name: 'data.bin', contents: binaryBytes(4096) },
    { name: 'llama-weights.txt', contents: gguf },
  ]);
  await expect(strata.importError('data.bin')).toContainText('data.bin looks like a binary file');
  await expect(strata.importError('llama-weights.txt')).toContainText('looks like a GGUF model file');
  await expect(strata.importError('llama-weights.txt')).toContainText('open it as the model');

  await expect(strata.documents).toHaveCount(1);
  await expect(strata.documentInUse('notes.txt')).toBeChecked();
  await expect(strata.conversations).toHaveCount(1);
  await expect(strata.conversation('notes.txt')).toHaveAttribute('aria-current', 'page');
  await strata.screenshot(testInfo, 'bad-input-documents');

  await strata.dropFiles([{ name: 'empty.txt', contents: '' }]);
  await expect(strata.importError('empty.txt')).toContainText('empty.txt is empty');
  await expect(strata.documents).toHaveCount(1);
  await expect(strata.conversations).toHaveCount(1);
});

test('a file that is not GGUF, typed as the model path, is refused and the open model stays open', async ({ strata, strataApp }, testInfo) => {
  await strata.waitUntilLoaded();
  await strata.openModel(await ensureTestModel('needle'));
  await expect(strata.currentModel).toContainText('raw completion');
  const openModel = (await strata.currentModel.textContent()) ?? '';

  const notAModel = testInfo.outputPath('not-a-model.gguf');
  await writeFile(notAModel, 'These are meeting notes, not model weights.\n');
  await strata.openModel(notAModel);
  await expect(strata.modelError).toBeVisible();
  await expect(strata.modelError).toHaveAttribute('role', 'alert');
  await expect(strata.modelError).toContainText(`Could not open the model ${notAModel}`);
  await expect(strata.modelError).toContainText('not-a-model.gguf is not a GGUF model file');
  await expect(strata.currentModel.getByRole('status')).toHaveCount(0);
  await expect(strata.currentModel).toHaveText(openModel);
  await strata.screenshot(testInfo, 'bad-input-model');

  // The badge after a reload comes from the engine, not from what the window remembered.
  await strataApp.reload();
  await strata.waitUntilLoaded();
  await expect(strata.currentModel).toHaveText(openModel);
});

test('a model the tiered engine cannot splice opens on the standard engine, and the badge says why', async ({ strata }, testInfo) => {
  await strata.waitUntilLoaded();
  // Gemma 2 interleaves sliding-window layers: its KV cache is not per-position cells for every layer.
  const gemma = testInfo.outputPath('gemma2-random.gguf');
  await makeArchModel(gemma, { arch: 'gemma2', seed: 2 });
  await strata.openModel(gemma);
  await expect(strata.currentModel).toContainText('standard engine');
  await expect(strata.currentModel.getByRole('status')).toContainText('sliding-window attention');
  await expect(strata.currentModel.getByRole('status')).toContainText('Using the standard engine');
  await strata.screenshot(testInfo, 'bad-input-fallback-badge');
});
