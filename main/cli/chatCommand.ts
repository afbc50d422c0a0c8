// strata chat: a conversation in the terminal. Answers stream as they are generated; the turns are
// kept in the catalog like the window's (--conversation ID continues one, after a restart too).
// Lines starting with / are commands; Ctrl-C stops an answer, and at the prompt ends the chat.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { appVersion } from '../host/appVersion.ts';
import { resolveDataDir } from '../host/dataDir.ts';
import { claimDataDir } from '../host/dataDirLock.ts';
import { StrataService } from '../services/StrataService.ts';
import { parseOptions, positiveInteger } from './parseOptions.ts';
import { createProgressReporter } from './progressReporter.ts';
import { UsageError } from './UsageError.ts';

export const CHAT_USAGE = `Usage: strata chat --model F [--doc F…] [--conversation ID] [--max-tokens N] [--data-dir D] [--quiet]
In the chat:
  /docs          the documents this conversation reads
  /add FILE      add a document to it
  /stop          (or Ctrl-C while an answer streams) stop the answer
  /quit          (or Ctrl-D) leave; the conversation stays in the library`;

export async function runChat(argv: string[]): Promise<number> {
  const { values } = parseOptions(argv, {
    model: { type: 'string' },
    doc: { type: 'string', multiple: true },
    conversation: { type: 'string' },
    'max-tokens': { type: 'string' },
    'data-dir': { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(CHAT_USAGE);
    return 0;
  }
  if (!values.model) throw new UsageError('--model is required');
  const maxTokens = positiveInteger(values['max-tokens'], '--max-tokens');
  const dataDir = resolveDataDir(values['data-dir']);
  const lock = claimDataDir(dataDir, 'strata chat');
  const reading = () => createProgressReporter('Reading documents', { quiet: values.quiet === true });
  let progress = reading();
  let current: string | null = null;
  const service = new StrataService({
    dataDir,
    host: 'browser',
    version: appVersion(),
    emit: (event, payload) => {
      if (event === 'chat.onIngestProgress') progress.update((payload as { tokensDone: number }).tokensDone, (payload as { tokenCount: number }).tokenCount);
      if (event === 'chat.onToken' && (payload as { requestId: string }).requestId === current) {
        progress.stop();
        process.stdout.write((payload as { text: string }).text);
      }
      if (event === 'app.onNotice') console.error(`strata: ${(payload as { message: string }).message}`);
    },
  });
  // Created once the model is open: stdin stays paused (and buffered) until then, so piped lines are not lost.
  let lines: ReturnType<typeof createInterface> | null = null;
  try {
    const model = await service.models.open({ path: resolve(values.model) });
    if (model.engineNotice) console.error(`strata: ${model.engineNotice}`);
    const documentIds: string[] = [];
    for (const doc of values.doc ?? []) documentIds.push((await service.documents.importPath({ requestId: randomUUID(), path: resolve(doc) })).id);
    let conversation = values.conversation
      ? (await service.chat.listConversations()).find((c) => c.id === values.conversation)
      : await service.chat.createConversation({ documentIds });
    if (!conversation) throw new UsageError(`No conversation with id ${values.conversation}`);
    if (values.conversation && documentIds.length > 0) {
      conversation = await service.chat.setDocuments({ conversationId: conversation.id, documentIds: [...new Set([...conversation.documentIds, ...documentIds])] });
    }
    console.error(`strata: ${model.name} on the ${model.engine} engine; conversation ${conversation.id}. /quit to leave.`);
    lines = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
    lines.on('SIGINT', () => {
      if (current) void service.chat.cancel({ requestId: current });
      else lines?.close();
    });
    lines.setPrompt('> ');
    lines.prompt();
    // Lines typed while an answer streams wait their turn; the loop ends with the input (Ctrl-D, a piped script's end).
    for await (const raw of lines) {
      const line = raw.trim();
      if (line === '') {
        lines.prompt();
        continue;
      }
      if (line === '/quit' || line === '/exit') break;
      if (line === '/docs') {
        const all = await service.documents.list();
        const attached = all.filter((d) => conversation!.documentIds.includes(d.id));
        console.log(attached.length === 0 ? 'No documents.' : attached.map((d) => `  ${d.fileName} (${d.tokenCount ?? '?'} tokens)`).join('\n'));
        lines.prompt();
        continue;
      }
      if (line.startsWith('/add ')) {
        const doc = await service.documents.importPath({ requestId: randomUUID(), path: resolve(line.slice(5).trim()) }).catch((error: Error) => {
          console.error(`strata: ${error.message}`);
          return null;
        });
        if (doc) {
          conversation = await service.chat.setDocuments({ conversationId: conversation.id, documentIds: [...new Set([...conversation.documentIds, doc.id])] });
          console.log(`Added ${doc.fileName}.`);
        }
        lines.prompt();
        continue;
      }
      if (line.startsWith('/') && line !== '/stop') console.error(`strata: unknown command ${line.split(' ')[0]} (/docs, /add FILE, /stop, /quit)`);
      if (line.startsWith('/')) {
        lines.prompt(); // /stop at the prompt: nothing streams
        continue;
      }
      current = randomUUID();
      progress = reading();
      const message = await service.chat.ask({ requestId: current, conversationId: conversation.id, question: line, ...(maxTokens ? { maxTokens } : {}) });
      current = null;
      process.stdout.write('\n');
      if (message.status === 'stopped') console.error('strata: stopped.');
      if (message.status === 'error') console.error(`strata: ${message.error?.message ?? 'the question failed'}`);
      lines.prompt();
    }
    return 0;
  } finally {
    lines?.close();
    await service.dispose();
    lock.release();
  }
}
