import type { ConversationInfo, DocumentInfo, ErrorPayload, MessageInfo, StrataEvents } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

/** An answer being generated: tokens land here until chat.ask resolves with the stored message. */
export interface Stream {
  requestId: string;
  conversationId: string;
  text: string;
  startedAt: number;
  stopping: boolean;
}

export interface ChatSlice {
  /** Most recently updated first. */
  conversations: ConversationInfo[];
  activeConversationId: string | null;
  messagesByConversation: Record<string, MessageInfo[]>;
  /** By requestId. */
  streams: Record<string, Stream>;
  chatError: ErrorPayload | null;
  /** Documents ticked while no conversation is active; the conversation they create starts with them. */
  draftDocumentIds: string[];

  activeConversation(): ConversationInfo | null;
  refreshConversations(): Promise<void>;
  selectConversation(id: string | null): Promise<void>;
  loadMessages(conversationId: string): Promise<void>;
  createConversation(req: { title?: string; documentIds: string[] }): Promise<ConversationInfo | null>;
  renameConversation(id: string, title: string): Promise<void>;
  deleteConversation(id: string): Promise<void>;
  setConversationDocuments(id: string, documentIds: string[]): Promise<void>;
  /**
   * Adds a freshly imported document to a conversation (a new one titled after it when there is
   * none) and returns the conversation's id, for the next document in the batch.
   */
  attachDocument(conversationId: string | null, doc: DocumentInfo): Promise<string | null>;
  /** Resolves false when the question did not get an answer (the composer keeps its text). */
  send(question: string): Promise<boolean>;
  /** Asks the active conversation's last question again, replacing its answer. */
  regenerate(): Promise<boolean>;
  stop(): Promise<void>;
  applyToken(event: StrataEvents['chat.onToken']): void;
  applyAskStarted(event: StrataEvents['chat.onAskStarted']): void;
  /** An answer finished (here or in another window): show the saved message. */
  applyAskFinished(event: StrataEvents['chat.onAskFinished']): void;
  dismissChatError(): void;
}

function sortConversations(list: ConversationInfo[]): ConversationInfo[] {
  return list.slice().sort((a, b) => b.updatedAt - a.updatedAt);
}

function upsertConversation(list: ConversationInfo[], conversation: ConversationInfo): ConversationInfo[] {
  return sortConversations([conversation, ...list.filter((c) => c.id !== conversation.id)]);
}

