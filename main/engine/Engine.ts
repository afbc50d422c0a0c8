// The interface both engines implement: the standard engine (node-llama-cpp, full KV cache) and the
// tiered engine (native addon, GPU-CPU-disk chunks). Callers never learn which one they hold.
import type { AskMetrics, ChunkResidency, EngineKind, MemorySnapshot } from './engineTypes.ts';

export interface EngineDocument {
  id: string;
  text: string;
  /** The text's SHA-256 when the caller knows it (the catalog does): an ask then hashes no document text. */
  sha256?: string;
}

export interface EngineTurn {
  role: 'user' | 'assistant';
  text: string;
}

export interface AskOptions {
  maxTokens?: number;
  /** 0 is greedy (the default: answers about documents should be reproducible). */
  temperature?: number;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
  /** Progress of reading documents into the KV tiers before the answer (tiered engine). */
  onIngestProgress?: (tokensDone: number, tokenCount: number) => void;
  /** Every logits row the engine samples from, in order (exactness tests). */
  onLogits?: (logits: Float32Array) => void;
  /** Something the user should know before a long wait (documents longer than the model's trained context). */
  onNotice?: (message: string) => void;
  /** The disk budget dropped these documents' stored KV to make room (they are read again when needed). */
  onKvEvicted?: (evicted: { documentIds: string[]; bytes: number }) => void;
  /** The GPU tier's working set changed (chunks spliced or evicted): the residency map is stale. */
  onResidencyChange?: () => void;
}

export interface AskResult {
  text: string;
  stopReason: 'eos' | 'maxTokens' | 'abort' | 'stopTrigger';
  metrics: AskMetrics;
}

export interface LoadedModelInfo {
  path: string;
  name: string;
  architecture: string;
  sizeBytes: number;
  hasChatTemplate: boolean;
  trainContextTokens: number;
  /**
   * Multi-head latent attention (DeepSeek-V2/V3, Kimi K2: `<arch>.attention.kv_lora_rank` > 0): the cache
   * holds one compressed latent per token, not per-head post-RoPE keys. Read from the file, not stored.
   */
  latentAttention?: boolean;
}

export interface EngineConversation {
  /** Replaces the attached documents; they become the prefix of every following prompt. */
  setDocuments(documents: EngineDocument[]): void;
  /** Earlier turns (e.g. loaded from the catalog after a restart). */
  setHistory(turns: EngineTurn[]): void;
  /** The user's own instructions, placed after the documents (changing them never reads the documents again); null: none. */
  setInstructions(instructions: string | null): void;
  ask(question: string, options?: AskOptions): Promise<AskResult>;
  /** Where each chunk of the documents lives now (tiered engine only; null before they were read). */
  residency?(): ChunkResidency[] | null;
  dispose(): Promise<void>;
}

export interface EngineModel {
  readonly info: LoadedModelInfo;
  /** May run off the main thread (a tokenizer worker); the service awaits it. */
  countTokens(text: string): number | Promise<number>;
  /** `id`: the catalog's conversation id, under which an engine may persist what it keeps of the turns. */
  createConversation(options?: { id?: string }): EngineConversation;
  /** The memory dashboard's numbers (tiered engine only). */
  memory?(): Promise<Omit<MemorySnapshot, 'at' | 'engine'>>;
  /**
   * The tiered engine: each document's stored KV for this model as it is configured now (documents
   * never read have no entry). In the library mode a document read alone; in the exact mode a set of
   * that document alone.
   */
  documentKv?(): DocumentKvState[];
  /**
   * Reads a document's KV ahead of any question (the Documents tab's Prepare, `strata docs prepare`);
   * resolves with the tokens it evaluated, 0 when the document was read before. Progress and notices
   * come through `options` like an ask's.
   */
  prepareDocument?(document: EngineDocument, options: AskOptions): Promise<number>;
  dispose(): Promise<void>;
}

export interface DocumentKvState {
  documentId: string;
  /** 'running': being read now, or a read that stopped half-way (it resumes); 'complete': read. */
  state: 'running' | 'complete' | 'failed';
  tokenCount: number;
  tokensDone: number;
  /** Bytes of its blobs on disk. */
  bytes: number;
  /** The fastest tier holding any of its chunks now. */
  tier: 'gpu' | 'cpu' | 'disk';
}

export interface Engine {
  readonly kind: EngineKind;
  openModel(path: string, options?: { signal?: AbortSignal }): Promise<EngineModel>;
  /**
   * What an engine keeps on disk has the catalog's rows as owners: these free it when the owner goes
   * (engines that keep nothing omit them).
   */
  forgetDocument?(documentId: string): Promise<void>;
  forgetConversation?(conversationId: string): Promise<void>;
  forgetModel?(model: { path: string; sizeBytes: number }): Promise<void>;
  /** The start-up sweep: deletes stored bytes that no catalog row owns. */
  sweep?(): Promise<unknown>;
  dispose(): Promise<void>;
}
