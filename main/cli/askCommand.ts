// strata ask: open the model, import the documents (deduplicated in the catalog), ask one question.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { appVersion } from '../host/appVersion.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import { StrataService } from '../services/StrataService.ts';
import { parseOptions, positiveInteger } from './parseOptions.ts';
import { UsageError } from './UsageError.ts';

export async function runAsk(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    doc: { type: 'string', multiple: true },
    question: { type: 'string' },
    engine: { type: 'string', default: 'tiered' },
    'gpu-budget': { type: 'string' },
    'max-tokens': { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.model) throw new UsageError('--model is required');
  if (!values.question) throw new UsageError('--question is required');
  if (values.engine !== 'standard' && values.engine !== 'tiered') throw new UsageError(`--engine must be standard or tiered, got "${values.engine}"`);
  const gpuBudget = positiveInteger(values['gpu-budget'], '--gpu-budget');
  const maxTokens = positiveInteger(values['max-tokens'], '--max-tokens');
  if (gpuBudget !== undefined && values.engine === 'standard') console.error('--gpu-budget applies to the tiered engine only; the standard engine keeps the full KV cache.');

  // Before the service opens the catalog: a second Strata on this folder stops here (exit 2).
  const dataDir = resolveDataDir(values['data-dir']);
  const lock = claimDataDir(dataDir, 'strata ask');
  // Plain output streams the answer as it is generated; --json prints one object at the end.
  let service: StrataService;
  try {
    service = new StrataService({
      dataDir,
      host: 'browser',
      version: appVersion(),
      settingsOverride: { engine: values.engine, ...(gpuBudget !== undefined ? { gpuBudgetTokens: gpuBudget } : {}) },
      emit: (event, payload) => {
        if (!values.json && event === 'chat.onToken') process.stdout.write((payload as { text: string }).text);
      },
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    const model = await service.models.open({ path: resolve(values.model) });
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
      if (values.json) console.log(JSON.stringify({ answer: message.text, error: message.error, metrics: {} }));
      else console.error(`strata: ${message.error?.message ?? 'the question failed'}`);
      return 1;
    }
    if (values.json) {
      console.log(JSON.stringify({ answer: message.text, engine: model.engine, stopped: message.status === 'stopped', conversationId: conversation.id, metrics: message.metrics ?? {} }));
    } else {
      process.stdout.write('\n');
    }
    return 0;
  } finally {
    await service.dispose();
    lock.release();
  }
}
