// The engine runs in its own process: killed in the middle of an answer, the window says so, the
// answer ends as an error, the engine comes back with the model open, and the next question works.
// Also: the app's bundled engine (out/main/engineMain.js, what Electron's utilityProcess runs) starts
// and opens a model under plain Node, so the Electron build is exercised where Electron cannot run.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../main/engine/testModels/haystack.ts';
import { repoRoot } from './fixtures/paths.ts';
import { expect, test } from './fixtures/strataApp.ts';

test('the engine killed mid-answer: the window says so, the answer ends as an error, the next question is answered', async ({ strata, strataApp }, testInfo) => {
  const { page } = strata;
  // Long enough that the first question's read lasts a few seconds: the kill lands while it runs.
  const haystack = makeHaystack({ wordCount: 8000, seed: 51, needles: [{ depth: 0.3 }, { depth: 0.7 }] });
  await strata.waitUntilLoaded();
  await strata.openModel(await ensureTestModel('needle'));
  await expect(strata.currentModel).toContainText('raw completion');
  await strata.dropFiles([{ name: 'facts.txt', contents: haystack.text }]);
  await expect(strata.document('facts.txt')).toContainText('tokens');
  const firstPid = await strataApp.engineProcessId();

  await strata.ask(needleQuestion(haystack.needles[0]!.key));
  // The reading bar, not the answer's placeholder (shown at once, before the engine has even stored the
  // question): a kill before that is not "mid-answer" and leaves nothing to mark as failed.
  await expect(strata.ingestProgress).toBeVisible();
  process.kill(firstPid, 'SIGKILL');
  await expect(page.getByText(/The engine stopped \(killed by SIGKILL\); restarting it/)).toBeVisible();
  await expect(page.locator('article[aria-label="Assistant message"]').last()).toHaveAttribute('data-status', 'error');
  await expect(page.locator('article[aria-label="Assistant message"]').last()).toContainText(/engine stopped/i);
  await strata.screenshot(testInfo, 'engine-stopped');
  // The new engine reopens the model by itself.
  await expect(strata.currentModel).toContainText('raw completion', { timeout: 60_000 });
  expect(await strataApp.engineProcessId()).not.toBe(firstPid);

  const next = await strata.ask(needleQuestion(haystack.needles[1]!.key));
  await strata.waitForAnswer(next);
  await expect(next).toHaveAttribute('data-status', 'complete');
  expect(await strata.messageText(next)).toMatch(new RegExp(`^${haystack.needles[1]!.values.join(' ')}\\b`));
});

test("the app's bundled engine process starts and opens a model", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'strata-engine-bundle-'));
  try {
    const child = fork(join(repoRoot, 'out/main/engineMain.js'), [], {
      serialization: 'advanced',
      execArgv: [],
      env: { ...process.env, STRATA_ENGINE_OPTIONS: JSON.stringify({ dataDir, host: 'electron', version: 'e2e', restoreModel: false }) },
    });
    const messages: Array<{ kind: string; id?: number; envelope?: { ok: boolean; value?: { path?: string }; error?: unknown } }> = [];
    child.on('message', (message) => messages.push(message as never));
    await expect.poll(() => messages.some((m) => m.kind === 'ready'), { timeout: 30_000 }).toBe(true);
    const modelPath = await ensureTestModel('needle');
    child.send({ kind: 'call', id: 1, channel: 'models.open', arg: { path: modelPath } });
    await expect.poll(() => messages.find((m) => m.kind === 'result' && m.id === 1)?.envelope, { timeout: 60_000 }).toMatchObject({ ok: true, value: { path: modelPath } });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ kind: 'shutdown' });
    expect(await exited).toBe(0);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
