// strata models list|rm ID: the models Strata has opened and the GGUF files found on this machine.
import { join } from 'node:path';
import { resolveDataDir } from '../host/dataDir.ts';
import { hfEndpoint } from '../services/models/hubClient.ts';
import { ModelDownloads } from '../services/models/ModelDownloads.ts';
import { parseOptions } from './parseOptions.ts';
import { createProgressReporter } from './progressReporter.ts';
import { UsageError } from './UsageError.ts';
import { withService } from './withService.ts';

export const MODELS_USAGE = `Usage:
  strata models list     models opened before (with their id) and GGUF files found on this machine
  strata models catalog  the curated models, each with whether it fits this machine (reads their
                         headers from the Hub) and whether it is downloaded
  strata models rm ID    forget a model: its row and the KV cache read with it (the file stays)
  strata models pull hf:OWNER/REPO/FILE.gguf
                         download into the data folder's models/, checked against the repository's
                         SHA-256 (a mirror: STRATA_HF_ENDPOINT); Ctrl-C pauses, pull again resumes
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
  if (action === 'catalog') {
    if (args.length > 0) throw new UsageError('strata models catalog takes no arguments');
    return withService(run, async (service) => {
      const models = await service.models.catalog();
      const fits = await Promise.all(models.map((m) => service.models.fit({ uri: m.uri })));
      if (!run.json) {
        for (const [i, m] of models.entries()) {
          const state = m.localPath ? 'downloaded' : m.download ? `${m.download.state}` : '';
          console.log(`${m.name} · ${m.quantization} · ${(m.sizeBytes / 1e9).toFixed(1)} GB · ${m.trainContextTokens.toLocaleString('en-US')} ctx · ${m.architecture} · ${m.license}${state ? ` · ${state}` : ''}`);
          console.log(`  ${m.uri}`);
          console.log(`  ${fits[i].summary}`);
        }
      }
      return { models: models.map((m, i) => ({ ...m, fit: fits[i] })) };
    });
  }
  if (action === 'pull') {
    const [uri] = args;
    if (!uri || args.length > 1) throw new UsageError('strata models pull needs one hf:OWNER/REPO/FILE.gguf');
    const modelsDir = join(resolveDataDir(values['data-dir']), 'models');
    const bar = createProgressReporter('Downloading', { quiet: values.quiet === true || run.json, unit: 'bytes' });
    const downloads = new ModelDownloads({ modelsDir, endpoint: () => hfEndpoint(), onChange: (info) => info.totalBytes > 0 && info.state === 'downloading' && bar.update(info.downloadedBytes, info.totalBytes) });
    const stop = () => downloads.cancel(uri);
    process.once('SIGINT', stop);
    const result = await downloads.start(uri).finally(() => process.off('SIGINT', stop));
    bar.stop();
    if (result.state === 'done') {
      if (run.json) console.log(JSON.stringify({ model: { path: result.path, sizeBytes: result.totalBytes } }));
      else console.log(`${result.path} (${(result.totalBytes / 2 ** 30).toFixed(2)} GiB, SHA-256 checked)`);
      return 0;
    }
    const error = result.error ?? { code: 'CANCELLED', message: `Paused at ${result.downloadedBytes.toLocaleString('en-US')} bytes; run the same command to resume.` };
    if (run.json) console.log(JSON.stringify({ error, download: result }));
    console.error(`strata: ${error.message}${result.state === 'paused' && result.error ? ' The part downloaded is kept; run the same command to resume.' : ''}`);
    return 1;
  }
  throw new UsageError(action === undefined ? 'strata models needs list, catalog, rm or pull' : `Unknown models action: ${action}`);
}
