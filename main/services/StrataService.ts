// The implementation of the contract in preload/api.ts, run in the engine process (or in a CLI
// command's own process). It composes the pieces and validates requests: ModelHost (the one open
// model, fallback), DocumentImporter (imports, token counts), SettingsStore (transactional settings),
// Telemetry (memory and residency pushes), ModelLibrary (the Models panel); what stays here is the
// answer queue (one answer per conversation, a cancellable queue across them) and the conversations.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type {
  AppInfo,
  ConversationInfo,
  DocumentInfo,
  EngineSettings,
  HostKind,
  MessageInfo,
  ModelInfo,
  StrataApi,
  StrataEvents,
} from '../../preload/api.ts';
import { DocumentImporter } from './DocumentImporter.ts';
import { ModelHost, type OpenModel } from './ModelHost.ts';
import { SettingsStore } from './SettingsStore.ts';
import { Telemetry } from './Telemetry.ts';
import { ANSWER_SETTINGS } from '../../preload/api.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { DocumentError } from '../engine/documents/DocumentError.ts';
import type { Engine, EngineConversation, EngineModel } from '../engine/Engine.ts';
import { DisposedError, RequestError, errorPayload } from '../engine/errors.ts';
import { defaultModelSearchDirs, findLocalModels, type ModelSearchDir } from './models/findLocalModels.ts';
import { hfEndpoint } from './models/hubClient.ts';
import { ModelLibrary } from './models/ModelLibrary.ts';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { StandardEngine } from '../engine/standard/StandardEngine.ts';
import { TieredEngine, tieredEngineUnavailableReason, type TieredEngineOptions } from '../engine/tiered/TieredEngine.ts';

export type EventSink = <E extends keyof StrataEvents>(event: E, payload: StrataEvents[E]) => void;

export interface HostDialogs {
  pickModel(): Promise<string | null>;
  pickDocuments(): Promise<string[]>;
}

export interface StrataServiceOptions {
  dataDir: string;
  host: HostKind;
  version: string;
  emit?: EventSink;
  dialogs?: HostDialogs;
  /** Replaces the standard engine (tests). */
  engine?: Engine;
  /** Replaces the tiered engine (tests); null runs without one. */
  tieredEngine?: Engine | null;
  /** Applied over the stored settings for this process only (the CLI's --engine and --gpu-budget). */
  settingsOverride?: Partial<EngineSettings>;
  maxDocumentBytes?: number;
  /** Where models on disk are looked for (default: defaultModelSearchDirs). */
  modelSearchDirs?: ModelSearchDir[];
  /** The tiered engine's disk write seam (fault tests). */
  diskWriteAndSync?: TieredEngineOptions['diskWriteAndSync'];
  /** The Hugging Face Hub or a mirror (default: STRATA_HF_ENDPOINT, else huggingface.co). */
  hfEndpoint?: string;
}


export class StrataService implements StrataApi {
  readonly catalog: Catalog;
  private readonly options: StrataServiceOptions;
  private readonly standardEngine: Engine;
  private readonly tieredEngine: Engine | null;
  private readonly emit: EventSink;
  private readonly host: ModelHost;
  private readonly conversations = new Map<string, EngineConversation>();
  private readonly asks = new Map<string, { controller: AbortController; conversationId: string }>();
  /** The conversation each running or queued answer belongs to: one at a time per conversation. */
  private readonly answering = new Map<string, string>();
  /** Answers run one at a time (they share the model); a queued one waits here and can be cancelled. */
  private askQueue: Promise<void> = Promise.resolve();
  private readonly settingsStore: SettingsStore;
  private readonly telemetry: Telemetry;
  private readonly importer: DocumentImporter;
  /** The start-up sweep of the KV tiers; answers wait for it. */
  private readonly ready: Promise<void>;
  private disposed = false;
  private readonly library: ModelLibrary;

