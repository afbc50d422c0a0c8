// Fails fast with the fix when the build is missing, builds the generated needle model once (seconds)
// so that no spec spends its own timeout on it, and starts a loopback Hub for the whole run: every host
// the specs start inherits STRATA_HF_ENDPOINT and a one-model STRATA_MODEL_CATALOG pointing at it, so
// no spec reaches the internet and the Models panel downloads the needle model (slowly enough to watch).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestModel } from '../main/engine/testModels/cli.ts';
import { startFakeHub } from '../main/test/fakeHub.ts';
import { repoRoot } from './fixtures/paths.ts';

export const E2E_MODEL_URI = 'hf:strata-test/needle-GGUF/needle-F32.gguf';

export default async function globalSetup(): Promise<() => Promise<void>> {
  for (const built of ['out/renderer/index.html', 'out/main/index.js']) {
    if (!existsSync(join(repoRoot, built))) {
      throw new Error(`${built} is missing: run \`npm run build\` before the e2e suite.`);
    }
  }
  const needle = await readFile(await ensureTestModel('needle'));
  const hub = await startFakeHub('strata-test', 'needle-GGUF', { 'needle-F32.gguf': { bytes: needle, pieceDelayMs: 20 } });
  const catalog = join(tmpdir(), `strata-e2e-catalog-${process.pid}.json`);
  await writeFile(
    catalog,
    JSON.stringify([{ uri: E2E_MODEL_URI, name: 'Needle (test)', sizeBytes: needle.length, quantization: 'F32', trainContextTokens: 65_536, architecture: 'llama', license: 'MIT' }]),
  );
  process.env.STRATA_HF_ENDPOINT = hub.endpoint;
  process.env.STRATA_MODEL_CATALOG = catalog;
  return () => hub.close();
}
