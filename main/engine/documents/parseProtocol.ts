// The messages between parseInWorker.ts (main thread) and parseWorkerMain.ts (its thread).

export interface ParseWorkerData {
  kind: 'pdf' | 'docx';
  displayName: string;
  /** A copy of the file, transferred to the thread. */
  bytes: Uint8Array;
}

export type ParseReply =
  | { type: 'progress'; fraction: number }
  | { type: 'done'; text: string }
  | { type: 'failed'; code: string | undefined; message: string; cause: { name: string; message: string } | undefined };
