// The one contract between the engine process and the UI. Electron main (ipcMain), the preload
// bridge, the browser host (WebSocket) and the renderer all derive their wiring from this file, so a
// method added here and forgotten elsewhere fails to compile.

import type { AskMetrics, ChunkResidency, EngineKind, EngineSettings, ErrorPayload, KvCacheType, KvReuse, MemorySnapshot, TieredAskMetrics, TierName } from '../main/engine/engineTypes.ts';
import type { ErrorCode } from '../main/engine/errorCodes.ts';

// Defined beside the engine (it speaks in them), part of the contract all the same.
export type { AskMetrics, ChunkResidency, EngineKind, EngineSettings, ErrorPayload, KvCacheType, KvReuse, MemorySnapshot, TieredAskMetrics, TierName, ErrorCode };

export type HostKind = 'electron' | 'browser';

export interface AppInfo {
  host: HostKind;
  version: string;
  dataDir: string;
  /** Engines this build can run; the tiered one appears once its addon loads. */
  engines: EngineKind[];
  /** Why the tiered engine cannot run here (null when it can). */
  tieredUnavailableReason: string | null;
}


export interface ResidencySnapshot {
  conversationId: string;
  chunks: ChunkResidency[];
}

export interface ModelInfo {
  id: string;
  path: string;
  name: string;
  sizeBytes: number;
  architecture: string;
  hasChatTemplate: boolean;
  trainContextTokens: number;
  lastOpenedAt: number;
  /** The engine serving the open model (absent for models that are only remembered). */
  engine?: EngineKind;
  /** Why the open model runs on another engine than the one chosen in settings, for the user. */
  engineNotice?: string | null;
}

export type DocumentKind = 'txt' | 'md' | 'pdf' | 'docx' | 'html';

export interface DocumentInfo {
  id: string;
  fileName: string;
  kind: DocumentKind;
  sizeBytes: number;
  charCount: number;
  /** Tokens under the model named by tokenCountModelId; null until a model has counted it. */
  tokenCount: number | null;
  tokenCountModelId: string | null;
  sha256: string;
  importedAt: number;
}

/** One document's stored KV for the open model as it is configured now (the tiered engine). */
export interface DocumentKvInfo {
  documentId: string;
  /** 'complete': read; 'running' or 'failed' without `preparing`: a read that stopped part-way (it resumes there). */
  state: 'running' | 'complete' | 'failed';
  tokenCount: number;
  tokensDone: number;
  /** Bytes of its KV on disk. */
  bytes: number;
  /** The fastest tier holding any of its chunks now. */
  tier: TierName;
  /** A Prepare (documents.prepare) is reading it now, from this window or another. */
  preparing: boolean;
}

/** documents.kvState: what the Documents tab shows of each document's KV for the open model. */
export interface DocumentKvReport {
  /** The engine serving the open model; null when no model is open. */
  engine: EngineKind | null;
  /** Why documents' KV is not tracked and Prepare is unavailable (no model open, the standard engine); null when it is. */
  unavailableReason: string | null;
  /** How documents' KV is reused (the kvReuse setting). */
  kvReuse: KvReuse;
  /** Documents never read for this model (and not being prepared) have no entry. */
  documents: DocumentKvInfo[];
}

export interface ConversationInfo {
  id: string;
  title: string;
  documentIds: string[];
  createdAt: number;
  updatedAt: number;
}


export type MessageRole = 'user' | 'assistant';
export type MessageStatus = 'complete' | 'stopped' | 'error';

export interface MessageInfo {
  id: string;
  conversationId: string;
  role: MessageRole;
  text: string;
  status: MessageStatus;
  createdAt: number;
  metrics: AskMetrics | null;
  error: ErrorPayload | null;
}


/** Settings of the answer, not of the model: changed without reopening it or stopping answers. */
export const ANSWER_SETTINGS: ReadonlyArray<keyof EngineSettings> = ['answerMaxTokens', 'temperature', 'systemPrompt'];

export interface EngineService {
  memory(): Promise<MemorySnapshot>;
  /** The residency map of a conversation's documents; null before its documents were read into the tiers (or on the standard engine). */
  residency(req: { conversationId: string }): Promise<ResidencySnapshot | null>;
}

