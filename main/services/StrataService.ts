// The implementation of the contract in preload/api.ts. Hosts (Electron IPC, the browser host's
// WebSocket, the CLI) are thin callers of this class; it owns the catalog, the engine and the one
// open model, and reports progress through the event sink it is given.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type {
  AppInfo,
  ConversationInfo,
  DocumentInfo,
  EngineKind,
  EngineSettings,
  MemorySnapshot,
  HostKind,
  MessageInfo,
  ModelInfo,
  StrataApi,
  StrataEvents,
} from '../../preload/api.ts';
import { ANSWER_SETTINGS } from '../../preload/api.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { DocumentError } from '../engine/documents/DocumentError.ts';
import { DEFAULT_MAX_DOCUMENT_BYTES, extractText } from '../engine/documents/extractText.ts';
import type { Engine, EngineConversation, EngineModel } from '../engine/Engine.ts';
import { DisposedError, RequestError, errorPayload } from '../engine/errors.ts';
import { inspectModel } from '../engine/inspectModel.ts';
import { defaultModelSearchDirs, findLocalModels, type ModelSearchDir } from './models/findLocalModels.ts';
import { hfEndpoint } from './models/hubClient.ts';
import { ModelLibrary } from './models/ModelLibrary.ts';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { DEFAULT_SETTINGS, mergeSettings } from '../engine/settings/engineSettings.ts';
import { StandardEngine } from '../engine/standard/StandardEngine.ts';
import { TieredEngine, tieredEngineUnavailableReason, type TieredEngineOptions } from '../engine/tiered/TieredEngine.ts';

const SETTINGS_KEY = 'engineSettings';

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

interface OpenModel {
  info: ModelInfo;
  model: EngineModel;
}

/** Errors after which the standard engine serves the model instead of the tiered one. */
const FALLBACK_CODES = new Set(['TIERED_UNAVAILABLE', 'TIERED_UNSUPPORTED']);
const TIER_SAMPLE_INTERVAL_MS = 100;
const MEMORY_PUSH_MS = 200;

export class StrataService implements StrataApi {
  readonly catalog: Catalog;
  private readonly options: StrataServiceOptions;
  private readonly standardEngine: Engine;
  private readonly tieredEngine: Engine | null;
  private lastTierSampleAt = 0;
  private readonly emit: EventSink;
  private openModel: OpenModel | null = null;
  private opening: Promise<ModelInfo> | null = null;
  private readonly conversations = new Map<string, EngineConversation>();
  private readonly asks = new Map<string, { controller: AbortController; conversationId: string }>();
  /** The conversation each running or queued answer belongs to: one at a time per conversation. */
  private readonly answering = new Map<string, string>();
  /** Answers run one at a time (they share the model); a queued one waits here and can be cancelled. */
  private askQueue: Promise<void> = Promise.resolve();
  private readonly imports = new Map<string, AbortController>();
  /** Settings being tried by a reopen; stored only once the model opened with them. */
  private pendingSettings: EngineSettings | null = null;
  /** The start-up sweep of the KV tiers; answers wait for it. */
  private readonly ready: Promise<void>;
  private tokenCounting: Promise<void> = Promise.resolve();
  private disposed = false;
  private readonly library: ModelLibrary;

  constructor(options: StrataServiceOptions) {
    this.options = options;
    this.catalog = new Catalog(join(options.dataDir, 'catalog.sqlite'));
    this.standardEngine = options.engine ?? new StandardEngine({ kvCacheType: () => this.currentSettings().kvCacheType });
    this.tieredEngine =
      options.tieredEngine !== undefined
        ? options.tieredEngine
        : new TieredEngine({
            dataDir: options.dataDir,
            catalog: this.catalog,
            settings: () => this.currentSettings(),
            onSample: () => this.emitTierChange(),
            diskWriteAndSync: options.diskWriteAndSync,
          });
    this.emit = options.emit ?? (() => undefined);
    // A question left without an answer was being answered when the last process died.
    this.catalog.closeInterruptedAnswers({ code: 'ENGINE_STOPPED', message: 'The engine stopped while answering this question; ask it again.' });
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
      return this.importBytes(requestId, basename(fileName), () => Promise.resolve(req.bytes));
    },
    importPath: async (req) => {
      const requestId = requireString(req?.requestId, 'requestId');
      const path = requireString(req?.path, 'path');
      return this.importBytes(requestId, basename(path), async () => {
        const info = await stat(path).catch(() => null);
        if (info?.isDirectory()) throw new RequestError('NOT_A_FILE', `${path} is a folder, not a document. Add the files inside it.`);
        if (!info?.isFile()) throw new RequestError('NOT_FOUND', `File not found: ${path}`);
        const limit = this.options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
        if (info.size > limit) throw new DocumentError('TOO_LARGE', `${basename(path)} is ${info.size} bytes; Strata imports documents up to ${limit} bytes.`);
        return readFile(path);
      });
    },
    cancelImport: async (req) => {
      this.imports.get(requireString(req?.requestId, 'requestId'))?.abort();
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
      const stored = this.catalog.getSetting<Partial<EngineSettings>>(SETTINGS_KEY) ?? {};
      const next = mergeSettings(mergeSettings(DEFAULT_SETTINGS, stored), patch);
      const open = this.openModel;
      // Answer length, temperature and instructions are read by each ask: nothing to reopen, nothing to stop.
      const answerOnly = Object.keys(patch).every((key) => ANSWER_SETTINGS.includes(key as keyof EngineSettings));
      if (!open || answerOnly) {
        this.catalog.setSetting(SETTINGS_KEY, next);
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
      this.pendingSettings = next;
      try {
        await this.closeModel();
        await this.openModelAt(open.info.path);
      } catch (error) {
        this.pendingSettings = null;
        await this.closeModel();
        await this.openModelAt(open.info.path).catch(() => undefined);
        throw error;
      }
      this.pendingSettings = null;
      this.catalog.setSetting(SETTINGS_KEY, next);
      return this.currentSettings();
    },
  };

