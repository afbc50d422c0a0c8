// Fails fast with the fix when the build is missing, and builds the generated needle model once
// (seconds) so that no spec spends its own timeout on it.
import { existsSync } from 'node:fs';
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { repoRoot } from './fixtures/paths.ts';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  for (const built of ['out/renderer/index.html', 'out/main/index.js']) {
    if (!existsSync(join(repoRoot, built))) {
      throw new Error(`${built} is missing: run \`npm run build\` before the e2e suite.`);
    }
  }
  await ensureTestModel('needle');
}