  constructor(options: StrataServiceOptions) {
    this.options = options;
    this.catalog = new Catalog(join(options.dataDir, 'catalog.sqlite'));
    this.settingsStore = new SettingsStore(this.catalog, options.settingsOverride);
    this.emit = options.emit ?? (() => undefined);
    this.telemetry = new Telemetry({
      emit: this.emit,
      openModel: () => (this.openModel ? { model: this.openModel.model, engine: this.openModel.info.engine } : null),
      conversation: (id) => this.conversations.get(id),
    });
    this.importer = new DocumentImporter({
      catalog: this.catalog,
      emit: this.emit,
      maxDocumentBytes: options.maxDocumentBytes,
      openModel: () => (this.openModel ? { id: this.openModel.info.id, model: this.openModel.model } : null),
    });
    this.standardEngine = options.engine ?? new StandardEngine({ kvCacheType: () => this.currentSettings().kvCacheType });
    this.tieredEngine =
      options.tieredEngine !== undefined
        ? options.tieredEngine
        : new TieredEngine({
            dataDir: options.dataDir,
            catalog: this.catalog,
            settings: () => this.currentSettings(),
            onSample: () => this.telemetry.tierChanged(),
            diskWriteAndSync: options.diskWriteAndSync,
          });
    // A question left without an answer was being answered when the last process died.
    this.catalog.closeInterruptedAnswers({ code: 'ENGINE_STOPPED', message: 'The engine stopped while answering this question; ask it again.' });
    this.host = new ModelHost({
      catalog: this.catalog,
      emit: this.emit,
      standardEngine: this.standardEngine,
      tieredEngine: this.tieredEngine,
      settings: () => this.currentSettings(),
      onOpened: (info) => this.importer.countMissingTokens(info.id),
      onClosing: async () => {
        for (const conversation of this.conversations.values()) await conversation.dispose();
        this.conversations.clear();
      },
      isDisposed: () => this.disposed,
    });
    this.library = new ModelLibrary({
      modelsDir: join(options.dataDir, 'models'),
      endpoint: () => options.hfEndpoint ?? hfEndpoint(),
      settings: () => this.currentSettings(),
      llama: getLlamaRuntime,
      onDownload: (info) => this.emit('models.onDownload', info),
      beforeDelete: async (path) => {
        if (this.openModel?.info.path === path) await this.closeModel();
      },
    });
    this.ready = Promise.resolve(this.tieredEngine?.sweep?.())
      .then(() => undefined)
      .catch((error: unknown) => this.emit('app.onNotice', { message: `Cleaning up the KV cache folder failed: ${(error as Error).message}`, tone: 'error' }));
  }

