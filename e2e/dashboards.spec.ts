// The dashboards follow an answer as it streams; the residency map and the document view show which
// passages the model read (the needle's among them); settings change the budgets the dashboard shows;
// every control has an accessible name.
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../main/engine/testModels/haystack.ts';
import { expect, test } from './fixtures/strataApp.ts';
import type { StrataPage } from './pages/StrataPage.ts';

async function openNeedleDocument(strata: StrataPage, fileName: string, seed: number, wordCount: number) {
  // One token per word with the needle model's vocabulary; two facts, so answering with the wrong one fails.
  const haystack = makeHaystack({ wordCount, seed, needles: [{ depth: 0.35 }, { depth: 0.8 }] });
  await strata.waitUntilLoaded();
  await strata.openModel(await ensureTestModel('needle'));
  await expect(strata.currentModel).toContainText('raw completion');
  await strata.dropFiles([{ name: fileName, contents: haystack.text }]);
  await expect(strata.document(fileName)).toContainText('tokens');
  const needle = haystack.needles[0]!;
  return { needle, expected: needle.values.join(' '), fact: `${needle.key} : ${needle.values.join(' ')}` };
}

async function expectAllControlsNamed(strata: StrataPage, where: string) {
  expect(await strata.unnamedControls(), `controls without an accessible name (${where})`).toEqual([]);
}

test('dashboards change while an answer streams, and the residency map and document view show the needle was read', async ({ strata }, testInfo) => {
  const { page } = strata;
  const { needle, expected, fact } = await openNeedleDocument(strata, 'haystack-6k.txt', 41, 6000);
  await expectAllControlsNamed(strata, 'Documents tab');
  // Two samples must land while the answer streams: a 2,000-token answer lasts seconds.
  await strata.setLongestAnswer(2000);

  await strata.openSideTab('Latency');
  const answer = await strata.ask(needleQuestion(needle.key));
  // The first question reads the document into the KV tiers first (seconds at a few hundred tok/s).
  await expect(strata.ingestProgress).toBeVisible();
  await expect(page.getByRole('group', { name: 'Reading documents' })).toContainText(/tok\/s/);
  await answer.and(page.locator('[data-status="streaming"]')).filter({ hasText: expected }).waitFor({ timeout: 90_000 });
  await expect(strata.ingestProgress).toHaveCount(0);
  // Two reads of the dashboard, both while the answer is still streaming, must differ.
  const sample = () =>
    page.evaluate(() => ({
      text: document.querySelector('[aria-label="Latency dashboard"]')?.textContent ?? '',
      streaming: document.querySelector('article[aria-label="Assistant message"][data-status="streaming"]') !== null,
    }));
  const first = await sample();
  expect(first.streaming, 'the first sample was taken while the answer streamed').toBe(true);
  let second = first;
  await expect
    .poll(async () => {
      second = await sample();
      return second.text !== first.text;
    }, { timeout: 5_000, intervals: [50] })
    .toBe(true);
  expect(second.streaming, 'the dashboard changed while the answer was still streaming').toBe(true);
  await expect(strata.latencyDashboard.getByRole('img', { name: /Per-token latency of the latest answer over \d+ tokens/ })).toBeVisible();

  await strata.waitForAnswer(answer);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  expect(await strata.messageText(answer)).toMatch(new RegExp(`^${expected}\\b`));
  await expect(strata.latencyDashboard.getByRole('table', { name: 'Answers' }).getByRole('row')).toHaveCount(2);
  await expect(strata.latencyDashboard).toContainText('Time to first token');
  await strata.screenshot(testInfo, 'latency-dashboard');
  await expectAllControlsNamed(strata, 'Latency tab');

  await strata.openSideTab('Memory');
  await expect(strata.memoryDashboard).toContainText('KV cache by tier');
  await expect(strata.memoryDashboard).toContainText(/CPU only|used of/);
  await expect(strata.residencyCells.first()).toBeVisible();
  const readCells = strata.memoryDashboard.getByRole('button', { name: /^Chunk \d+: (GPU|CPU|Disk), read$/ });
  await expect(readCells.first()).toBeVisible();
  expect(await readCells.count(), 'the model read some chunks, not all of them').toBeLessThan(await strata.residencyCells.count());
  await strata.screenshot(testInfo, 'memory-dashboard');
  await expectAllControlsNamed(strata, 'Memory tab');

  // Open the document view from a read chunk: the needle's passage is among the highlighted ones.
  await readCells.first().click();
  await expect(strata.documentView).toBeVisible();
  const needlePassage = strata.readPassages.filter({ hasText: fact });
  await expect(needlePassage).toHaveCount(1);
  const chunkTitle = (await needlePassage.getAttribute('title')) ?? '';
  const chunkIndex = Number(/^Chunk (\d+) /.exec(chunkTitle)?.[1]);
  expect(chunkIndex, `the needle's passage names its chunk (${chunkTitle})`).toBeGreaterThanOrEqual(0);
  await strata.screenshot(testInfo, 'document-view');
  await expectAllControlsNamed(strata, 'document view');
  await page.keyboard.press('Escape');
  await expect(strata.documentView).toBeHidden();

  // The needle's cell is marked read; clicking it scrolls the document view to the needle.
  await expect(strata.residencyCell(chunkIndex)).toHaveAccessibleName(new RegExp(`^Chunk ${chunkIndex}: (GPU|CPU|Disk), read$`));
  await strata.residencyCell(chunkIndex).click();
  await expect(strata.documentView).toBeVisible();
  await expect(needlePassage).toBeInViewport();
  await page.getByRole('button', { name: 'Close document view' }).click();
  await expect(strata.documentView).toBeHidden();

  await strata.openSideTab('Settings');
  await expect(strata.settingsPanel.getByRole('button', { name: 'Apply settings' })).toBeVisible();
  await expectAllControlsNamed(strata, 'Settings tab');
});