export interface SettingsService {
  get(): Promise<EngineSettings>;
  update(patch: Partial<EngineSettings>): Promise<EngineSettings>;
}

export interface AppService {
  info(): Promise<AppInfo>;
}

export type LocalModelSource = 'strata' | 'lm-studio' | 'huggingface';

/** A GGUF found on this machine (Strata's models folder, LM Studio's, the Hugging Face cache). */
export interface LocalModelFile {
  path: string;
  fileName: string;
  sizeBytes: number;
  source: LocalModelSource;
  modifiedAt: number;
}

/** A model of the curated catalog (the Models panel), or one found by a Hub search. */
export interface CatalogModel {
  /** hf:OWNER/REPO/FILE.gguf: the download's identity. */
  uri: string;
  name: string;
  sizeBytes: number;
  quantization: string;
  trainContextTokens: number;
  architecture: string;
  license: string;
  /** The engine the model will run on: 'standard' where the tiered engine cannot splice it (sliding window). */
  engine: EngineKind;
  /** Where the checked file is in Strata's models folder; null until downloaded. */
  localPath: string | null;
  /** A running or unfinished download of it. */
  download: DownloadInfo | null;
}

export type ModelFitVerdict = 'fits' | 'partial' | 'cpu' | 'too-large' | 'unknown';

/** Computed with node-llama-cpp's GgufInsights for this machine and the current engine settings. */
export interface ModelFit {
  uri: string;
  verdict: ModelFitVerdict;
  /** One sentence for the user, with the numbers. */
  summary: string;
  /** The GPU tier the estimate assumed (the GPU budget setting, or 4,096 when automatic). */
  contextTokens: number;
  gpuLayers: number;
  totalLayers: number;
  vramBytes: number;
  ramBytes: number;
}

export type DownloadState = 'downloading' | 'verifying' | 'paused' | 'done' | 'failed' | 'discarded';

export interface DownloadInfo {
  uri: string;
  fileName: string;
  state: DownloadState;
  downloadedBytes: number;
  /** 0 until the server said the size. */
  totalBytes: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
  /** The checked file, once done. */
  path: string | null;
  error: ErrorPayload | null;
}

/** A GGUF file of a Hub repository. */
export interface HubModelFile {
  uri: string;
  fileName: string;
  sizeBytes: number;
}

export interface ModelsService {
  listRecent(): Promise<ModelInfo[]>;
  /** The curated catalog, with what is downloaded or downloading. */
  catalog(): Promise<CatalogModel[]>;
  /** Whether a catalog model (or a file on disk, by path) fits this machine at the current settings; may read its header from the Hub. */
  fit(req: { uri: string }): Promise<ModelFit>;
  /** The catalog model to offer a new user: the best that fits this machine (null when none could be checked). */
  recommended(): Promise<{ model: CatalogModel; fit: ModelFit } | null>;
  /** GGUF repositories on the Hub whose name matches. */
  searchHub(req: { query: string }): Promise<Array<{ repo: string; downloads: number; likes: number }>>;
  /** The GGUF files of one Hub repository (OWNER/REPO). */
  repoFiles(req: { repo: string }): Promise<HubModelFile[]>;
  downloads(): Promise<DownloadInfo[]>;
  /** Downloads (or resumes) into Strata's models folder; resolves when it ends, with models.onDownload on the way. */
  download(req: { uri: string }): Promise<DownloadInfo>;
  /** Pauses a download: what arrived stays, and download resumes from there (also after a restart). */
  cancelDownload(req: { uri: string }): Promise<void>;
  discardDownload(req: { uri: string }): Promise<void>;
  /** Deletes a model file from Strata's models folder (never from LM Studio's or the Hugging Face cache). */
  deleteFile(req: { path: string }): Promise<void>;
  /** GGUF files already on disk, newest first; opening one never moves or changes it. */
  listLocal(): Promise<LocalModelFile[]>;
  current(): Promise<ModelInfo | null>;
  open(req: { path: string }): Promise<ModelInfo>;
  forget(req: { id: string }): Promise<void>;
  /** Native file dialog; the browser host has none and resolves null. */
  pickFile(): Promise<string | null>;
}

