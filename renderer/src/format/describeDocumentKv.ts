import type { DocumentKvInfo, TierName } from '../../../preload/api.ts';
import { formatBytes } from './formatBytes.ts';

const tierWords: Record<TierName, string> = { gpu: 'on GPU', cpu: 'in RAM', disk: 'on disk' };

export type DocumentKvTone = 'unread' | 'reading' | 'partial' | 'read';

export interface DocumentKvView {
  /** What the Documents tab says: "not read", "reading 42%", "read · 12.3 MB · on disk", "stopped at 40% (resumes)". */
  text: string;
  tone: DocumentKvTone;
  /** 0..1 while reading and known; null otherwise. */
  fraction: number | null;
  /** The longer explanation (a tooltip). */
  hint: string;
  /** A Prepare reads it now: Prepare is disabled and Stop shown. */
  preparing: boolean;
  /** Prepare would read something (not read, or stopped part-way). */
  canPrepare: boolean;
}

export interface DocumentKvInput {
  /** The engine's stored state (undefined: never read for the open model). */
  stored: DocumentKvInfo | undefined;
  /** The latest documents.onKvProgress of a Prepare of it. */
  live: { tokensDone: number; tokenCount: number } | undefined;
  /** This window's own Prepare of it, waiting for its reply. */
  local: 'running' | 'stopping' | undefined;
  /** A question reading it now (the conversation's documents being read before an answer). */
  ask: { tokensDone: number; tokenCount: number } | null;
}

function percent(done: number, total: number): number | null {
  return total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : null;
}

/** One document's KV for the open model, in words and flags for its row. */
export function describeDocumentKv({ stored, live, local, ask }: DocumentKvInput): DocumentKvView {
  const preparing = local !== undefined || stored?.preparing === true || live !== undefined;
  if (preparing) {
    const done = Math.max(live?.tokensDone ?? 0, stored?.tokensDone ?? 0);
    const total = live?.tokenCount || stored?.tokenCount || 0;
    const pct = percent(done, total);
    const text = local === 'stopping' ? 'stopping…' : pct === null ? 'waiting to read…' : `reading ${pct}%`;
    const hint = 'Prepare is reading this document into the KV cache; Stop keeps what was read.';
    return { text, hint, tone: 'reading', fraction: pct === null ? null : pct / 100, preparing: true, canPrepare: false };
  }
  if (stored?.state === 'complete') {
    const hint = `Read for this model: ${formatBytes(stored.bytes)} of KV on disk; the fastest copy of any part of it is ${tierWords[stored.tier]}. Questions about it start at once.`;
    return { text: `read · ${formatBytes(stored.bytes)} · ${tierWords[stored.tier]}`, hint, tone: 'read', fraction: null, preparing: false, canPrepare: false };
  }
  if (ask) {
    const pct = percent(ask.tokensDone, ask.tokenCount) ?? 0;
    const hint = 'A question is reading this conversation’s documents into the KV cache (the percentage is of all of them).';
    return { text: `reading for a question ${pct}%`, hint, tone: 'reading', fraction: pct / 100, preparing: false, canPrepare: false };
  }
  if (stored) {
    const hint = 'Reading stopped part-way; what was read is kept, and Prepare or the next question continues from there.';
    return { text: `stopped at ${percent(stored.tokensDone, stored.tokenCount) ?? 0}% (resumes)`, hint, tone: 'partial', fraction: null, preparing: false, canPrepare: true };
  }
  const hint = 'Not read for this model yet: Prepare reads it now, or its first question will.';
  return { text: 'not read', hint, tone: 'unread', fraction: null, preparing: false, canPrepare: true };
}