  /** Resolves once the start-up sweep is done (tests and the soak check disk accounting after it). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  readonly app: StrataApi['app'] = {
    info: async (): Promise<AppInfo> => ({
      host: this.options.host,
      version: this.options.version,
      dataDir: this.options.dataDir,
      engines: this.tieredEngine && tieredEngineUnavailableReason() === null ? ['tiered', 'standard'] : ['standard'],
      tieredUnavailableReason: this.tieredEngine ? tieredEngineUnavailableReason() : 'this host runs without the tiered engine',
    }),
  };

  readonly models: StrataApi['models'] = {
    listRecent: async () => this.catalog.listRecentModels(),
    ...this.libraryMethods(),
    listLocal: async () => findLocalModels(this.options.modelSearchDirs ?? defaultModelSearchDirs(this.options.dataDir)),
    current: async () => this.openModel?.info ?? null,
    open: async (req) => this.openModelAt(requireString(req?.path, 'path')),
    forget: async (req) => {
      const id = requireString(req?.id, 'id');
      const model = this.catalog.getModel(id);
      if (this.openModel?.info.id === id) await this.closeModel();
      this.catalog.forgetModel(id);
      if (model) await this.tieredEngine?.forgetModel?.(model);
    },
    pickFile: async () => (this.options.dialogs ? this.options.dialogs.pickModel() : null),
  };

  readonly documents: StrataApi['documents'] = {
    list: async () => this.catalog.listDocuments(),
    import: async (req) => {
      const requestId = requireString(req?.requestId, 'requestId');
      const fileName = requireString(req?.fileName, 'fileName');
      if (!(req.bytes instanceof Uint8Array)) throw new RequestError('INVALID_ARGUMENT', 'bytes must be a Uint8Array');
      this.assertAlive();
      return this.importer.import(requestId, basename(fileName), () => Promise.resolve(req.bytes));
    },
    importPath: async (req) => {
      const requestId = requireString(req?.requestId, 'requestId');
      const path = requireString(req?.path, 'path');
      this.assertAlive();
      return this.importer.import(requestId, basename(path), async () => {
        const info = await stat(path).catch(() => null);
        if (info?.isDirectory()) throw new RequestError('NOT_A_FILE', `${path} is a folder, not a document. Add the files inside it.`);
        if (!info?.isFile()) throw new RequestError('NOT_FOUND', `File not found: ${path}`);
        const limit = this.importer.maxDocumentBytes;
        if (info.size > limit) throw new DocumentError('TOO_LARGE', `${basename(path)} is ${info.size} bytes; Strata imports documents up to ${limit} bytes.`);
        return readFile(path);
      });
    },
    cancelImport: async (req) => {
      this.importer.cancel(requireString(req?.requestId, 'requestId'));
    },
    pickFiles: async () => (this.options.dialogs ? this.options.dialogs.pickDocuments() : []),
    getText: async (req) => ({ text: this.catalog.getDocumentText(requireString(req?.id, 'id')) }),
    remove: async (req) => {
      const id = requireString(req?.id, 'id');
      // An answer reading this document stops first (cleanly, at its next chunk), then its KV goes.
      const readers = new Set(this.catalog.listConversations().filter((c) => c.documentIds.includes(id)).map((c) => c.id));
      for (const ask of this.asks.values()) if (readers.has(ask.conversationId)) ask.controller.abort();
      await this.tieredEngine?.forgetDocument?.(id);
      this.catalog.removeDocument(id);
      this.emit('documents.onChanged', { reason: 'removed' });
      void this.catalog.reclaimSpace().catch(() => undefined);
    },
  };

  readonly settings: StrataApi['settings'] = {
    get: async () => this.currentSettings(),
    update: async (patch) => {
      const next = this.settingsStore.withPatch(patch);
      const open = this.openModel;
      // Answer length, temperature and instructions are read by each ask: nothing to reopen, nothing to stop.
      const answerOnly = Object.keys(patch).every((key) => ANSWER_SETTINGS.includes(key as keyof EngineSettings));
      if (!open || answerOnly) {
        this.settingsStore.save(next);
        return this.currentSettings();
      }
      // Budgets and layers are fixed when a model opens, so the change reopens it; an answer in
      // progress (or queued) is stopped first, and the user is told.
      const stopped = this.cancelAllAsks();
      if (stopped > 0) {
        this.emit('app.onNotice', { message: `Stopped ${stopped === 1 ? 'the answer' : `${stopped} answers`} in progress to apply the new engine settings.`, tone: 'info' });
      }
      await this.askQueue;
      // Transactional: the new values are stored only if the model opens with them; otherwise the
      // model reopens with the stored ones and the error says why.
      try {
        await this.settingsStore.tryWith(next, async () => {
          await this.closeModel();
          await this.openModelAt(open.info.path);
        });
      } catch (error) {
        await this.closeModel();
        await this.openModelAt(open.info.path).catch(() => undefined);
        throw error;
      }
      return this.currentSettings();
    },
  };

  /** Stops every running and queued answer; returns how many. */
  private cancelAllAsks(): number {
    for (const ask of this.asks.values()) ask.controller.abort();
    return this.asks.size;
  }

  private currentSettings(): EngineSettings {
    return this.settingsStore.current();
  }

  readonly engine: StrataApi['engine'] = {
    memory: async () => this.telemetry.memorySnapshot(),
    residency: async (req) => this.telemetry.residency(requireString(req?.conversationId, 'conversationId')),
  };