export interface DocumentsService {
  list(): Promise<DocumentInfo[]>;
  /** Bytes travel so drag-and-drop works the same in Electron and the browser host. */
  import(req: { requestId: string; fileName: string; bytes: Uint8Array }): Promise<DocumentInfo>;
  importPath(req: { requestId: string; path: string }): Promise<DocumentInfo>;
  cancelImport(req: { requestId: string }): Promise<void>;
  /** Native multi-file dialog; the browser host resolves []. */
  pickFiles(): Promise<string[]>;
  getText(req: { id: string }): Promise<{ text: string }>;
  /** Stops the answers reading it and any Prepare of it, then removes it with the KV read from it. */
  remove(req: { id: string }): Promise<void>;
  /** Each document's KV for the open model (documents.onChanged 'kv' says when to ask again). */
  kvState(): Promise<DocumentKvReport>;
  /**
   * Reads a document's KV for the open model ahead of any question (the tiered engine; on the model's
   * queue, after the answers before it). Resolves with the tokens evaluated: 0 when it was read before.
   * Progress comes as documents.onKvProgress; a second call for the same document joins the first.
   */
  prepare(req: { id: string }): Promise<{ tokensEvaluated: number }>;
  /** Stops a Prepare of this document (by document id: any window may stop it); it fails with CANCELLED and resumes where it stopped next time. */
  cancelPrepare(req: { id: string }): Promise<void>;
}

export interface ChatService {
  listConversations(): Promise<ConversationInfo[]>;
  createConversation(req: { title?: string; documentIds: string[] }): Promise<ConversationInfo>;
  setDocuments(req: { conversationId: string; documentIds: string[] }): Promise<ConversationInfo>;
  rename(req: { conversationId: string; title: string }): Promise<ConversationInfo>;
  deleteConversation(req: { conversationId: string }): Promise<void>;
  messages(req: { conversationId: string }): Promise<MessageInfo[]>;
  /**
   * Streams tokens as chat.onToken events with the same requestId and resolves with the finished
   * assistant message (status 'stopped' after chat.cancel).
   */
  ask(req: { requestId: string; conversationId: string; question: string; maxTokens?: number }): Promise<MessageInfo>;
  /** Replaces the last answer: removes it (and its question) and asks that question again, streaming like ask. */
  regenerate(req: { requestId: string; conversationId: string; maxTokens?: number }): Promise<MessageInfo>;
  cancel(req: { requestId: string }): Promise<void>;
}

export interface StrataApi {
  app: AppService;
  models: ModelsService;
  documents: DocumentsService;
  chat: ChatService;
  settings: SettingsService;
  engine: EngineService;
}

export type ImportPhase = 'reading' | 'extracting' | 'counting' | 'saving' | 'done' | 'failed';

export interface StrataEvents {
  /** elapsedMs: since the question was asked, for the per-token latency timeline. */
  'chat.onToken': { requestId: string; conversationId: string; text: string; elapsedMs: number };
  'chat.onAskStarted': { requestId: string; conversationId: string; userMessage: MessageInfo };
  /** The saved answer, so every window (and a page reloaded mid-answer) learns that it ended. */
  'chat.onAskFinished': { requestId: string; conversationId: string; message: MessageInfo };
  'documents.onImportProgress': {
    requestId: string;
    fileName: string;
    phase: ImportPhase;
    /** 0..1 within the whole import. */
    fraction: number;
    error?: ErrorPayload;
  };
  /** 'closed': no model is open any more (a settings change reopening it, a forgotten model). */
  'models.onStatus': { state: 'loading' | 'ready' | 'failed' | 'closed'; path: string; error?: ErrorPayload; model?: ModelInfo };
  /** A model download's progress (at most 4 times a second) and its end. */
  'models.onDownload': DownloadInfo;
  /** Something the user should know that no request asked for (a cancelled answer, a dropped cache). */
  'app.onNotice': { message: string; tone: 'info' | 'error' };
  /**
   * Document rows changed without an import (token counts made for the open model, a removal), or
   * 'kv': documents' stored KV changed (a Prepare ended, an answer read documents or moved their chunks,
   * the disk budget dropped some): documents.kvState has news.
   */
  'documents.onChanged': { reason: 'tokenCounts' | 'removed' | 'kv' };
  /** A Prepare's progress (at most 4 times a second, and its last step). */
  'documents.onKvProgress': { documentId: string; tokensDone: number; tokenCount: number };
  'engine.onMemory': MemorySnapshot;
  'engine.onResidency': ResidencySnapshot;
  /** Reading the conversation's documents into the KV tiers before an answer (first question, or a resume). */
  'chat.onIngestProgress': { requestId: string; conversationId: string; tokensDone: number; tokenCount: number };
}

