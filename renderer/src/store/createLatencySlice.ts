import type { StrataEvents } from '../../../preload/api.ts';
import type { SliceCreator } from './StrataState.ts';

/** When each token of one answer arrived, in ms since its question was asked. */
export interface TokenTimeline {
  requestId: string;
  conversationId: string;
  elapsedMs: number[];
  /** Still streaming. */
  live: boolean;
}

export interface LatencySlice {
  /** The latest answer's timeline per conversation (the live one while it streams). */
  timelineByConversation: Record<string, TokenTimeline>;

  /** Starts an empty timeline for an answer this window (or another) began. */
  beginTimeline(requestId: string, conversationId: string): void;
  /** Appends a batch of tokens (subscribeToEngine takes them in once per ~frame): one copy of a timeline per batch, not per token. */
  recordTokens(batch: ReadonlyArray<{ event: StrataEvents['chat.onToken']; fallbackElapsedMs: number }>): void;
  endTimeline(requestId: string): void;
}

export const createLatencySlice: SliceCreator<LatencySlice> = (set) => ({
  timelineByConversation: {},

  beginTimeline(requestId, conversationId) {
    set((s) => {
      const current = s.timelineByConversation[conversationId];
      if (current?.requestId === requestId) return s;
      return { timelineByConversation: { ...s.timelineByConversation, [conversationId]: { requestId, conversationId, elapsedMs: [], live: true } } };
    });
  },

  recordTokens(batch) {
    if (batch.length === 0) return;
    set((s) => {
      const timelines = { ...s.timelineByConversation };
      const added = new Map<string, number[]>();
      for (const { event, fallbackElapsedMs } of batch) {
        const current = timelines[event.conversationId];
        if (current?.requestId !== event.requestId) {
          timelines[event.conversationId] = { requestId: event.requestId, conversationId: event.conversationId, elapsedMs: [], live: true };
          added.delete(event.conversationId);
        }
        // An older engine process sends no elapsedMs: the renderer's own clock is the next best thing.
        const elapsed = typeof event.elapsedMs === 'number' ? event.elapsedMs : fallbackElapsedMs;
        let list = added.get(event.conversationId);
        if (!list) added.set(event.conversationId, (list = []));
        list.push(elapsed);
      }
      for (const [conversationId, elapsed] of added) {
        const base = timelines[conversationId]!;
        timelines[conversationId] = { ...base, elapsedMs: base.elapsedMs.concat(elapsed), live: true };
      }
      return { timelineByConversation: timelines };
    });
  },

  endTimeline(requestId) {
    set((s) => {
      const entry = Object.values(s.timelineByConversation).find((t) => t.requestId === requestId);
      if (!entry || !entry.live) return s;
      return { timelineByConversation: { ...s.timelineByConversation, [entry.conversationId]: { ...entry, live: false } } };
    });
  },
});
