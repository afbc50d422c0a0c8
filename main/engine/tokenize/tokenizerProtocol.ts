// The messages between TokenizerWorker (main thread) and tokenizerWorkerMain.ts (its thread). Token
// arrays cross as Uint32Arrays whose buffers are transferred, not copied element by element.
import type { EngineDocument, EngineTurn } from '../Engine.ts';

export interface TokenizerWorkerData {
  modelPath: string;
  /**
   * Over a SharedArrayBuffer; the main thread sets [CLOSING] to 1 when it disposes the worker. The
   * worker reads it before each request, so requests still queued behind a long one are skipped.
   */
  control: Int32Array;
}

export const CLOSING = 0;

export type TokenizerRequest =
  | { id: number; op: 'countTokens'; text: string }
  | { id: number; op: 'tokenize'; text: string }
  | { id: number; op: 'detokenizePieces'; tokens: Uint32Array }
  | { id: number; op: 'renderPrompt'; documents: EngineDocument[]; turns: EngineTurn[]; question: string; hasChatTemplate: boolean; instructions: string | null }
  | { id: number; op: 'renderPrefix'; documents: EngineDocument[]; hasChatTemplate: boolean }
  | { id: number; op: 'renderPrefixWithTurns'; documents: EngineDocument[]; turns: EngineTurn[]; hasChatTemplate: boolean; instructions: string | null }
  | { id: number; op: 'renderPieces'; documentCount: number; turns: EngineTurn[]; question: string | null; hasChatTemplate: boolean; instructions: string | null }
  /** Sent by dispose() (with [CLOSING] set) to wake an idle worker so that it exits. */
  | { id: 0; op: 'close' };

/** The pieces of detokenizePieces as one string and each piece's length in UTF-16 code units. */
export interface PackedPieces {
  text: string;
  lengths: Uint32Array;
}

export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
}

export type TokenizerReply =
  | { kind: 'ready' }
  | { kind: 'loadFailed'; error: SerializedError }
  | { kind: 'result'; id: number; value: number | Uint32Array | PackedPieces | Uint32Array[] }
  | { kind: 'failed'; id: number; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { name: 'Error', code: undefined, message: String(error) };
}
