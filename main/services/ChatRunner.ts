// The answers: one at a time per conversation (a second ask is refused with ASK_IN_PROGRESS), a
// cancellable queue across conversations (they share the model), the engine conversation of each
// catalog conversation, and every answer stored with its status (complete, stopped, error) and metrics.
import type { MessageInfo, StrataApi } from '../../preload/api.ts';
import type { Catalog } from '../catalog/Catalog.ts';
import type { EngineConversation, EngineModel } from '../engine/Engine.ts';
import type { EngineSettings } from '../engine/engineTypes.ts';
import { RequestError, errorPayload } from '../engine/errors.ts';
import type { OpenModel } from './ModelHost.ts';
import { requireString } from './requireArgs.ts';
import type { EventSink } from './StrataService.ts';
import type { Telemetry } from './Telemetry.ts';

export interface ChatRunnerOptions {
  catalog: Catalog;
  emit: EventSink;
  telemetry: Telemetry;
  settings: () => EngineSettings;
  requireModel: () => Promise<OpenModel>;
  /** Answers wait for the start-up sweep of the KV tiers. */
  ready: Promise<void>;
}

export class ChatRunner {
  private readonly options: ChatRunnerOptions;
  private readonly conversations = new Map<string, EngineConversation>();
  private readonly asks = new Map<string, { controller: AbortController; conversationId: string }>();
  /** The conversation each running or queued answer belongs to: one at a time per conversation. */
  private readonly answering = new Map<string, string>();
  /** Answers run one at a time (they share the model); a queued one waits here and can be cancelled. */
  private askQueue: Promise<void> = Promise.resolve();

  constructor(options: ChatRunnerOptions) {
    this.options = options;
  }

  /** The engine conversation of a catalog conversation, if one answered since the model opened. */
  conversation(id: string): EngineConversation | undefined {
    return this.conversations.get(id);
  }

  cancel(requestId: string): void {
    this.asks.get(requestId)?.controller.abort();
  }

  /** Stops the running and queued answers of these conversations (all when omitted); returns how many. */
  stop(conversationIds?: ReadonlySet<string>): number {
    let stopped = 0;
    for (const ask of this.asks.values()) {
      if (conversationIds && !conversationIds.has(ask.conversationId)) continue;
      ask.controller.abort();
      stopped++;
    }
    return stopped;
  }

  /** Resolves once every answer queued so far has ended. */
  idle(): Promise<void> {
    return this.askQueue;
  }

  /** The engine conversations let go of the model (it is closing). */
  async releaseConversations(): Promise<void> {
    for (const conversation of this.conversations.values()) await conversation.dispose();
    this.conversations.clear();
  }

  async forgetConversation(id: string): Promise<void> {
    this.stop(new Set([id]));
    await this.conversations.get(id)?.dispose();
    this.conversations.delete(id);
  }

