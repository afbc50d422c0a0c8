// The core promise end to end: a dropped long document answers a question about one fact in it, and
// the document, conversation and answer survive a reload and a restart of the app.
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../main/engine/testModels/haystack.ts';
import { expect, test } from './fixtures/strataApp.ts';

test('answers a needle question from a dropped 4K-token document, and keeps it all after reload and restart', async ({ strata, strataApp }, testInfo) => {
  const modelPath = await ensureTestModel('needle');
  // Two facts, so that answering with the wrong one fails.
  const haystack = makeHaystack({ wordCount: 4000, seed: 17, needles: [{ depth: 0.3 }, { depth: 0.7 }] });
  const needle = haystack.needles[0]!;
  const question = needleQuestion(needle.key);
  const expected = needle.values.join(' ');
  const fileName = 'haystack-4k.txt';

  await strata.waitUntilLoaded();
  await strata.openModel(modelPath);
  await expect(strata.currentModel).toContainText('raw completion');

  await strata.startRecording();
  await strata.dropFiles([{ name: fileName, contents: haystack.text }]);
  await expect(strata.document(fileName)).toBeVisible();
  await expect(strata.document(fileName)).toContainText('tokens');
  expect((await strata.recording()).importing, 'a progress row for the file while it imported').toContain(fileName);
  // A drop with no conversation open starts one, titled after the document, with it in use.
  await expect(strata.conversation(fileName)).toBeVisible();
  await expect(strata.documentInUse(fileName)).toBeChecked();

  const answer = await strata.ask(question);
  await expect(strata.messageBox).toHaveValue('');
  await strata.waitForAnswer(answer);
  await expect(answer).toHaveAttribute('data-status', 'complete');
  // Raw completion keeps going after the answer (up to max tokens): the values must come first.
  expect(await strata.messageText(answer)).toMatch(new RegExp(`^${expected}\\b`));
  const seen = await strata.recording();
  expect(seen.streamingText, 'the answer showed while it was still streaming').toMatch(new RegExp(`^${expected}\\b`));
  expect(seen.stopShownWhileStreaming, 'Stop was offered while the answer streamed').toBe(true);
  await strata.screenshot(testInfo, 'needle-answer');

  async function expectAllStillThere() {
    await strata.waitUntilLoaded();
    await expect(strata.document(fileName)).toBeVisible();
    await expect(strata.conversation(fileName)).toBeVisible();
    await expect(strata.conversation(fileName)).toHaveAttribute('aria-current', 'page');
    await expect(strata.documentInUse(fileName)).toBeChecked();
    await expect(strata.userMessages).toHaveCount(1);
    await expect(strata.userMessages).toContainText(question);
    await expect(strata.assistantMessages).toHaveCount(1);
    await expect(strata.assistantMessages).toHaveAttribute('data-status', 'complete');
    expect(await strata.messageText(strata.assistantMessages)).toMatch(new RegExp(`^${expected}\\b`));
  }

  await strataApp.reload();
  await expectAllStillThere();

  await strataApp.restart();
  await expectAllStillThere();
  await strata.screenshot(testInfo, 'needle-after-restart');
});
