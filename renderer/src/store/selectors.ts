// Narrow selectors: each returns a value already in the store (or a shared constant), so a
// component re-renders only when the thing it shows changes.
import type { ConversationInfo, MessageInfo } from '../../../preload/api.ts';
import type { Stream } from './createChatSlice.ts';
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
