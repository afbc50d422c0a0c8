import type { ErrorPayload, ImportPhase, StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export interface ImportRow {
  requestId: string;
  fileName: string;
  phase: ImportPhase;
  /** 0..1 within the whole import. */
  fraction: number;
  error: ErrorPayload | null;
  /** Started by this window (so the call's own result ends the row, not just an event). */
  local: boolean;
  /** The user asked to stop it: its failure is expected and shows no error. */
  cancelled: boolean;
  /** Waiting for the files before it in the same batch. */
  queued: boolean;
}

export interface ImportsSlice {
  /** In start order; finished rows leave, failed rows stay until dismissed. */
  imports: ImportRow[];

  /** Adds a row waiting its turn; beginImport marks it running. */
  queueImport(requestId: string, fileName: string): void;
  /** False when the row was cancelled (or dismissed) while it waited. */
  beginImport(requestId: string): boolean;
  finishImport(requestId: string): void;
  failImport(requestId: string, error: ErrorPayload): void;
  applyImportProgress(event: StrataEvents['documents.onImportProgress']): void;
  dismissImport(requestId: string): void;
  cancelImport(requestId: string): Promise<void>;
}

function update(rows: ImportRow[], requestId: string, change: Partial<ImportRow>): ImportRow[] {
  return rows.map((row) => (row.requestId === requestId ? { ...row, ...change } : row));
}

export const createImportsSlice: SliceCreator<ImportsSlice> = (set, get) => ({
  imports: [],

  queueImport(requestId, fileName) {
    set((s) => ({
      imports: [
        ...s.imports,
        { requestId, fileName, phase: 'reading', fraction: 0, error: null, local: true, cancelled: false, queued: true },
      ],
    }));
  },

  beginImport(requestId) {
    const row = get().imports.find((r) => r.requestId === requestId);
    if (!row || row.cancelled) {
      set((s) => ({ imports: s.imports.filter((r) => r.requestId !== requestId) }));
      return false;
    }
    set((s) => ({ imports: update(s.imports, requestId, { queued: false }) }));
    return true;
  },

  finishImport(requestId) {
    set((s) => ({ imports: s.imports.filter((row) => row.requestId !== requestId) }));
  },

  failImport(requestId, error) {
    set((s) => {
      const row = s.imports.find((r) => r.requestId === requestId);
      if (row?.cancelled) return { imports: s.imports.filter((r) => r.requestId !== requestId) };
      return { imports: update(s.imports, requestId, { phase: 'failed', error }) };
    });
  },

  applyImportProgress(event) {
    set((s) => {
      const row = s.imports.find((r) => r.requestId === event.requestId);
      if (!row) {
        // Someone else's import (another window on the same engine): show it while it runs.
        if (event.phase === 'done') return s;
        const error = event.phase === 'failed' ? (event.error ?? { code: 'IMPORT_FAILED', message: 'Import failed.' }) : null;
        return {
          imports: [...s.imports, { requestId: event.requestId, fileName: event.fileName, phase: event.phase, fraction: event.fraction, error, local: false, cancelled: false, queued: false }],
        };
      }
      if (row.phase === 'failed') return s;
      if (row.cancelled && event.phase === 'failed') return { imports: s.imports.filter((r) => r.requestId !== event.requestId) };
      if (event.phase === 'done' && !row.local) {
        return { imports: s.imports.filter((r) => r.requestId !== event.requestId) };
      }
      const change: Partial<ImportRow> = { phase: event.phase, fraction: event.fraction };
      if (event.phase === 'failed') change.error = event.error ?? { code: 'IMPORT_FAILED', message: 'Import failed.' };
      return { imports: update(s.imports, event.requestId, change) };
    });
  },

  dismissImport(requestId) {
    set((s) => ({ imports: s.imports.filter((row) => row.requestId !== requestId) }));
  },

  async cancelImport(requestId) {
    const row = get().imports.find((r) => r.requestId === requestId);
    set((s) => ({ imports: update(s.imports, requestId, { cancelled: true }) }));
    if (row?.queued) return;
    try {
      await getStrataClient().api.documents.cancelImport({ requestId });
    } catch (err) {
      set((s) => ({ imports: update(s.imports, requestId, { cancelled: false }) }));
      get().notify(`Could not cancel the import: ${toErrorPayload(err).message}`);
    }
  },
});
