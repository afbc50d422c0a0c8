// strata models list|rm ID: the models Strata has opened and the GGUF files found on this machine.
import { join } from 'node:path';
import { resolveDataDir } from '../host/dataDir.ts';
import { hfEndpoint, pullModel } from '../services/models/pullModel.ts';
import { parseOptions } from './parseOptions.ts';
import { createProgressReporter } from './progressReporter.ts';
import { UsageError } from './UsageError.ts';
import { withService } from './withService.ts';

export const MODELS_USAGE = `Usage:
  strata models list     models opened before (with their id) and GGUF files found on this machine
  strata models rm ID    forget a model: its row and the KV cache read with it (the file stays)
  strata models pull hf:OWNER/REPO/FILE.gguf
                         download into the data folder's models/, checked against the repository's
                         SHA-256 (a mirror: STRATA_HF_ENDPOINT)
Options: --data-dir D, --json, --quiet`;

export async function runModels(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, quiet: { type: 'boolean', short: 'q', default: false }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    console.log(MODELS_USAGE);
    return 0;
  }
  const [action, ...args] = positionals;
  const run = { dataDir: values['data-dir'], json: values.json === true, command: 'strata models' };
  if (action === 'list') {
    if (args.length > 0) throw new UsageError('strata models list takes no arguments');
    return withService(run, async (service) => {
      const [recent, local] = await Promise.all([service.models.listRecent(), service.models.listLocal()]);
      if (!run.json) {
        console.log(recent.length === 0 ? 'No model opened yet.' : 'Opened before:');
        for (const m of recent) console.log(`  ${m.id}  ${m.name} (${m.architecture}, ${m.trainContextTokens.toLocaleString('en-US')} ctx)  ${m.path}`);
        if (local.length > 0) console.log('On this machine:');
        for (const m of local) console.log(`  ${(m.sizeBytes / 2 ** 30).toFixed(2).padStart(6)} GiB  ${m.source.padEnd(11)}  ${m.path}`);
      }
      return { recent, local };
    });
  }
  if (action === 'rm') {
    const [id] = args;
    if (!id || args.length > 1) throw new UsageError('strata models rm needs one model ID (strata models list shows them)');
    return withService(run, async (service) => {
      if (!(await service.models.listRecent()).some((m) => m.id === id)) {
        throw Object.assign(new Error(`No model with id ${id} (strata models list shows them).`), { code: 'NOT_FOUND' });
      }
      await service.models.forget({ id });
      if (!run.json) console.log(`forgot ${id}`);
      return { removed: id };
    });
  }
  if (action === 'pull') {
    const [uri] = args;
    if (!uri || args.length > 1) throw new UsageError('strata models pull needs one hf:OWNER/REPO/FILE.gguf');
    const modelsDir = join(resolveDataDir(values['data-dir']), 'models');
    const bar = createProgressReporter('Downloading', { quiet: values.quiet === true || run.json, unit: 'bytes' });
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    try {
      const pulled = await pullModel({ uri, modelsDir, endpoint: hfEndpoint(), signal: controller.signal, onProgress: (done, total) => bar.update(done, total) });
      bar.stop();
      if (run.json) console.log(JSON.stringify({ model: pulled }));
      else console.log(`${pulled.path} (${(pulled.sizeBytes / 2 ** 30).toFixed(2)} GiB, SHA-256 checked)`);
      return 0;
    } catch (error) {
      bar.stop();
      if (run.json) console.log(JSON.stringify({ error: { code: (error as { code?: string }).code ?? 'DOWNLOAD_FAILED', message: (error as Error).message } }));
      console.error(`strata: ${(error as Error).message}`);
      return 1;
    }
  }
  throw new UsageError(action === undefined ? 'strata models needs list, rm or pull' : `Unknown models action: ${action}`);
}
