// The Documents tab's Prepare: a document is read into the KV cache before any question, with its
// progress on its row; Stop keeps what was read and Prepare resumes there; then the row says where its
// KV is, and the first question reads nothing again.
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../main/engine/testModels/haystack.ts';
import { expect, test } from './fixtures/strataApp.ts';

test('Prepare reads a dropped document ahead of the question, can be stopped and resumed, and its row then says it was read', async ({ strata }, testInfo) => {
  // Long enough to be read over several seconds, so Stop can land half-way.
  const haystack = makeHaystack({ wordCount: 20_000, seed: 61, needles: [{ depth: 0.4 }, { depth: 0.9 }] });
  const needle = haystack.needles[0]!;
  const fileName = 'prepare-20k.txt';
  await strata.waitUntilLoaded();
  await strata.openModel(await ensureTestModel('needle'));
  await expect(strata.currentModel).toContainText('raw completion');
  await strata.dropFiles([{ name: fileName, contents: haystack.text }]);
  await expect(strata.document(fileName)).toContainText('tokens');
  await expect(strata.documentKv(fileName)).toHaveText('not read');
  expect(await strata.unnamedControls(), 'controls without an accessible name').toEqual([]);

  await strata.prepareButton(fileName).click();
  await expect(strata.prepareButton(fileName)).toBeDisabled();
  await expect(strata.documentKv(fileName)).toHaveText(/^reading ([1-9]\d?)%$/, { timeout: 60_000 });
  await expect(strata.page.getByRole('progressbar', { name: `Reading ${fileName}` })).toBeVisible();
  await strata.screenshot(testInfo, 'documents-preparing');
  await strata.stopPreparingButton(fileName).click();
  await expect(strata.documentKv(fileName)).toHaveText(/^stopped at \d+% \(resumes\)$/);
  await expect(strata.stopPreparingButton(fileName)).toHaveCount(0);
  const stoppedAt = Number(/(\d+)%/.exec((await strata.documentKv(fileName).textContent()) ?? '')?.[1]);
  expect(stoppedAt, 'stopped part-way').toBeGreaterThan(0);
  expect(stoppedAt).toBeLessThan(100);

  await strata.prepareButton(fileName).click();
  await expect(strata.documentKv(fileName)).toHaveText(/^read · [\d.]+ (KB|MB|GB) · (on disk|in RAM|on GPU)$/, { timeout: 90_000 });
  await expect(strata.prepareButton(fileName)).toHaveCount(0);
  await strata.screenshot(testInfo, 'documents-prepared');

  // The question finds the document read: no "Reading the documents" bar at any point, and the right answer.
  await strata.page.evaluate(() => {
    const seen = window as unknown as { __ingestBarSeen: boolean };
    seen.__ingestBarSeen = false;
    new MutationObserver(() => {
      if (document.querySelector('progress[aria-label="Documents read into memory"]')) seen.__ingestBarSeen = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
  const answer = await strata.ask(needleQuestion(needle.key));
  await strata.waitForAnswer(answer);
  expect(await strata.page.evaluate(() => (window as unknown as { __ingestBarSeen: boolean }).__ingestBarSeen), 'the question read nothing again').toBe(false);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  expect(await strata.messageText(answer)).toMatch(new RegExp(`^${needle.values.join(' ')}\\b`));
  await expect(strata.documentKv(fileName)).toHaveText(/^read · /);
});
