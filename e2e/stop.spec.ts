// Stop cuts an answer short; what had streamed is kept, marked stopped, and survives a reload.
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../main/engine/testModels/haystack.ts';
import { expect, test } from './fixtures/strataApp.ts';

// The needle model runs on past its answer until max tokens; stopped early, an answer has fewer words.
// Long enough to still stream seconds after the first words at the needle model's speed.
const MAX_TOKENS = 2000;

test('Stop ends a streaming answer, which is kept as stopped after a reload', async ({ strata, strataApp }, testInfo) => {
  const haystack = makeHaystack({ wordCount: 4000, seed: 29, needles: [{ depth: 0.5 }] });
  const needle = haystack.needles[0]!;
  const expected = needle.values.join(' ');

  await strata.waitUntilLoaded();
  await strata.openModel(await ensureTestModel('needle'));
  await expect(strata.currentModel).toContainText('raw completion');
  await strata.dropFiles([{ name: 'long-notes.txt', contents: haystack.text }]);
  await expect(strata.document('long-notes.txt')).toBeVisible();
  await strata.setLongestAnswer(MAX_TOKENS);

  const answer = await strata.ask(needleQuestion(needle.key));
  // waitFor polls every frame: Stop is pressed right after the first words, seconds before the
  // 2,000-token answer would end on its own. The first question reads the document into the KV tiers
  // before the first word (over 10 s for 4K tokens on a small CPU), hence the long wait.
  await answer.and(strata.page.locator('[data-status="streaming"]')).filter({ hasText: expected }).waitFor({ timeout: 90_000 });
  await strata.stop();
  await strata.waitForAnswer(answer);
  await expect(answer).toHaveAttribute('data-status', 'stopped');
  await expect(answer.getByText('stopped', { exact: true })).toBeVisible();
  await expect(strata.stopButton).toHaveCount(0);
  const stoppedText = await strata.messageText(answer);
  expect(stoppedText).toMatch(new RegExp(`^${expected}\\b`));
  expect(stoppedText.split(/\s+/).length, 'fewer words than a full answer').toBeLessThan(MAX_TOKENS);
  await strata.screenshot(testInfo, 'stop-stopped');

  await strataApp.reload();
  await strata.waitUntilLoaded();
  await expect(strata.assistantMessages).toHaveCount(1);
  await expect(strata.assistantMessages).toHaveAttribute('data-status', 'stopped');
  expect(await strata.messageText(strata.assistantMessages)).toBe(stoppedText);
});