  /** Stops every running and queued answer; returns how many. */
  private cancelAllAsks(): number {
    for (const ask of this.asks.values()) ask.controller.abort();
    return this.asks.size;
  }

  /** Stored settings over the defaults; a stored value that no longer validates falls back to the defaults. */
  private currentSettings(): EngineSettings {
    const stored = this.catalog.getSetting<Partial<EngineSettings>>(SETTINGS_KEY) ?? {};
    let settings: EngineSettings;
    try {
      settings = this.pendingSettings ?? mergeSettings(DEFAULT_SETTINGS, stored);
    } catch {
      settings = { ...DEFAULT_SETTINGS };
    }
    return this.options.settingsOverride ? mergeSettings(settings, this.options.settingsOverride) : settings;
  }

  /** A tier changed: the memory dashboard hears of it, at most every TIER_SAMPLE_INTERVAL_MS. */
  private emitTierChange(): void {
    const now = performance.now();
    if (now - this.lastTierSampleAt < TIER_SAMPLE_INTERVAL_MS) return;
    this.lastTierSampleAt = now;
    this.pushMemory();
  }

  private pushMemory(): void {
    void this.memorySnapshot().then((snapshot) => this.emit('engine.onMemory', snapshot), () => undefined);
  }

  readonly engine: StrataApi['engine'] = {
    memory: async () => this.memorySnapshot(),
    residency: async (req) => {
      const conversationId = requireString(req?.conversationId, 'conversationId');
      const chunks = this.conversations.get(conversationId)?.residency?.() ?? null;
      return chunks ? { conversationId, chunks } : null;
    },
  };

  private async memorySnapshot(): Promise<MemorySnapshot> {
    const open = this.openModel;
    const base = open?.model.memory ? await open.model.memory() : null;
    return {
      at: Date.now(),
      engine: open?.info.engine ?? null,
      ...(base ?? {
        tiers: { gpu: { bytes: 0, budgetBytes: null }, cpu: { bytes: 0, budgetBytes: null }, disk: { bytes: 0, budgetBytes: null } },
        gpuResidentTokens: 0,
        gpuBudgetTokens: 0,
        vram: null,
        hits: { gpu: 0, cpu: 0, disk: 0 },
        loadedBytes: { cpu: 0, disk: 0 },
      }),
    };
  }

  /** While any question runs, the memory dashboard gets a snapshot every MEMORY_PUSH_MS. */
  private startMemoryPush(): () => void {
    this.pushMemory();
    const timer = setInterval(() => this.pushMemory(), MEMORY_PUSH_MS);
    return () => {
      clearInterval(timer);
      this.pushMemory();
    };
  }