  /**
   * One answer at a time per conversation (a second ask is refused with ASK_IN_PROGRESS, never
   * interleaved); answers of different conversations queue and can be stopped while queued.
   * `replacing`: messages a regenerate removes, only once this answer can start.
   */
  async ask(req: Parameters<StrataApi['chat']['ask']>[0], replacing: string[] = []): Promise<MessageInfo> {
    const requestId = requireString(req?.requestId, 'requestId');
    const conversationId = requireString(req?.conversationId, 'conversationId');
    const question = requireString(req?.question, 'question');
    if (question.trim() === '') throw new RequestError('EMPTY_QUESTION', 'Type a question first.');
    if (req.maxTokens !== undefined && (!Number.isInteger(req.maxTokens) || req.maxTokens < 1 || req.maxTokens > 65536)) {
      throw new RequestError('INVALID_ARGUMENT', `maxTokens must be an integer from 1 to 65536, got ${String(req.maxTokens)}`);
    }
    if (this.asks.has(requestId)) throw new RequestError('DUPLICATE_REQUEST', `A question with request id ${requestId} is already running.`);
    const conversation = this.options.catalog.getConversation(conversationId);
    if (this.answering.has(conversationId)) {
      throw new RequestError('ASK_IN_PROGRESS', 'This conversation is still answering the previous question: wait for it or stop it first.');
    }
    this.answering.set(conversationId, requestId);
    const controller = new AbortController();
    this.asks.set(requestId, { controller, conversationId });
    let userMessage: MessageInfo;
    let open: OpenModel;
    try {
      open = await this.options.requireModel();
      if (replacing.length > 0) this.options.catalog.deleteMessages(replacing);
      userMessage = this.options.catalog.addMessage({ conversationId, role: 'user', text: question, status: 'complete' });
    } catch (error) {
      this.asks.delete(requestId);
      this.answering.delete(conversationId);
      throw error;
    }
    const history = this.options.catalog.listMessages(conversationId).filter((m) => m.id !== userMessage.id);
    this.options.emit('chat.onAskStarted', { requestId, conversationId, userMessage });

    // Wait for the answers ahead of this one; a stop while queued ends it without touching the model.
    const previous = this.askQueue;
    let done!: () => void;
    this.askQueue = new Promise<void>((resolve) => (done = resolve));
    let streamed = '';
    let stopMemoryPush: (() => void) | null = null;
    /** The answer reached a model that keeps documents' KV, with documents: their stored state may have changed. */
    let touchedKv = false;
    try {
      await Promise.race([previous, abortedPromise(controller.signal)]);
      await this.options.ready;
      if (controller.signal.aborted) return this.finishAsk(requestId, { conversationId, role: 'assistant', text: '', status: 'stopped' });
      open = await this.options.requireModel();
      const askedAt = performance.now();
      stopMemoryPush = this.options.telemetry.startMemoryPush();
      const engineConversation = this.engineConversation(conversationId, open.model);
      const { catalog } = this.options;
      engineConversation.setDocuments(conversation.documentIds.map((id) => ({ id, text: catalog.getDocumentText(id), sha256: catalog.getDocument(id)?.sha256 })));
      engineConversation.setHistory(completedTurns(history));
      const settings = this.options.settings();
      engineConversation.setInstructions(settings.systemPrompt);
      touchedKv = open.model.documentKv !== undefined && conversation.documentIds.length > 0;
      const result = await engineConversation.ask(question, {
        maxTokens: req.maxTokens ?? settings.answerMaxTokens ?? undefined,
        temperature: settings.temperature,
        signal: controller.signal,
        onIngestProgress: (tokensDone, tokenCount) => this.options.emit('chat.onIngestProgress', { requestId, conversationId, tokensDone, tokenCount }),
        onResidencyChange: () => this.options.telemetry.emitResidency(conversationId),
        onNotice: (message) => this.options.emit('app.onNotice', { message, tone: 'info' }),
        onKvEvicted: ({ documentIds, bytes }) => this.options.emit('app.onNotice', { message: evictionNotice(this.options.catalog, documentIds, bytes), tone: 'info' }),
        onTextChunk: (text) => {
          streamed += text;
          this.options.emit('chat.onToken', { requestId, conversationId, text, elapsedMs: performance.now() - askedAt });
        },
      });
      return this.finishAsk(requestId, {
        conversationId,
        role: 'assistant',
        text: result.text,
        status: result.stopReason === 'abort' ? 'stopped' : 'complete',
        metrics: result.metrics,
      });
    } catch (error) {
      // Stopped while the documents were still being read: a stopped answer, and the reading resumes next time.
      if (controller.signal.aborted) return this.finishAsk(requestId, { conversationId, role: 'assistant', text: streamed, status: 'stopped' });
      // The question and whatever streamed stay in the conversation with the reason it failed.
      return this.finishAsk(requestId, { conversationId, role: 'assistant', text: streamed, status: 'error', error: errorPayload(error) });
    } finally {
      this.asks.delete(requestId);
      this.answering.delete(conversationId);
      stopMemoryPush?.();
      this.options.telemetry.emitResidency(conversationId);
      // Read, resumed, moved between tiers or dropped by the disk budget: the Documents tab asks again.
      if (touchedKv) this.options.emit('documents.onChanged', { reason: 'kv' });
      // The next answer starts only after this one and everything queued before it.
      void previous.then(done, done);
    }
  }

  private finishAsk(requestId: string, answer: Parameters<Catalog['addMessage']>[0]): MessageInfo {
    const message = this.options.catalog.addMessage(answer);
    this.options.emit('chat.onAskFinished', { requestId, conversationId: answer.conversationId, message });
    return message;
  }

  private engineConversation(conversationId: string, model: EngineModel): EngineConversation {
    let conversation = this.conversations.get(conversationId);
    if (!conversation) {
      conversation = model.createConversation({ id: conversationId });
      this.conversations.set(conversationId, conversation);
    }
    return conversation;
  }

}

/** What the user is told when the disk budget drops documents' KV to make room (answers and Prepares). */
export function evictionNotice(catalog: Catalog, documentIds: string[], bytes: number): string {
  const names = documentIds.map((id) => catalog.getDocument(id)?.fileName).filter((n): n is string => !!n);
  const what = names.length > 0 ? names.join(', ') : `${documentIds.length} document(s)`;
  return `To stay within the disk budget, the stored KV cache of ${what} (${(bytes / 2 ** 20).toFixed(1)} MiB, least recently used) was dropped; it is read again when a question needs it.`;
}

/** Completed question/answer pairs, in order; failed answers are left out of the prompt. */
function completedTurns(messages: MessageInfo[]): { role: 'user' | 'assistant'; text: string }[] {
  const turns: { role: 'user' | 'assistant'; text: string }[] = [];
  for (let i = 0; i + 1 < messages.length; i++) {
    const question = messages[i];
    const answer = messages[i + 1];
    if (question.role === 'user' && answer.role === 'assistant' && answer.status !== 'error') {
      turns.push({ role: 'user', text: question.text }, { role: 'assistant', text: answer.text });
      i++;
    }
  }
  return turns;
}

/** Resolves when the signal aborts (never, if it does not). */
function abortedPromise(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