  readonly chat: StrataApi['chat'] = {
    listConversations: async () => this.catalog.listConversations(),
    createConversation: async (req) => {
      const documentIds = requireIds(req?.documentIds);
      const title = typeof req.title === 'string' && req.title.trim() !== '' ? req.title.trim() : this.defaultTitle(documentIds);
      return this.catalog.createConversation(title, documentIds);
    },
    setDocuments: async (req) => this.catalog.setConversationDocuments(requireString(req?.conversationId, 'conversationId'), requireIds(req?.documentIds)),
    rename: async (req) => {
      const title = requireString(req?.title, 'title').trim();
      if (title === '') throw new RequestError('INVALID_ARGUMENT', 'A conversation title cannot be empty.');
      return this.catalog.renameConversation(requireString(req?.conversationId, 'conversationId'), title);
    },
    deleteConversation: async (req) => {
      const id = requireString(req?.conversationId, 'conversationId');
      for (const ask of this.asks.values()) if (ask.conversationId === id) ask.controller.abort();
      await this.conversations.get(id)?.dispose();
      this.conversations.delete(id);
      this.catalog.deleteConversation(id);
      await this.tieredEngine?.forgetConversation?.(id);
      void this.catalog.reclaimSpace().catch(() => undefined);
    },
    messages: async (req) => this.catalog.listMessages(requireString(req?.conversationId, 'conversationId')),
    ask: async (req) => this.ask(req),
    regenerate: async (req) => {
      const conversationId = requireString(req?.conversationId, 'conversationId');
      const messages = this.catalog.listMessages(conversationId);
      const lastQuestion = messages.findLastIndex((m) => m.role === 'user');
      if (lastQuestion < 0) throw new RequestError('NOTHING_TO_REGENERATE', 'This conversation has no answer to regenerate yet.');
      const question = messages[lastQuestion].text;
      // Nothing is removed until the new answer can start (ask checks the model and the conversation first).
      return this.ask({ requestId: req.requestId, conversationId, question, maxTokens: req.maxTokens }, messages.slice(lastQuestion).map((m) => m.id));
    },
    cancel: async (req) => {
      this.asks.get(requireString(req?.requestId, 'requestId'))?.controller.abort();
    },
  };

  /**
   * Reopens the model of the last session, so a restarted app continues where it stopped. Failures
   * reach the UI as models.onStatus events; nothing throws.
   */
  async restoreLastModel(): Promise<ModelInfo | null> {
    const [last] = this.catalog.listRecentModels(1);
    if (!last || this.openModel || this.host.isOpening) return null;
    if (!(await stat(last.path).catch(() => null))?.isFile()) return null;
    return this.openModelAt(last.path).catch(() => null);
  }

  private async openModelAt(path: string): Promise<ModelInfo> {
    this.assertAlive();
    return this.host.openAt(path);
  }

  private closeModel(): Promise<void> {
    return this.host.close();
  }

  private get openModel(): OpenModel | null {
    return this.host.current;
  }