  private emitResidency(conversationId: string): void {
    const chunks = this.conversations.get(conversationId)?.residency?.() ?? null;
    if (chunks) this.emit('engine.onResidency', { conversationId, chunks });
  }

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
    if (!last || this.openModel || this.opening) return null;
    if (!(await stat(last.path).catch(() => null))?.isFile()) return null;
    return this.openModelAt(last.path).catch(() => null);
  }

  private async openModelAt(path: string): Promise<ModelInfo> {
    this.assertAlive();
    // One model at a time: a second open waits for the first so they never load side by side.
    while (this.opening) await this.opening.catch(() => undefined);
    const opening = this.loadModel(path);
    this.opening = opening;
    try {
      return await opening;
    } finally {
      this.opening = null;
    }
  }

  private async loadModel(path: string): Promise<ModelInfo> {
    if (this.openModel?.info.path === path) return this.openModel.info;
    this.emit('models.onStatus', { state: 'loading', path });
    try {
      // Validate first: a corrupt or wrong file must not cost the user the model they have open.
      await inspectModel(path);
      if (this.openModel) {
        await this.closeModel();
        this.emit('models.onStatus', { state: 'loading', path });
      }
      const { model, engine, notice } = await this.openWithPreferredEngine(path);
      const info: ModelInfo = { ...this.catalog.upsertModel({ ...model.info, path }), engine, engineNotice: notice };
      this.openModel = { info, model };
      this.countMissingTokens(info.id);
      this.emit('models.onStatus', { state: 'ready', path, model: info });
      return info;
    } catch (error) {
      this.emit('models.onStatus', { state: 'failed', path, error: errorPayload(error) });
      throw error;
    }
  }

  /**
   * The engine chosen in settings, or the standard engine when the tiered one cannot run here or cannot
   * split this model; the notice says so to the user.
   */
  private async openWithPreferredEngine(path: string): Promise<{ model: EngineModel; engine: EngineKind; notice: string | null }> {
    const settings = this.currentSettings();
    if (settings.engine === 'tiered' && this.tieredEngine) {
      try {
        return { model: await this.tieredEngine.openModel(path), engine: 'tiered', notice: null };
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !FALLBACK_CODES.has(code)) throw error;
        const notice = `${(error as Error).message} Using the standard engine (full KV cache): long documents need more memory and may not fit.`;
        return { model: await this.standardEngine.openModel(path), engine: 'standard', notice };
      }
    }
    return { model: await this.standardEngine.openModel(path), engine: 'standard', notice: null };
  }

  private async closeModel(): Promise<void> {
    const open = this.openModel;
    this.openModel = null;
    for (const conversation of this.conversations.values()) await conversation.dispose();
    this.conversations.clear();
    await open?.model.dispose();
    // The header must never show a model that is not open.
    if (open && !this.disposed) this.emit('models.onStatus', { state: 'closed', path: open.info.path });
  }

  /**
   * Token counts depend on the tokenizer: the open model's cached counts are shown at once and the
   * missing ones are made in the background, one document at a time, off the main thread where the
   * engine can (countTokens is async), each saved as it is done. A count that fails stays unknown.
   */
  private countMissingTokens(modelId: string): void {
    const missing = this.catalog.useTokenCountsOf(modelId);
    this.emit('documents.onChanged', { reason: 'tokenCounts' });
    this.tokenCounting = this.tokenCounting.then(async () => {
      for (const id of missing) {
        const open = this.openModel;
        if (this.disposed || open?.info.id !== modelId) return;
        const doc = this.catalog.getDocument(id);
        if (!doc) continue;
        try {
          this.catalog.setDocumentTokenCount(id, await open.model.countTokens(this.catalog.getDocumentText(id)), modelId);
          this.emit('documents.onChanged', { reason: 'tokenCounts' });
        } catch {
          // Unknown until the next open; never a failed model open.
        }
      }
    });
  }

  private async importBytes(requestId: string, fileName: string, read: () => Promise<Uint8Array>): Promise<DocumentInfo> {
    this.assertAlive();
    if (this.imports.has(requestId)) throw new RequestError('DUPLICATE_REQUEST', `An import with request id ${requestId} is already running.`);
    const controller = new AbortController();
    this.imports.set(requestId, controller);
    const progress = (phase: StrataEvents['documents.onImportProgress']['phase'], fraction: number) =>
      this.emit('documents.onImportProgress', { requestId, fileName, phase, fraction });
    try {
      progress('reading', 0);
      const bytes = await read();
      const limit = this.options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const existing = this.catalog.findDocumentByHash(sha256);
      if (existing) {
        progress('done', 1);
        // The same bytes again: the document already there, said so rather than silently.
        const same = existing.fileName === fileName ? `${fileName} is already in the library.` : `${fileName} has the same contents as ${existing.fileName}, already in the library; it was not added again.`;
        this.emit('app.onNotice', { message: same, tone: 'info' });
        return existing;
      }
      progress('extracting', 0.1);
      const { kind, text, notes } = await extractText({
        fileName,
        bytes,
        signal: controller.signal,
        maxBytes: limit,
        onProgress: (fraction) => progress('extracting', 0.1 + 0.7 * fraction),
      });
      if (controller.signal.aborted) throw new DocumentError('CANCELLED', `Import of ${fileName} was cancelled.`);
      progress('saving', 0.9);
      const doc = this.catalog.addDocument({ sha256, fileName, kind, sizeBytes: bytes.byteLength, text, tokenCount: null, tokenCountModelId: null });
      progress('done', 1);
      for (const message of notes) this.emit('app.onNotice', { message, tone: 'info' });
      // Counted in the background for the open model, like the rest of the library.
      if (this.openModel) this.countMissingTokens(this.openModel.info.id);
      return doc;
    } catch (error) {
      this.emit('documents.onImportProgress', { requestId, fileName, phase: 'failed', fraction: 1, error: errorPayload(error) });
      throw error;
    } finally {
      this.imports.delete(requestId);
    }
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
      open = await this.requireModel();
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
      open = await this.requireModel();
      const askedAt = performance.now();
      stopMemoryPush = this.startMemoryPush();
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
        onResidencyChange: () => this.emitResidency(conversationId),
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
      this.emitResidency(conversationId);
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

  private async requireModel(): Promise<OpenModel> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.openModel) return this.openModel;
    throw new RequestError('NO_MODEL', 'Open a GGUF model first (Open model… or type its path).');
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
    for (const controller of [...[...this.asks.values()].map((a) => a.controller), ...this.imports.values()]) controller.abort();
    await this.closeModel();
    await this.tokenCounting.catch(() => undefined);
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

