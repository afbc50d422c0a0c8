// The thread that parses one PDF or Word document for parseInWorker.ts, then ends. pdf.js and
// mammoth are plain JavaScript, so the main side may terminate this thread at any moment (cancel).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ParseReply, ParseWorkerData } from './parseProtocol.ts';

if (parentPort === null) throw new Error('parseWorkerMain.ts runs as a worker thread; use parseInWorker()');
const port: MessagePort = parentPort;
const post = (reply: ParseReply) => port.postMessage(reply);
const { kind, displayName, bytes } = workerData as ParseWorkerData;

try {
  // Only the library this document needs: loading pdf.js is a good part of this thread's start-up.
  const text =
    kind === 'pdf'
      ? await (await import('./extractPdfText.ts')).extractPdfText(displayName, bytes, () => {}, (fraction) => post({ type: 'progress', fraction }))
      : await (await import('./extractDocxText.ts')).extractDocxText(displayName, bytes);
  post({ type: 'done', text });
} catch (error) {
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  post({
    type: 'failed',
    code: typeof code === 'string' ? code : undefined,
    message: typeof message === 'string' ? message : String(error),
    cause: cause instanceof Error ? { name: cause.name, message: cause.message } : undefined,
  });
}