  /**
   * One answer at a time per conversation (a second ask is refused with ASK_IN_PROGRESS, never
   * interleaved); answers of different conversations queue and can be stopped while queued.
   * `replacing`: messages a regenerate removes, only once this answer can start.
   */
  private async ask(req: Parameters<StrataApi['chat']['ask']>[0], replacing: string[] = []): Promise<MessageInfo> {
    this.assertAlive();
    const requestId = requireString(req?.requestId, 'requestId');
    const conversationId = requireString(req?.conversationId, 'conversationId');
    const question = requireString(req?.question, 'question');
    if (question.trim() === '') throw new RequestError('EMPTY_QUESTION', 'Type a question first.');
    if (req.maxTokens !== undefined && (!Number.isInteger(req.maxTokens) || req.maxTokens < 1 || req.maxTokens > 65536)) {
      throw new RequestError('INVALID_ARGUMENT', `maxTokens must be an integer from 1 to 65536, got ${String(req.maxTokens)}`);
    }
    if (this.asks.has(requestId)) throw new RequestError('DUPLICATE_REQUEST', `A question with request id ${requestId} is already running.`);
    const conversation = this.catalog.getConversation(conversationId);
    if (this.answering.has(conversationId)) {
      throw new RequestError('ASK_IN_PROGRESS', 'This conversation is still answering the previous question: wait for it or stop it first.');
    }
    this.answering.set(conversationId, requestId);
    const controller = new AbortController();
    this.asks.set(requestId, { controller, conversationId });
    let userMessage: MessageInfo;
    let open: OpenModel;
    try {
      open = await this.host.require();
      if (replacing.length > 0) this.catalog.deleteMessages(replacing);
      userMessage = this.catalog.addMessage({ conversationId, role: 'user', text: question, status: 'complete' });
    } catch (error) {
      this.asks.delete(requestId);
      this.answering.delete(conversationId);
      throw error;
    }
    const history = this.catalog.listMessages(conversationId).filter((m) => m.id !== userMessage.id);
    this.emit('chat.onAskStarted', { requestId, conversationId, userMessage });

    // Wait for the answers ahead of this one; a stop while queued ends it without touching the model.
    const previous = this.askQueue;
    let done!: () => void;
    this.askQueue = new Promise<void>((resolve) => (done = resolve));
    let streamed = '';
    let stopMemoryPush: (() => void) | null = null;
    try {
      await Promise.race([previous, abortedPromise(controller.signal)]);
      await this.ready;
      if (controller.signal.aborted) return this.finishAsk(requestId, { conversationId, role: 'assistant', text: '', status: 'stopped' });
      open = await this.host.require();
      const askedAt = performance.now();
      stopMemoryPush = this.telemetry.startMemoryPush();
      const engineConversation = this.engineConversation(conversationId, open.model);
      engineConversation.setDocuments(conversation.documentIds.map((id) => ({ id, text: this.catalog.getDocumentText(id) })));
      engineConversation.setHistory(completedTurns(history));
      const settings = this.currentSettings();
      engineConversation.setInstructions(settings.systemPrompt);
      const result = await engineConversation.ask(question, {
        maxTokens: req.maxTokens ?? settings.answerMaxTokens ?? undefined,
        temperature: settings.temperature,
        signal: controller.signal,
        onIngestProgress: (tokensDone, tokenCount) => this.emit('chat.onIngestProgress', { requestId, conversationId, tokensDone, tokenCount }),
        onResidencyChange: () => this.telemetry.emitResidency(conversationId),
        onNotice: (message) => this.emit('app.onNotice', { message, tone: 'info' }),
        onKvEvicted: ({ documentIds, bytes }) => this.emit('app.onNotice', { message: this.evictionNotice(documentIds, bytes), tone: 'info' }),
        onTextChunk: (text) => {
          streamed += text;
          this.emit('chat.onToken', { requestId, conversationId, text, elapsedMs: performance.now() - askedAt });
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
      this.telemetry.emitResidency(conversationId);
      // The next answer starts only after this one and everything queued before it.
      void previous.then(done, done);
    }
  }

  private evictionNotice(documentIds: string[], bytes: number): string {
    const names = documentIds.map((id) => this.catalog.getDocument(id)?.fileName).filter((n): n is string => !!n);
    const what = names.length > 0 ? names.join(', ') : `${documentIds.length} document(s)`;
    return `To stay within the disk budget, the stored KV cache of ${what} (${(bytes / 2 ** 20).toFixed(1)} MiB, least recently used) was dropped; it is read again when a question needs it.`;
  }

  private finishAsk(requestId: string, answer: Parameters<Catalog['addMessage']>[0]): MessageInfo {
    const message = this.catalog.addMessage(answer);
    this.emit('chat.onAskFinished', { requestId, conversationId: answer.conversationId, message });
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

  private defaultTitle(documentIds: string[]): string {
    const first = documentIds.length > 0 ? this.catalog.getDocument(documentIds[0]) : null;
    return first ? first.fileName : 'New conversation';
  }

  /** The Models panel's methods (ModelLibrary, made in the constructor: looked up at call time). */
  private libraryMethods(): ModelLibrary['methods'] {
    const names = ['catalog', 'fit', 'recommended', 'searchHub', 'repoFiles', 'downloads', 'download', 'cancelDownload', 'discardDownload', 'deleteFile'] as const;
    return Object.fromEntries(
      names.map((name) => [
        name,
        async (req: never) => {
          this.assertAlive();
          return (this.library.methods[name] as (req: never) => Promise<unknown>)(req);
        },
      ]),
    ) as unknown as ModelLibrary['methods'];
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.library.dispose();
    // The start-up sweep may still be creating the KV folder: let it finish before anything closes.
    await this.ready;
    for (const ask of this.asks.values()) ask.controller.abort();
    await this.closeModel();
    await this.importer.dispose();
    await this.standardEngine.dispose();
    await this.tieredEngine?.dispose();
    this.catalog.dispose();
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('StrataService');
  }
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

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new RequestError('INVALID_ARGUMENT', `${name} must be a non-empty string`);
  return value;
}

function requireIds(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw new RequestError('INVALID_ARGUMENT', 'documentIds must be an array of strings');
  return value;
}

