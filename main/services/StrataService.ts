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
import { Catalog } from '../catalog/Catalog.ts';
import { DocumentError } from '../engine/documents/DocumentError.ts';
import { DEFAULT_MAX_DOCUMENT_BYTES, extractText } from '../engine/documents/extractText.ts';
import type { Engine, EngineConversation, EngineModel } from '../engine/Engine.ts';
import { DisposedError, RequestError, errorPayload } from '../engine/errors.ts';
import { inspectModel } from '../engine/inspectModel.ts';
import { DEFAULT_SETTINGS, mergeSettings } from '../engine/settings/engineSettings.ts';
import { StandardEngine } from '../engine/standard/StandardEngine.ts';
import { TieredEngine, tieredEngineUnavailableReason } from '../engine/tiered/TieredEngine.ts';

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
  private readonly asks = new Map<string, AbortController>();
  private readonly imports = new Map<string, AbortController>();
  private disposed = false;

  constructor(options: StrataServiceOptions) {
    this.options = options;
    this.catalog = new Catalog(join(options.dataDir, 'catalog.sqlite'));
    this.standardEngine = options.engine ?? new StandardEngine();
    this.tieredEngine =
      options.tieredEngine !== undefined
        ? options.tieredEngine
        : new TieredEngine({
            dataDir: options.dataDir,
            catalog: this.catalog,
            settings: () => this.currentSettings(),
            onSample: () => this.emitTierChange(),
          });
    this.emit = options.emit ?? (() => undefined);
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
    current: async () => this.openModel?.info ?? null,
    open: async (req) => this.openModelAt(requireString(req?.path, 'path')),
    forget: async (req) => {
      const id = requireString(req?.id, 'id');
      if (this.openModel?.info.id === id) await this.closeModel();
      this.catalog.forgetModel(id);
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
      this.catalog.removeDocument(requireString(req?.id, 'id'));
    },
  };

  readonly settings: StrataApi['settings'] = {
    get: async () => this.currentSettings(),
    update: async (patch) => {
      const stored = this.catalog.getSetting<Partial<EngineSettings>>(SETTINGS_KEY) ?? {};
      const next = mergeSettings(mergeSettings(DEFAULT_SETTINGS, stored), patch);
      this.catalog.setSetting(SETTINGS_KEY, next);
      // Budgets and layers are fixed when a model opens: reopen it so the change takes effect now.
      const open = this.openModel;
      if (open) {
        await this.closeModel();
        await this.openModelAt(open.info.path);
      }
      return this.currentSettings();
    },
  };

  /** Stored settings over the defaults; a stored value that no longer validates falls back to the defaults. */
  private currentSettings(): EngineSettings {
    const stored = this.catalog.getSetting<Partial<EngineSettings>>(SETTINGS_KEY) ?? {};
    let settings: EngineSettings;
    try {
      settings = mergeSettings(DEFAULT_SETTINGS, stored);
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
      await this.conversations.get(id)?.dispose();
      this.conversations.delete(id);
      this.catalog.deleteConversation(id);
    },
    messages: async (req) => this.catalog.listMessages(requireString(req?.conversationId, 'conversationId')),
    ask: async (req) => this.ask(req),
    regenerate: async (req) => {
      const conversationId = requireString(req?.conversationId, 'conversationId');
      const messages = this.catalog.listMessages(conversationId);
      const lastQuestion = messages.findLastIndex((m) => m.role === 'user');
      if (lastQuestion < 0) throw new RequestError('NOTHING_TO_REGENERATE', 'This conversation has no answer to regenerate yet.');
      const question = messages[lastQuestion].text;
      if (this.asks.size > 0) throw new RequestError('BUSY', 'Wait for the current answer to finish (or stop it) before regenerating.');
      this.catalog.deleteMessages(messages.slice(lastQuestion).map((m) => m.id));
      return this.ask({ requestId: req.requestId, conversationId, question, maxTokens: req.maxTokens });
    },
    cancel: async (req) => {
      this.asks.get(requireString(req?.requestId, 'requestId'))?.abort();
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
      await this.closeModel();
      const { model, engine, notice } = await this.openWithPreferredEngine(path);
      const info: ModelInfo = { ...this.catalog.upsertModel({ ...model.info, path }), engine, engineNotice: notice };
      this.openModel = { info, model };
      this.countMissingTokens();
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
  }

  /** Token counts depend on the tokenizer, so they are (re)made for whichever model is open. */
  private countMissingTokens(): void {
    const open = this.openModel;
    if (!open) return;
    for (const doc of this.catalog.documentsNeedingTokenCount(open.info.id)) {
      this.catalog.setDocumentTokenCount(doc.id, open.model.countTokens(doc.text), open.info.id);
    }
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
        return existing;
      }
      progress('extracting', 0.1);
      const { kind, text } = await extractText({
        fileName,
        bytes,
        signal: controller.signal,
        maxBytes: limit,
        onProgress: (fraction) => progress('extracting', 0.1 + 0.7 * fraction),
      });
      if (controller.signal.aborted) throw new DocumentError('CANCELLED', `Import of ${fileName} was cancelled.`);
      progress('counting', 0.8);
      const open = this.openModel;
      const tokenCount = open ? open.model.countTokens(text) : null;
      progress('saving', 0.9);
      const doc = this.catalog.addDocument({ sha256, fileName, kind, sizeBytes: bytes.byteLength, text, tokenCount, tokenCountModelId: open?.info.id ?? null });
      progress('done', 1);
      return doc;
    } catch (error) {
      this.emit('documents.onImportProgress', { requestId, fileName, phase: 'failed', fraction: 1, error: errorPayload(error) });
      throw error;
    } finally {
      this.imports.delete(requestId);
    }
  }

  private async ask(req: Parameters<StrataApi['chat']['ask']>[0]): Promise<MessageInfo> {
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
    const open = await this.requireModel();

    const history = this.catalog.listMessages(conversationId);
    const userMessage = this.catalog.addMessage({ conversationId, role: 'user', text: question, status: 'complete' });
    this.emit('chat.onAskStarted', { requestId, conversationId, userMessage });
    const controller = new AbortController();
    this.asks.set(requestId, controller);
    let streamed = '';
    const askedAt = performance.now();
    const stopMemoryPush = this.startMemoryPush();
    try {
      const engineConversation = this.engineConversation(conversationId, open.model);
      engineConversation.setDocuments(conversation.documentIds.map((id) => ({ id, text: this.catalog.getDocumentText(id) })));
      engineConversation.setHistory(completedTurns(history));
      const result = await engineConversation.ask(question, {
        maxTokens: req.maxTokens,
        signal: controller.signal,
        onIngestProgress: (tokensDone, tokenCount) => this.emit('chat.onIngestProgress', { requestId, conversationId, tokensDone, tokenCount }),
        onResidencyChange: () => this.emitResidency(conversationId),
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
      stopMemoryPush();
      this.emitResidency(conversationId);
    }
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
      conversation = model.createConversation();
      this.conversations.set(conversationId, conversation);
    }
    return conversation;
  }

  private defaultTitle(documentIds: string[]): string {
    const first = documentIds.length > 0 ? this.catalog.getDocument(documentIds[0]) : null;
    return first ? first.fileName : 'New conversation';
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const controller of [...this.asks.values(), ...this.imports.values()]) controller.abort();
    await this.closeModel();
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

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new RequestError('INVALID_ARGUMENT', `${name} must be a non-empty string`);
  return value;
}

function requireIds(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) throw new RequestError('INVALID_ARGUMENT', 'documentIds must be an array of strings');
  return value;
}

