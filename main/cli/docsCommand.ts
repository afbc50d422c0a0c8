// strata docs add FILE…|list|text ID|rm ID|prepare ID: the document library the app shows, from a terminal.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { DocumentInfo, DocumentKvInfo, DocumentKvReport, EngineSettings, ModelInfo, StrataEvents } from '../../preload/api.ts';
import { RequestError } from '../engine/errors.ts';
import type { EventSink, StrataService } from '../services/StrataService.ts';
import { parseOptions } from './parseOptions.ts';
import { createProgressReporter } from './progressReporter.ts';
import { UsageError } from './UsageError.ts';
import { withService, type ServiceRun } from './withService.ts';

export const DOCS_USAGE = `Usage:
  strata docs add FILE [FILE…]   import documents (the same bytes again are not added twice)
  strata docs list [--model F]   the library: id, kind, size, tokens, name; with --model (it is
                                 opened: seconds), each document's KV for that model too
  strata docs text ID            the text Strata read from a document
  strata docs rm ID              remove a document and the KV cache read from it
  strata docs prepare ID [--model F] [--kv-reuse library|exact] [--quiet]
                                 read a document's KV ahead of any question (the tiered engine),
                                 so its first question starts at once; a document read before is
                                 not read again; Ctrl-C stops, and the next prepare resumes
Options: --data-dir D, --json (one object on stdout, failures too)
  --model F      the model to read with (default: the model opened last, as the app reopens it)
  --kv-reuse M   for this run: library (the default: each document read alone, reused in any
                 set) or exact (each set of documents read whole); strata settings set kvReuse M
                 keeps it`;

