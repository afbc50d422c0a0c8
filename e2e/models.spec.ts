// Getting a model from inside Strata: the first window recommends one for this machine and downloads
// and opens it in one click (from the loopback Hub that globalSetup starts); the Models tab lists the
// catalog with "fits this machine", searches the Hub, and deletes a downloaded model.
import { expect, test } from './fixtures/strataApp.ts';

test('the empty window recommends a model for this machine, and one click downloads (with progress) and opens it', async ({ strata }, testInfo) => {
  await strata.waitUntilLoaded();
  const card = strata.page.getByRole('group', { name: 'Recommended model' });
  await expect(card).toContainText('Needle (test)');
  await expect(card).toContainText(/runs on the CPU|Fits the GPU/);
  await strata.screenshot(testInfo, 'first-run-recommended');
  await card.getByRole('button', { name: /Download and open/ }).click();
  const row = strata.page.getByRole('group', { name: 'Download of needle-F32.gguf' });
  await expect(row).toContainText(/MB of 7\.5 MB/);
  await strata.screenshot(testInfo, 'first-run-downloading');
  await expect(strata.currentModel).toContainText('raw completion', { timeout: 60_000 });
});

test('Models tab: the catalog says what fits, the Hub search finds a repository, a downloaded model can be paused, resumed, opened and deleted', async ({ strata }, testInfo) => {
  const { page } = strata;
  await strata.waitUntilLoaded();
  await page.getByRole('tab', { name: 'Models' }).click();
  const catalog = page.getByRole('list', { name: 'Model catalog' });
  const entry = catalog.getByRole('listitem', { name: 'Needle (test)' });
  await expect(entry).toContainText('F32');
  await expect(entry).toContainText('65,536 tokens trained');
  await expect(entry.locator('.fit-badge')).toHaveAttribute('data-verdict', /cpu|fits|partial/);

  await page.getByRole('textbox', { name: 'Hugging Face repository or search' }).fill('needle');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: 'strata-test/needle-GGUF' }).click();
  await expect(page.getByRole('list', { name: 'GGUF files of strata-test/needle-GGUF' })).toContainText('needle-F32.gguf');

  await entry.getByRole('button', { name: 'Download Needle (test)' }).click();
  const row = page.getByRole('region', { name: 'Downloads' }).getByRole('group', { name: 'Download of needle-F32.gguf' });
  await expect(row).toContainText(/ left/);
  await row.getByRole('button', { name: 'Pause' }).click();
  await expect(row).toContainText('Paused at');
  await strata.screenshot(testInfo, 'models-tab-paused');
  await row.getByRole('button', { name: 'Resume' }).click();
  await expect(entry.getByRole('button', { name: 'Open' })).toBeVisible({ timeout: 60_000 });
  await expect(row).toHaveCount(0);
  await entry.getByRole('button', { name: 'Open' }).click();
  await expect(strata.currentModel).toContainText('raw completion');
  await strata.screenshot(testInfo, 'models-tab');

  page.once('dialog', (dialog) => void dialog.accept());
  await entry.getByRole('button', { name: 'Delete Needle (test)' }).click();
  await expect(entry.getByRole('button', { name: 'Download Needle (test)' })).toBeVisible();
  await expect(strata.currentModel).not.toContainText('raw completion');
});
