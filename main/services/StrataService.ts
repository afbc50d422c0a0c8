// The implementation of the contract in preload/api.ts, run in the engine process (or in a CLI
// command's own process). It validates requests and composes the pieces: ModelHost (the one open
// model, fallback), DocumentImporter (imports, token counts), DocumentPreparer (documents' KV read ahead
// of questions, and its state), ChatRunner (the answers and their queue),
// SettingsStore (transactional settings), Telemetry (memory and residency pushes), ModelLibrary (the
// Models panel). Owns the catalog and the engines.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AppInfo, EngineSettings, HostKind, ModelInfo, StrataApi, StrataEvents } from '../../preload/api.ts';
import { ANSWER_SETTINGS } from '../../preload/api.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { DocumentError } from '../engine/documents/DocumentError.ts';
import type { Engine } from '../engine/Engine.ts';
import { DisposedError, RequestError } from '../engine/errors.ts';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { StandardEngine } from '../engine/standard/StandardEngine.ts';
import { TieredEngine, tieredEngineUnavailableReason, type TieredEngineOptions } from '../engine/tiered/TieredEngine.ts';
import { ChatRunner, evictionNotice } from './ChatRunner.ts';
import { DocumentImporter } from './DocumentImporter.ts';
import { DocumentPreparer } from './DocumentPreparer.ts';
import { ModelHost, type OpenModel } from './ModelHost.ts';
import { defaultModelSearchDirs, findLocalModels, type ModelSearchDir } from './models/findLocalModels.ts';
import { hfEndpoint } from './models/hubClient.ts';
import { LIBRARY_METHOD_NAMES, ModelLibrary } from './models/ModelLibrary.ts';
import { requireIds, requireString } from './requireArgs.ts';
import { SettingsStore } from './SettingsStore.ts';
import { Telemetry } from './Telemetry.ts';

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
  diskWriteBlob?: TieredEngineOptions['diskWriteBlob'];
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
  private readonly chats: ChatRunner;
  private readonly settingsStore: SettingsStore;
  private readonly telemetry: Telemetry;
  private readonly importer: DocumentImporter;
  private readonly preparer: DocumentPreparer;
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
      conversation: (id) => this.chats.conversation(id),
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
            diskWriteBlob: options.diskWriteBlob,
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
        // A Prepare reading on this model stops first (it resumes where it stopped next time).
        await this.preparer.stopAll();
        await this.chats.releaseConversations();
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
    this.chats = new ChatRunner({
      catalog: this.catalog,
      emit: this.emit,
      telemetry: this.telemetry,
      settings: () => this.currentSettings(),
      requireModel: () => this.host.require(),
      ready: this.ready,
    });
    this.preparer = new DocumentPreparer({
      catalog: this.catalog,
      emit: this.emit,
      settings: () => this.currentSettings(),
      openModel: () => this.openModel,
      requireModel: () => this.host.require(),
      ready: this.ready,
      evictionNotice: (documentIds, bytes) => evictionNotice(this.catalog, documentIds, bytes),
    });
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
      // An answer or a Prepare reading this document stops first (cleanly, at its next block), then its KV goes.
      const readers = new Set(this.catalog.listConversations().filter((c) => c.documentIds.includes(id)).map((c) => c.id));
      this.chats.stop(readers);
      const removal = await this.preparer.beginRemoval(id);
      try {
        await this.tieredEngine?.forgetDocument?.(id);
        this.catalog.removeDocument(id);
      } finally {
        removal.end();
      }
      this.emit('documents.onChanged', { reason: 'removed' });
      void this.catalog.reclaimSpace().catch(() => undefined);
    },
    kvState: async () => this.preparer.kvState(),
    prepare: async (req) => {
      const id = requireString(req?.id, 'id');
      this.assertAlive();
      return { tokensEvaluated: await this.preparer.prepare(id) };
    },
    cancelPrepare: async (req) => {
      this.preparer.cancel(requireString(req?.id, 'id'));
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
      const prepares = await this.preparer.stopAll();
      if (prepares > 0) {
        this.emit('app.onNotice', { message: `Stopped preparing ${prepares === 1 ? 'a document' : `${prepares} documents`} to apply the new engine settings; Prepare again to go on.`, tone: 'info' });
      }
      await this.chats.idle();
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
    return this.chats.stop();
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
      await this.chats.forgetConversation(id);
      this.catalog.deleteConversation(id);
      await this.tieredEngine?.forgetConversation?.(id);
      void this.catalog.reclaimSpace().catch(() => undefined);
    },
    messages: async (req) => this.catalog.listMessages(requireString(req?.conversationId, 'conversationId')),
    ask: async (req) => {
      this.assertAlive();
      return this.chats.ask(req);
    },
    regenerate: async (req) => {
      const conversationId = requireString(req?.conversationId, 'conversationId');
      const messages = this.catalog.listMessages(conversationId);
      const lastQuestion = messages.findLastIndex((m) => m.role === 'user');
      if (lastQuestion < 0) throw new RequestError('NOTHING_TO_REGENERATE', 'This conversation has no answer to regenerate yet.');
      const question = messages[lastQuestion].text;
      // Nothing is removed until the new answer can start (ask checks the model and the conversation first).
      this.assertAlive();
      return this.chats.ask({ requestId: req.requestId, conversationId, question, maxTokens: req.maxTokens }, messages.slice(lastQuestion).map((m) => m.id));
    },
    cancel: async (req) => {
      this.chats.cancel(requireString(req?.requestId, 'requestId'));
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

  private defaultTitle(documentIds: string[]): string {
    const first = documentIds.length > 0 ? this.catalog.getDocument(documentIds[0]) : null;
    return first ? first.fileName : 'New conversation';
  }

  /** The Models panel's methods (ModelLibrary, made in the constructor: looked up at call time). */
  private libraryMethods(): ModelLibrary['methods'] {
    return Object.fromEntries(
      LIBRARY_METHOD_NAMES.map((name) => [
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
    this.chats.stop();
    await this.preparer.stopAll();
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
