// PDF and Word parsing on a thread of its own, one thread per document. pdf.js and mammoth parse
// synchronously for long stretches (mammoth reads a whole document.xml in one go: seconds for a
// long report), which on the main thread would stall every API call and IPC message meanwhile.
// Cancelling terminates the thread; that is safe here because both libraries are plain JavaScript.
import { Worker } from 'node:worker_threads';
import { workerEntryUrl } from '../workerEntryUrl.ts';
import { cancelledError, DocumentError, type DocumentErrorCode } from './DocumentError.ts';
import type { ParseReply, ParseWorkerData } from './parseProtocol.ts';

export interface ParseInWorkerInput {
  kind: 'pdf' | 'docx';
  /** The file's base name, for messages. */
  displayName: string;
  /** Not detached: the thread gets a copy. */
  bytes: Uint8Array;
  signal?: AbortSignal;
  /** PDFs: 0 before the first page, then after every page. */
  onProgress?: (fraction: number) => void;
}

const CODES: ReadonlySet<string> = new Set<DocumentErrorCode>(['UNSUPPORTED_TYPE', 'BINARY_FILE', 'EMPTY_DOCUMENT', 'PARSE_FAILED', 'TOO_LARGE', 'CANCELLED']);

/** The document's text, as extractPdfText or extractDocxText returns it. Throws DocumentError. */
export async function parseInWorker(input: ParseInWorkerInput): Promise<string> {
  const { kind, displayName, signal, onProgress } = input;
  if (signal?.aborted) throw cancelledError(displayName, signal.reason);
  const entry = await workerEntryUrl(import.meta.url, './parseWorkerMain.ts', () => import('./parseWorkerMain.ts?modulePath'));
  if (signal?.aborted) throw cancelledError(displayName, signal.reason);

  const copy = new Uint8Array(input.bytes); // the caller's bytes must survive the transfer
  const workerData: ParseWorkerData = { kind, displayName, bytes: copy };
  const worker = new Worker(entry, { workerData, transferList: [copy.buffer] });

  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate(); // a no-op once the thread has ended by itself
      outcome();
    };
    const onAbort = () => settle(() => reject(cancelledError(displayName, signal?.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (reply: ParseReply) => {
      if (settled) return; // e.g. progress already in flight when the caller cancelled
      if (reply.type === 'progress') onProgress?.(reply.fraction);
      else if (reply.type === 'done') settle(() => resolve(reply.text));
      else settle(() => reject(rebuild(reply)));
    });
    worker.on('error', (error: Error & { code?: unknown }) => settle(() => reject(crashed(kind, displayName, error))));
    worker.on('exit', (code) => {
      settle(() => reject(crashed(kind, displayName, new Error(`the reading thread exited with code ${code}`))));
    });
  });
}

function rebuild(reply: Extract<ParseReply, { type: 'failed' }>): DocumentError {
  const code = reply.code !== undefined && CODES.has(reply.code) ? (reply.code as DocumentErrorCode) : 'PARSE_FAILED';
  const cause = reply.cause && Object.assign(new Error(reply.cause.message), { name: reply.cause.name });
  return new DocumentError(code, reply.message, cause ? { cause } : undefined);
}

function crashed(kind: 'pdf' | 'docx', displayName: string, error: Error & { code?: unknown }): DocumentError {
  if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new DocumentError('TOO_LARGE', `${displayName} needs more memory to read than Strata can give it. Split it into smaller files and add those.`, { cause: error });
  }
  const what = kind === 'pdf' ? 'a PDF' : 'a Word document';
  return new DocumentError('PARSE_FAILED', `${displayName} could not be read as ${what}: the reader stopped (${error.message}). Try saving or exporting it again.`, { cause: error });
}
