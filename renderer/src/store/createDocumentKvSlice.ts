import type { DocumentKvReport, StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export interface KvProgress {
  tokensDone: number;
  tokenCount: number;
}

/** Each document's KV for the open model (the engine keeps it; documents.onChanged 'kv' says when it changed). */
export interface DocumentKvSlice {
  /** documents.kvState's last answer; null until it came. */
  documentKv: DocumentKvReport | null;
  /** Prepares' live progress (documents.onKvProgress) by document id, from this window or another; gone once a Prepare ends. */
  kvProgress: Record<string, KvProgress>;
  /** Prepares this window asked for and still waits on, by document id ('stopping' after Stop). */
  preparing: Record<string, 'running' | 'stopping'>;

  refreshDocumentKv(): Promise<void>;
  applyKvProgress(event: StrataEvents['documents.onKvProgress']): void;
  prepareDocument(id: string): Promise<void>;
  stopPreparing(id: string): Promise<void>;
}

/** Replies to an older refresh that arrive after a newer one's are dropped. */
let refreshes = 0;

function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  if (!(key in record)) return record;
  const next = { ...record };
  delete next[key];
  return next;
}

export const createDocumentKvSlice: SliceCreator<DocumentKvSlice> = (set, get) => ({
  documentKv: null,
  kvProgress: {},
  preparing: {},

  async refreshDocumentKv() {
    const mine = ++refreshes;
    try {
      const report = await getStrataClient().api.documents.kvState();
      if (mine !== refreshes) return;
      set((s) => {
        // Live progress stays only for the reads still running somewhere.
        const running = new Set(report.documents.filter((d) => d.preparing).map((d) => d.documentId));
        const kvProgress = Object.fromEntries(Object.entries(s.kvProgress).filter(([id]) => running.has(id) || id in s.preparing));
        return { documentKv: report, kvProgress };
      });
    } catch (err) {
      // The Documents tab still lists the documents; their KV state is left as it was.
      if (mine === refreshes) console.warn(`Could not read the documents' KV state: ${toErrorPayload(err).message}`);
    }
  },

  applyKvProgress(event) {
    set((s) => ({ kvProgress: { ...s.kvProgress, [event.documentId]: { tokensDone: event.tokensDone, tokenCount: event.tokenCount } } }));
  },

  async prepareDocument(id) {
    if (get().preparing[id]) return;
    set((s) => ({ preparing: { ...s.preparing, [id]: 'running' } }));
    try {
      await getStrataClient().api.documents.prepare({ id });
    } catch (err) {
      const error = toErrorPayload(err);
      // Stopped by the user (here or in another window), or removed: nothing to report.
      if (error.code !== 'CANCELLED') {
        const name = get().documents.find((d) => d.id === id)?.fileName ?? 'the document';
        get().notify(`Could not prepare ${name}: ${error.message}`);
      }
    } finally {
      set((s) => ({ preparing: without(s.preparing, id), kvProgress: without(s.kvProgress, id) }));
      await get().refreshDocumentKv();
    }
  },

  async stopPreparing(id) {
    set((s) => (s.preparing[id] ? { preparing: { ...s.preparing, [id]: 'stopping' } } : s));
    try {
      await getStrataClient().api.documents.cancelPrepare({ id });
    } catch (err) {
      get().notify(`Could not stop preparing the document: ${toErrorPayload(err).message}`);
    }
  },
});