export async function runDocs(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, {
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    model: { type: 'string' },
    'kv-reuse': { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  const [action, ...args] = positionals;
  if (values.help) {
    console.log(DOCS_USAGE);
    return 0;
  }
  const kvReuse = values['kv-reuse'];
  if (kvReuse !== undefined && kvReuse !== 'library' && kvReuse !== 'exact') throw new UsageError(`--kv-reuse must be library or exact, got "${kvReuse}"`);
  if ((values.model !== undefined || kvReuse !== undefined) && action !== 'prepare' && action !== 'list') {
    throw new UsageError(`--model and --kv-reuse apply to strata docs prepare and list only`);
  }
  // Prepare needs the tiered engine (strata ask's default too), whatever the stored setting says.
  const settingsOverride: Partial<EngineSettings> = { engine: 'tiered', ...(kvReuse ? { kvReuse } : {}) };
  const run: ServiceRun = { dataDir: values['data-dir'], json: values.json === true, command: `strata docs ${action ?? ''}`.trim() };
  switch (action) {
    case 'add':
      if (args.length === 0) throw new UsageError('strata docs add needs at least one FILE');
      return withService(run, async (service) => {
        const added: DocumentInfo[] = [];
        for (const file of args) {
          const doc = await service.documents.importPath({ requestId: randomUUID(), path: resolve(file) });
          added.push(doc);
          if (!run.json) console.log(`${doc.id}  ${doc.fileName} (${doc.kind}, ${doc.charCount.toLocaleString('en-US')} characters)`);
        }
        return { documents: added };
      });
    case 'list':
      if (args.length > 0) throw new UsageError('strata docs list takes no arguments');
      // The KV state needs the model open (its layout decides which stored KV counts): only when asked.
      return withService(values.model === undefined ? run : { ...run, settingsOverride }, async (service) => {
        let kv: DocumentKvReport | null = null;
        if (values.model !== undefined) {
          await openModel(service, values.model);
          kv = await service.documents.kvState();
          if (kv.unavailableReason && !run.json) console.error(`strata: ${kv.unavailableReason}`);
        }
        const documents = await service.documents.list();
        if (!run.json) {
          if (documents.length === 0) console.log('No documents yet: strata docs add FILE');
          for (const d of documents) {
            const state = kv && kv.unavailableReason === null ? `  ${describeKv(kv.documents.find((k) => k.documentId === d.id)).padEnd(26)}` : '';
            console.log(`${d.id}  ${d.kind.padEnd(4)}  ${String(d.tokenCount ?? '?').padStart(9)} tokens${state}  ${d.fileName}`);
          }
        }
        return kv ? { documents, kv } : { documents };
      });
    case 'prepare': {
      const [id] = args;
      if (!id || args.length > 1) throw new UsageError('strata docs prepare needs one document ID (strata docs list shows them)');
      const reading = createProgressReporter('Reading the document', { quiet: values.quiet === true || run.json });
      let service: StrataService | null = null;
      let stopped = false;
      // Ctrl-C stops the read cleanly (what was read is kept; the next prepare resumes there); a second one ends the process.
      const stop = () => {
        stopped = true;
        void service?.documents.cancelPrepare({ id });
      };
      const onEvent: EventSink = (event, payload) => {
        if (event !== 'documents.onKvProgress') return;
        const { tokensDone, tokenCount } = payload as StrataEvents['documents.onKvProgress'];
        reading.update(tokensDone, tokenCount);
      };
      process.once('SIGINT', stop);
      try {
        return await withService({ ...run, settingsOverride, onEvent }, async (started) => {
          service = started;
          // A wrong ID is said before the model loads.
          const doc = await requireDocument(started, id);
          const model = await openModel(started, values.model);
          if (stopped) throw new RequestError('CANCELLED', 'Stopped before the document was read; nothing changed.');
          // The bar ends before any line that follows it, the error's too.
          const { tokensEvaluated } = await started.documents.prepare({ id }).finally(() => reading.stop());
          const kv = (await started.documents.kvState()).documents.find((k) => k.documentId === id) ?? null;
          if (!run.json) {
            console.log(
              tokensEvaluated > 0
                ? `${id}  ${doc.fileName}: read ${tokensEvaluated.toLocaleString('en-US')} tokens with ${model.name} (${describeKv(kv ?? undefined)})`
                : `${id}  ${doc.fileName}: read before with ${model.name}, nothing to do (${describeKv(kv ?? undefined)})`,
            );
          }
          return { id, fileName: doc.fileName, model: model.path, tokensEvaluated, kv };
        });
      } finally {
        reading.stop();
        process.off('SIGINT', stop);
      }
    }
    case 'text':
    case 'rm': {
      const [id] = args;
      if (!id || args.length > 1) throw new UsageError(`strata docs ${action} needs one document ID (strata docs list shows them)`);
      return withService(run, async (service) => {
        await requireDocument(service, id);
        if (action === 'text') {
          const { text } = await service.documents.getText({ id });
          if (!run.json) process.stdout.write(`${text}\n`);
          return { id, text };
        }
        await service.documents.remove({ id });
        if (!run.json) console.log(`removed ${id}`);
        return { removed: id };
      });
    }
    default:
      throw new UsageError(action === undefined ? 'strata docs needs an action: add, list, text, rm or prepare' : `Unknown docs action: ${action}`);
  }
}

async function requireDocument(service: StrataService, id: string): Promise<DocumentInfo> {
  const doc = (await service.documents.list()).find((d) => d.id === id);
  if (!doc) throw new RequestError('NOT_FOUND', `No document with id ${id} (strata docs list shows them).`);
  return doc;
}

/** Opens --model, or the model opened last (what the app reopens on start). */
async function openModel(service: StrataService, path: string | undefined): Promise<ModelInfo> {
  const [last] = await service.models.listRecent();
  const chosen = path !== undefined ? resolve(path) : last?.path;
  if (!chosen) throw new RequestError('NO_MODEL', 'No model was opened before: give one with --model F.');
  const model = await service.models.open({ path: chosen });
  if (model.engineNotice) console.error(`strata: ${model.engineNotice}`);
  return model;
}

const TIER_WORDS = { gpu: 'on GPU', cpu: 'in RAM', disk: 'on disk' } as const;

/** One document's KV in words: "read · 6.2 MiB on disk", "stopped at 40% (resumes)", "not read". */
function describeKv(kv: DocumentKvInfo | undefined): string {
  if (!kv) return 'not read';
  if (kv.state === 'complete') return `read · ${(kv.bytes / 2 ** 20).toFixed(1)} MiB ${TIER_WORDS[kv.tier]}`;
  const percent = kv.tokenCount > 0 ? Math.floor((100 * kv.tokensDone) / kv.tokenCount) : 0;
  return kv.preparing ? `reading ${percent}%` : `stopped at ${percent}% (resumes)`;
}
