import type { StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

/** The conversation's documents being read into the KV tiers before an answer. */
export interface IngestProgress {
  requestId: string;
  conversationId: string;
  tokensDone: number;
  tokenCount: number;
  /** The first event's time and count, for the rate (a resumed ingest starts past 0). */
  firstAt: number;
  firstTokensDone: number;
  lastAt: number;
  cancelling: boolean;
}

export interface IngestSlice {
  /** By requestId; an entry leaves when its answer finishes or the ingest completes. */
  ingests: Record<string, IngestProgress>;

  applyIngestProgress(event: StrataEvents['chat.onIngestProgress'], now: number): void;
  endIngest(requestId: string): void;
  cancelIngest(requestId: string): Promise<void>;
}

export const createIngestSlice: SliceCreator<IngestSlice> = (set, get) => ({
  ingests: {},

  applyIngestProgress(event, now) {
    set((s) => {
      const current = s.ingests[event.requestId];
      if (event.tokenCount > 0 && event.tokensDone >= event.tokenCount) {
        if (!current) return s;
        const next = { ...s.ingests };
        delete next[event.requestId];
        return { ingests: next };
      }
      const entry: IngestProgress = current
        ? { ...current, tokensDone: event.tokensDone, tokenCount: event.tokenCount, lastAt: now }
        : {
            requestId: event.requestId,
            conversationId: event.conversationId,
            tokensDone: event.tokensDone,
            tokenCount: event.tokenCount,
            firstAt: now,
            firstTokensDone: event.tokensDone,
            lastAt: now,
            cancelling: false,
          };
      return { ingests: { ...s.ingests, [event.requestId]: entry } };
    });
  },

  endIngest(requestId) {
    set((s) => {
      if (!s.ingests[requestId]) return s;
      const next = { ...s.ingests };
      delete next[requestId];
      return { ingests: next };
    });
  },

  async cancelIngest(requestId) {
    set((s) => {
      const current = s.ingests[requestId];
      return current ? { ingests: { ...s.ingests, [requestId]: { ...current, cancelling: true } } } : s;
    });
    // Also marks the answer's stream as stopping, so the composer shows it.
    set((s) => {
      const stream = s.streams[requestId];
      return stream ? { streams: { ...s.streams, [requestId]: { ...stream, stopping: true } } } : s;
    });
    try {
      await getStrataClient().api.chat.cancel({ requestId });
    } catch (err) {
      get().notify(`Could not cancel reading the documents: ${toErrorPayload(err).message}`);
    }
  },
});