test('engine settings: a bad budget is refused with the reason, a good one shows on the memory dashboard', async ({ strata }) => {
  await openNeedleDocument(strata, 'notes.txt', 5, 1500);
  await strata.openSideTab('Settings');
  const panel = strata.settingsPanel;
  const budget = panel.getByRole('textbox', { name: 'GPU budget (tokens)' });
  const auto = panel.getByRole('checkbox', { name: 'Automatic' });
  if (await auto.isChecked()) await auto.uncheck();
  await budget.fill('12');
  await panel.getByRole('button', { name: 'Apply settings' }).click();
  await expect(panel.getByRole('alert')).toContainText('gpuBudgetTokens');
  await expect(panel.getByRole('alert')).toContainText('INVALID_SETTING');

  await budget.fill('1536');
  await panel.getByRole('button', { name: 'Apply settings' }).click();
  await expect(panel.getByRole('status')).toContainText('Settings applied');
  await strata.openSideTab('Memory');
  await expect(strata.memoryDashboard).toContainText('/ 1,536 tokens');
});

test('a setting the model refuses is not stored: the model stays open, Revert shows the stored values, answers still come', async ({ strata }) => {
  const { page } = strata;
  const { needle, expected } = await openNeedleDocument(strata, 'layers.txt', 17, 1500);
  await strata.openSideTab('Settings');
  const panel = strata.settingsPanel;
  const layers = panel.getByRole('textbox', { name: 'Scoring layers' });
  const stored = await layers.inputValue();
  await layers.fill('5');
  await panel.getByRole('button', { name: 'Apply settings' }).click();
  await expect(panel.getByRole('alert')).toContainText('INVALID_SETTING');
  await expect(panel.getByRole('alert')).toContainText('layer 5');
  await expect(page.getByTestId('current-model')).toContainText('needle');
  await panel.getByRole('button', { name: 'Revert changes' }).click();
  await expect(layers).toHaveValue(stored);
  const answer = await strata.ask(needleQuestion(needle.key));
  await strata.waitForAnswer(answer);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  expect(await strata.messageText(answer)).toMatch(new RegExp(`^${expected}\\b`));
});

test('Regenerate replaces the last answer, and Copy puts an answer on the clipboard', async ({ strata }) => {
  const { page } = strata;
  const { needle, expected } = await openNeedleDocument(strata, 'facts.txt', 23, 1500);
  const answer = await strata.ask(needleQuestion(needle.key));
  await strata.waitForAnswer(answer);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  const firstText = await strata.messageText(answer);

  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await strata.copyButton(answer).click();
  await expect(answer.getByRole('status')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(firstText);

  await strata.regenerateButton.click();
  await expect(strata.assistantMessages.last()).toHaveAttribute('data-status', 'streaming');
  await strata.waitForAnswer(strata.assistantMessages.last());
  await expect(strata.userMessages).toHaveCount(1);
  await expect(strata.assistantMessages).toHaveCount(1);
  await expect(strata.assistantMessages).toHaveAttribute('data-status', 'complete');
  expect(await strata.messageText(strata.assistantMessages)).toMatch(new RegExp(`^${expected}\\b`));
});