export type EventName = keyof StrataEvents;

// Compile-time lists: a method added to a service and not listed here breaks the build.
type MethodList<T> = Record<keyof T, true>;
export const apiMethods: { [S in keyof StrataApi]: MethodList<StrataApi[S]> } = {
  app: { info: true },
  models: {
    listRecent: true,
    catalog: true,
    fit: true,
    recommended: true,
    searchHub: true,
    repoFiles: true,
    downloads: true,
    download: true,
    cancelDownload: true,
    discardDownload: true,
    deleteFile: true,
    listLocal: true,
    current: true,
    open: true,
    forget: true,
    pickFile: true,
  },
  documents: {
    list: true,
    import: true,
    importPath: true,
    cancelImport: true,
    pickFiles: true,
    getText: true,
    remove: true,
    kvState: true,
    prepare: true,
    cancelPrepare: true,
  },
  chat: {
    listConversations: true,
    createConversation: true,
    setDocuments: true,
    rename: true,
    deleteConversation: true,
    messages: true,
    ask: true,
    regenerate: true,
    cancel: true,
  },
  settings: { get: true, update: true },
  engine: { memory: true, residency: true },
};

export const eventNames: Record<EventName, true> = {
  'chat.onToken': true,
  'chat.onAskStarted': true,
  'chat.onAskFinished': true,
  'documents.onImportProgress': true,
  'models.onStatus': true,
  'models.onDownload': true,
  'engine.onMemory': true,
  'engine.onResidency': true,
  'chat.onIngestProgress': true,
  'app.onNotice': true,
  'documents.onChanged': true,
  'documents.onKvProgress': true,
};

/** `service.method`, e.g. `chat.ask`. */
export type Channel = {
  [S in keyof StrataApi]: `${S & string}.${keyof StrataApi[S] & string}`;
}[keyof StrataApi];

export function listChannels(): Channel[] {
  const out: string[] = [];
  for (const [service, methods] of Object.entries(apiMethods)) {
    for (const method of Object.keys(methods)) out.push(`${service}.${method}`);
  }
  return out as Channel[];
}

/** What a host reply carries, so the error code survives the trip. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ErrorPayload };

export type Invoke = (channel: Channel, arg: unknown) => Promise<Envelope<unknown>>;

/**
 * What the preload bridge (or the browser host client) exposes on `window`. It moves envelopes, not
 * errors: contextBridge would strip an error's `code` on the way through.
 */
export interface StrataBridge {
  invoke: Invoke;
  on<E extends EventName>(event: E, listener: (payload: StrataEvents[E]) => void): () => void;
  host: HostKind;
  /** Electron gives dropped files a path (for .gguf models); the browser host returns ''. */
  getPathForFile(file: File): string;
}

/** An error rebuilt on the receiving side of a channel, keeping the sender's stable code. */
export class RemoteError extends Error {
  readonly code: ErrorCode;
  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = 'RemoteError';
    this.code = payload.code;
  }
}

/** One typed wrapper per contract method over any transport that moves envelopes. */
export function buildApi(invoke: Invoke): StrataApi {
  const api: Record<string, Record<string, (arg?: unknown) => Promise<unknown>>> = {};
  for (const [service, methods] of Object.entries(apiMethods)) {
    const wrappers: Record<string, (arg?: unknown) => Promise<unknown>> = {};
    for (const method of Object.keys(methods)) {
      const channel = `${service}.${method}` as Channel;
      wrappers[method] = async (arg?: unknown) => {
        const envelope = await invoke(channel, arg);
        if (!envelope.ok) throw new RemoteError(envelope.error);
        return envelope.value;
      };
    }
    api[service] = wrappers;
  }
  return api as unknown as StrataApi;
}
