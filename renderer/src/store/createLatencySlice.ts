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
  recordToken(event: StrataEvents['chat.onToken'], fallbackElapsedMs: number): void;
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

  recordToken(event, fallbackElapsedMs) {
    set((s) => {
      const current = s.timelineByConversation[event.conversationId];
      const base = current?.requestId === event.requestId ? current : { requestId: event.requestId, conversationId: event.conversationId, elapsedMs: [], live: true };
      // An older engine process sends no elapsedMs: the renderer's own clock is the next best thing.
      const elapsed = typeof event.elapsedMs === 'number' ? event.elapsedMs : fallbackElapsedMs;
      return {
        timelineByConversation: {
          ...s.timelineByConversation,
          [event.conversationId]: { ...base, elapsedMs: [...base.elapsedMs, elapsed], live: true },
        },
      };
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
