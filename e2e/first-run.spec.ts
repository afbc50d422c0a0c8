// A first run: the empty window lists the GGUF files already on this machine and opens one in a click.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { expect, test } from './fixtures/strataApp.ts';

test('the empty window lists the models already on disk and opens one with a click', async ({ strata, strataApp }, testInfo) => {
  await strata.waitUntilLoaded();
  const models = join(strataApp.dataDir, 'models');
  await mkdir(models, { recursive: true });
  await copyFile(await ensureTestModel('needle'), join(models, 'needle-copy.gguf'));
  await strataApp.reload();
  await strata.waitUntilLoaded();
  const list = strata.page.getByRole('list', { name: 'Models on this machine' });
  await expect(list).toContainText('needle-copy.gguf');
  await expect(list).toContainText('Strata models folder');
  await strata.screenshot(testInfo, 'first-run-local-models');
  await list.getByRole('listitem').filter({ hasText: 'needle-copy.gguf' }).getByRole('button', { name: 'Open' }).click();
  await expect(strata.currentModel).toContainText('raw completion');
});

test('an empty library offers a sample document, which imports like a dropped file', async ({ strata }) => {
  await strata.waitUntilLoaded();
  await strata.page.getByRole('button', { name: 'Try a sample document' }).click();
  await expect(strata.document('welcome-to-strata.md')).toBeVisible();
  await expect(strata.page.getByRole('button', { name: 'Try a sample document' })).toHaveCount(0);
});
