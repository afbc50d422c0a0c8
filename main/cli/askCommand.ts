// strata ask: open the model, import the documents (deduplicated in the catalog), ask one question.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appVersion } from '../host/appVersion.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import { StrataService } from '../services/StrataService.ts';
import type { EngineSettings } from '../../preload/api.ts';
import { errorPayload } from '../engine/errors.ts';
import { DEFAULT_SETTINGS, mergeSettings } from '../engine/settings/engineSettings.ts';
import { nonNegativeInteger, parseOptions, positiveInteger } from './parseOptions.ts';
import { createProgressReporter } from './progressReporter.ts';
import { UsageError } from './UsageError.ts';

export async function runAsk(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    doc: { type: 'string', multiple: true },
    question: { type: 'string' },
    engine: { type: 'string', default: 'tiered' },
    'gpu-budget': { type: 'string' },
    'chunk-min-tokens': { type: 'string' },
    'chunk-max-tokens': { type: 'string' },
    'cpu-tier-bytes': { type: 'string' },
    'disk-budget-bytes': { type: 'string' },
    'scoring-layers': { type: 'string' },
    'reselect-every': { type: 'string' },
    'kv-cache-type': { type: 'string' },
    'kv-reuse': { type: 'string' },
    'recompute-percent': { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'system-prompt': { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', short: 'q', default: false },
  });
  if (!values.model) throw new UsageError('--model is required');
  if (!values.question) throw new UsageError('--question is required');
  if (values.engine !== 'standard' && values.engine !== 'tiered') throw new UsageError(`--engine must be standard or tiered, got "${values.engine}"`);
  const gpuBudget = positiveInteger(values['gpu-budget'], '--gpu-budget');
  const maxTokens = positiveInteger(values['max-tokens'], '--max-tokens');
  // Every setting of the Settings tab, for this run only (validated by the service like the UI's).
  const override: Partial<EngineSettings> = { engine: values.engine };
  if (gpuBudget !== undefined) override.gpuBudgetTokens = gpuBudget;
  const chunkMin = positiveInteger(values['chunk-min-tokens'], '--chunk-min-tokens');
  if (chunkMin !== undefined) override.chunkMinTokens = chunkMin;
  const chunkMax = positiveInteger(values['chunk-max-tokens'], '--chunk-max-tokens');
  if (chunkMax !== undefined) override.chunkMaxTokens = chunkMax;
  const cpuTier = nonNegativeInteger(values['cpu-tier-bytes'], '--cpu-tier-bytes');
  if (cpuTier !== undefined) override.cpuTierBytes = cpuTier;
  const diskBudget = positiveInteger(values['disk-budget-bytes'], '--disk-budget-bytes');
  if (diskBudget !== undefined) override.diskBudgetBytes = diskBudget;
  if (values['scoring-layers'] !== undefined) {
    override.scoringLayers = values['scoring-layers'].split(',').map((part) => nonNegativeInteger(part.trim(), '--scoring-layers')!);
  }
  if (values['kv-cache-type'] !== undefined) override.kvCacheType = values['kv-cache-type'] as EngineSettings['kvCacheType'];
  if (values['kv-reuse'] !== undefined) override.kvReuse = values['kv-reuse'] as EngineSettings['kvReuse'];
  if (values['recompute-percent'] !== undefined) {
    const share = Number(values['recompute-percent']);
    if (values['recompute-percent'].trim() === '' || !Number.isFinite(share)) throw new UsageError(`--recompute-percent must be a number, got "${values['recompute-percent']}"`);
    override.recomputePercent = share;
  }
  if (values['system-prompt'] !== undefined) override.systemPrompt = values['system-prompt'];
  if (values.temperature !== undefined) {
    const temperature = Number(values.temperature);
    if (values.temperature.trim() === '' || !Number.isFinite(temperature)) throw new UsageError(`--temperature must be a number, got "${values.temperature}"`);
    override.temperature = temperature;
  }
  const reselect = nonNegativeInteger(values['reselect-every'], '--reselect-every');
  if (reselect !== undefined) override.reselectEveryTokens = reselect;
  try {
    mergeSettings(DEFAULT_SETTINGS, override);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const tieredOnly = ['gpu-budget', 'chunk-min-tokens', 'chunk-max-tokens', 'cpu-tier-bytes', 'disk-budget-bytes', 'scoring-layers', 'reselect-every', 'kv-reuse', 'recompute-percent'].filter((name) => values[name as keyof typeof values] !== undefined);
  if (tieredOnly.length > 0 && values.engine === 'standard') console.error(`${tieredOnly.map((n) => `--${n}`).join(', ')} apply to the tiered engine only; the standard engine keeps the full KV cache.`);

  // A wrong --doc is said at once, not after the model has loaded.
  for (const doc of values.doc ?? []) {
    const info = statSync(resolve(doc), { throwIfNoEntry: false });
    if (!info) throw new UsageError(`--doc ${doc}: no such file`);
    if (info.isDirectory()) throw new UsageError(`--doc ${doc} is a folder; give the documents inside it (--doc ${join(doc, 'FILE')} …)`);
  }

  // Before the service opens the catalog: a second Strata on this folder stops here (exit 2).
  const dataDir = resolveDataDir(values['data-dir']);
  const lock = claimDataDir(dataDir, 'strata ask');
  // Plain output streams the answer as it is generated; --json prints one object at the end.
  // Reading the documents can take minutes: progress on stderr (not with --json or --quiet).
  const reading = createProgressReporter('Reading documents', { quiet: values.quiet === true || values.json === true });
  let service: StrataService;
  try {
    service = new StrataService({
      dataDir,
      host: 'browser',
      version: appVersion(),
      settingsOverride: override,
      emit: (event, payload) => {
        if (event === 'chat.onIngestProgress') reading.update((payload as { tokensDone: number }).tokensDone, (payload as { tokenCount: number }).tokenCount);
        if (event === 'chat.onToken') reading.stop();
        if (!values.json && event === 'chat.onToken') process.stdout.write((payload as { text: string }).text);
        // Notices (a read longer than the model's trained context, a dropped cache) go to stderr.
        if (event === 'app.onNotice') console.error(`strata: ${(payload as { message: string }).message}`);
      },
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  // With --json every outcome is one object on stdout, failures included: {engine, error: {code, message}}.
  let engine: string | null = null;
  try {
    const model = await service.models.open({ path: resolve(values.model) });
    engine = model.engine ?? null;
    if (model.engineNotice) console.error(`strata: ${model.engineNotice}`);
    const documentIds: string[] = [];
    for (const doc of values.doc ?? []) {
      const info = await service.documents.importPath({ requestId: randomUUID(), path: resolve(doc) });
      documentIds.push(info.id);
    }
    const conversation = await service.chat.createConversation({ documentIds });
    const message = await service.chat.ask({
      requestId: randomUUID(),
      conversationId: conversation.id,
      question: values.question,
      maxTokens,
    });
    if (message.status === 'error') {
      if (values.json) console.log(JSON.stringify({ answer: message.text, engine, engineNotice: model.engineNotice, error: message.error, metrics: {} }));
      else console.error(`strata: ${message.error?.message ?? 'the question failed'}`);
      return 1;
    }
    if (values.json) {
      console.log(JSON.stringify({ answer: message.text, engine: model.engine, engineNotice: model.engineNotice, stopped: message.status === 'stopped', conversationId: conversation.id, metrics: message.metrics ?? {} }));
    } else {
      process.stdout.write('\n');
    }
    return 0;
  } catch (error) {
    if (!values.json) throw error;
    console.log(JSON.stringify({ engine, error: errorPayload(error) }));
    return 1;
  } finally {
    await service.dispose();
    lock.release();
  }
}
