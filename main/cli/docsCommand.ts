// strata docs add FILE…|list|text ID|rm ID: the document library the app shows, from a terminal.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { DocumentInfo } from '../../preload/api.ts';
import { parseOptions } from './parseOptions.ts';
import { UsageError } from './UsageError.ts';
import { withService } from './withService.ts';

export const DOCS_USAGE = `Usage:
  strata docs add FILE [FILE…]   import documents (the same bytes again are not added twice)
  strata docs list               the library: id, kind, size, tokens, name
  strata docs text ID            the text Strata read from a document
  strata docs rm ID              remove a document and the KV cache read from it
Options: --data-dir D, --json (one object on stdout, failures too)`;

export async function runDocs(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } });
  const [action, ...args] = positionals;
  if (values.help) {
    console.log(DOCS_USAGE);
    return 0;
  }
  const run = { dataDir: values['data-dir'], json: values.json === true, command: `strata docs ${action ?? ''}`.trim() };
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
      return withService(run, async (service) => {
        const documents = await service.documents.list();
        if (!run.json) {
          if (documents.length === 0) console.log('No documents yet: strata docs add FILE');
          for (const d of documents) console.log(`${d.id}  ${d.kind.padEnd(4)}  ${String(d.tokenCount ?? '?').padStart(9)} tokens  ${d.fileName}`);
        }
        return { documents };
      });
    case 'text':
    case 'rm': {
      const [id] = args;
      if (!id || args.length > 1) throw new UsageError(`strata docs ${action} needs one document ID (strata docs list shows them)`);
      return withService(run, async (service) => {
        if (!(await service.documents.list()).some((d) => d.id === id)) {
          throw Object.assign(new Error(`No document with id ${id} (strata docs list shows them).`), { code: 'NOT_FOUND' });
        }
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
      throw new UsageError(action === undefined ? 'strata docs needs an action: add, list, text or rm' : `Unknown docs action: ${action}`);
  }
}