function titleFrom(question: string): string {
  const line = question.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

function pendingId(requestId: string): string {
  return `pending:${requestId}`;
}

export const createChatSlice: SliceCreator<ChatSlice> = (set, get) => {
  function withoutStream(streams: Record<string, Stream>, requestId: string): Record<string, Stream> {
    const next = { ...streams };
    delete next[requestId];
    return next;
  }

  function withMessage(byConversation: Record<string, MessageInfo[]>, message: MessageInfo): Record<string, MessageInfo[]> {
    const current = byConversation[message.conversationId] ?? [];
    if (current.some((m) => m.id === message.id)) return byConversation;
    return { ...byConversation, [message.conversationId]: [...current, message] };
  }

  /**
   * Shows the question and an empty streaming answer at once, runs the call (chat.ask or
   * chat.regenerate) and settles the answer from its result; the stored history is reconciled after.
   */
  async function runAnswer(
    conversationId: string,
    question: string,
    call: (requestId: string) => Promise<MessageInfo>,
  ): Promise<boolean> {
    const requestId = crypto.randomUUID();
    const now = Date.now();
    const placeholder: MessageInfo = {
      id: pendingId(requestId),
      conversationId,
      role: 'user',
      text: question,
      status: 'complete',
      createdAt: now,
      metrics: null,
      error: null,
    };
    set((s) => ({
      chatError: null,
      streams: { ...s.streams, [requestId]: { requestId, conversationId, text: '', startedAt: now, stopping: false } },
      messagesByConversation: withMessage(s.messagesByConversation, placeholder),
    }));
    get().beginTimeline(requestId, conversationId);

    let ok: boolean;
    try {
      const answer = await call(requestId);
      set((s) => ({
        streams: withoutStream(s.streams, requestId),
        messagesByConversation: withMessage(s.messagesByConversation, answer),
      }));
      ok = true;
    } catch (err) {
      set((s) => ({ streams: withoutStream(s.streams, requestId), chatError: toErrorPayload(err) }));
      ok = false;
    }
    get().endTimeline(requestId);
    get().endIngest(requestId);
    // What the model read for this answer, even if no residency event reached this window.
    void get().refreshResidency(conversationId);
    // The stored history is the truth (ids, the user message, an error reply): reconcile with it,
    // without holding up the caller (after a dropped connection these calls wait for the next one).
    void get()
      .loadMessages(conversationId)
      .then(() => get().refreshConversations());
    return ok;
  }

  return {
    conversations: [],
    activeConversationId: null,
    messagesByConversation: {},
    streams: {},
    chatError: null,
    draftDocumentIds: [],

    activeConversation() {
      const { conversations, activeConversationId } = get();
      return conversations.find((c) => c.id === activeConversationId) ?? null;
    },

    async refreshConversations() {
      let conversations: ConversationInfo[];
      try {
        conversations = sortConversations(await getStrataClient().api.chat.listConversations());
      } catch (err) {
        get().notify(`Could not list conversations: ${toErrorPayload(err).message}`);
        return;
      }
      const active = get().activeConversationId;
      set({ conversations });
      if (active && !conversations.some((c) => c.id === active)) {
        await get().selectConversation(conversations[0]?.id ?? null);
      }
    },

    async selectConversation(id) {
      set({ activeConversationId: id, chatError: null });
      if (id) {
        void get().refreshResidency(id);
        await get().loadMessages(id);
      }
    },

    async loadMessages(conversationId) {
      try {
        const messages = await getStrataClient().api.chat.messages({ conversationId });
        set((s) => ({ messagesByConversation: { ...s.messagesByConversation, [conversationId]: messages } }));
      } catch (err) {
        get().notify(`Could not load messages: ${toErrorPayload(err).message}`);
      }
    },

    async createConversation(req) {
      try {
        const conversation = await getStrataClient().api.chat.createConversation(req);
        set((s) => ({
          conversations: upsertConversation(s.conversations, conversation),
          activeConversationId: conversation.id,
          messagesByConversation: { ...s.messagesByConversation, [conversation.id]: [] },
          chatError: null,
        }));
        return conversation;
      } catch (err) {
        get().notify(`Could not create a conversation: ${toErrorPayload(err).message}`);
        return null;
      }
    },

    async renameConversation(id, title) {
      const trimmed = title.trim();
      if (!trimmed) return;
      try {
        const conversation = await getStrataClient().api.chat.rename({ conversationId: id, title: trimmed });
        set((s) => ({ conversations: upsertConversation(s.conversations, conversation) }));
      } catch (err) {
        get().notify(`Could not rename the conversation: ${toErrorPayload(err).message}`);
      }
    },

    async deleteConversation(id) {
      try {
        await getStrataClient().api.chat.deleteConversation({ conversationId: id });
      } catch (err) {
        get().notify(`Could not delete the conversation: ${toErrorPayload(err).message}`);
        return;
      }
      const wasActive = get().activeConversationId === id;
      set((s) => {
        const messagesByConversation = { ...s.messagesByConversation };
        delete messagesByConversation[id];
        return { conversations: s.conversations.filter((c) => c.id !== id), messagesByConversation };
      });
      if (wasActive) await get().selectConversation(get().conversations[0]?.id ?? null);
    },

    async setConversationDocuments(id, documentIds) {
      // Optimistic, so a checkbox follows the click at once; the reply (or a refetch) settles it.
      set((s) => ({ conversations: s.conversations.map((c) => (c.id === id ? { ...c, documentIds } : c)) }));
      try {
        const conversation = await getStrataClient().api.chat.setDocuments({ conversationId: id, documentIds });
        set((s) => ({ conversations: upsertConversation(s.conversations, conversation) }));
      } catch (err) {
        get().notify(`Could not change the conversation's documents: ${toErrorPayload(err).message}`);
        await get().refreshConversations();
      }
    },

    async attachDocument(conversationId, doc) {
      const conversation = get().conversations.find((c) => c.id === conversationId);
      if (!conversation) {
        const created = await get().createConversation({ title: doc.fileName, documentIds: [doc.id] });
        return created?.id ?? null;
      }
      if (!conversation.documentIds.includes(doc.id)) {
        await get().setConversationDocuments(conversation.id, [...conversation.documentIds, doc.id]);
      }
      return conversation.id;
    },

    async send(question) {
      const text = question.trim();
      if (!text) return false;
      if (Object.keys(get().streams).length > 0) return false;
      if (!get().model) {
        set({ chatError: { code: 'NO_MODEL', message: 'Open a GGUF model before asking a question.' } });
        return false;
      }
      const conversation =
        get().activeConversation() ??
        (await get().createConversation({ title: titleFrom(text), documentIds: get().draftDocumentIds }));
      if (!conversation) return false;
      set({ draftDocumentIds: [] });
      return runAnswer(conversation.id, text, (requestId) =>
        getStrataClient().api.chat.ask({ requestId, conversationId: conversation.id, question: text }),
      );
    },

    async regenerate() {
      const conversationId = get().activeConversationId;
      if (!conversationId || Object.keys(get().streams).length > 0) return false;
      if (!get().model) {
        set({ chatError: { code: 'NO_MODEL', message: 'Open a GGUF model before asking a question.' } });
        return false;
      }
      const messages = get().messagesByConversation[conversationId] ?? [];
      let lastQuestion = -1;
      for (let i = messages.length - 1; i >= 0; i--) {
        if (messages[i]!.role === 'user') {
          lastQuestion = i;
          break;
        }
      }
      if (lastQuestion === -1) return false;
      const question = messages[lastQuestion]!.text;
      // The engine drops the last question and its answer, then asks again: show that at once.
      set((s) => ({
        messagesByConversation: { ...s.messagesByConversation, [conversationId]: messages.slice(0, lastQuestion) },
      }));
      return runAnswer(conversationId, question, (requestId) =>
        getStrataClient().api.chat.regenerate({ requestId, conversationId }),
      );
    },

    async stop() {
      const streams = Object.values(get().streams);
      set((s) => {
        const next: Record<string, Stream> = {};
        for (const [id, stream] of Object.entries(s.streams)) next[id] = { ...stream, stopping: true };
        return { streams: next };
      });
      await Promise.all(
        streams.map(async (stream) => {
          try {
            await getStrataClient().api.chat.cancel({ requestId: stream.requestId });
          } catch (err) {
            get().notify(`Could not stop the answer: ${toErrorPayload(err).message}`);
          }
        }),
      );
    },

    applyToken(event) {
      set((s) => {
        const stream = s.streams[event.requestId];
        if (!stream) return s;
        return { streams: { ...s.streams, [event.requestId]: { ...stream, text: stream.text + event.text } } };
      });
    },

    applyAskStarted(event) {
      const { conversationId, userMessage, requestId } = event;
      set((s) => {
        const current = s.messagesByConversation[conversationId];
        if (!current) return s;
        const placeholder = current.findIndex((m) => m.id === pendingId(requestId));
        if (placeholder !== -1) {
          const next = current.slice();
          next[placeholder] = userMessage;
          return { messagesByConversation: { ...s.messagesByConversation, [conversationId]: next } };
        }
        if (current.some((m) => m.id === userMessage.id)) return s;
        return { messagesByConversation: { ...s.messagesByConversation, [conversationId]: [...current, userMessage] } };
      });
    },

    applyAskFinished(event) {
      set((s) => {
        if (!s.messagesByConversation[event.conversationId]) return s;
        return {
          streams: withoutStream(s.streams, event.requestId),
          messagesByConversation: withMessage(s.messagesByConversation, event.message),
        };
      });
    },

    dismissChatError() {
      set({ chatError: null });
    },
  };
};
