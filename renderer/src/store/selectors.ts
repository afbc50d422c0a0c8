// Narrow selectors: each returns a value already in the store (or a shared constant), so a
// component re-renders only when the thing it shows changes.
import type { ConversationInfo, MessageInfo, ResidencySnapshot } from '../../../preload/api.ts';
import type { Stream } from './createChatSlice.ts';
import type { IngestProgress } from './createIngestSlice.ts';
import type { TokenTimeline } from './createLatencySlice.ts';
import type { StrataState } from './StrataState.ts';

const NO_MESSAGES: MessageInfo[] = [];
const NO_IDS: string[] = [];

export const selectActiveConversation = (s: StrataState): ConversationInfo | null =>
  s.conversations.find((c) => c.id === s.activeConversationId) ?? null;

export const selectActiveMessages = (s: StrataState): MessageInfo[] =>
  (s.activeConversationId && s.messagesByConversation[s.activeConversationId]) || NO_MESSAGES;

/** Documents in use: the active conversation's, or those ticked before one exists. */
export const selectActiveDocumentIds = (s: StrataState): string[] =>
  selectActiveConversation(s)?.documentIds ?? (s.draftDocumentIds.length > 0 ? s.draftDocumentIds : NO_IDS);

/** The answer streaming into the active conversation, if any. */
export const selectActiveStream = (s: StrataState): Stream | null =>
  Object.values(s.streams).find((stream) => stream.conversationId === s.activeConversationId) ?? null;

export const selectIsAsking = (s: StrataState): boolean => Object.keys(s.streams).length > 0;

export const selectIsStopping = (s: StrataState): boolean => Object.values(s.streams).some((stream) => stream.stopping);

/** The active conversation's residency map (null: not read into the tiers yet, or unknown). */
export const selectActiveResidency = (s: StrataState): ResidencySnapshot | null =>
  (s.activeConversationId && s.residencyByConversation[s.activeConversationId]) || null;

/** The latest answer's token timeline in the active conversation (live while it streams). */
export const selectActiveTimeline = (s: StrataState): TokenTimeline | null =>
  (s.activeConversationId && s.timelineByConversation[s.activeConversationId]) || null;

/** The documents of the active conversation being read into the tiers, if any. */
export const selectActiveIngest = (s: StrataState): IngestProgress | null =>
  Object.values(s.ingests).find((ingest) => ingest.conversationId === s.activeConversationId) ?? null;

/**
 * The question reading this document into the tiers now, if any. Only where the read is the document's
 * own KV: the library mode (each document read alone), or a conversation of this document alone.
 */
export const selectAskReading = (s: StrataState, documentId: string): IngestProgress | null => {
  for (const ingest of Object.values(s.ingests)) {
    const ids = s.conversations.find((c) => c.id === ingest.conversationId)?.documentIds ?? [];
    if (ids.includes(documentId) && (s.documentKv?.kvReuse === 'library' || ids.length === 1)) return ingest;
  }
  return null;
};
