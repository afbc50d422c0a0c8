// A model's tokenizer on a thread of its own. node-llama-cpp tokenizes synchronously: 25 MB of text
// holds the calling thread for 20-30 s, and on the main thread that is every API call, IPC
// message and timer of the app. Here the main thread only posts the text and receives the tokens.
//
// A worker_threads Worker, not a child process: node-llama-cpp loads and runs in a worker while the
// main thread uses it too (the tiered engine keeps its own vocab model there). Both threads ask
// llamaRuntime.ts for the runtime with the same options, so they bind the same llama.cpp binary,
// whose backends the process registers once. Tokens come back as a transferred Uint32Array and are
// turned into an array on the main thread a slice at a time, so that step does not block it either.
//
// Arguments are checked here (TypeError, RangeError: the returned promise rejects) before they cross.
// The thread is never terminated from outside while it may be inside node-llama-cpp: with 3.22.1 a
// worker.terminate() during a native call aborts the whole process (its addon throws a Napi::Error
// nobody catches). dispose() sets a shared flag instead; the thread exits before its next request.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Token } from 'node-llama-cpp';
import type { EngineDocument, EngineTurn } from '../Engine.ts';
import { isErrorCode } from '../errorCodes.ts';
import { DisposedError, ModelError, StrataError } from '../errors.ts';
import { workerEntryUrl } from '../workerEntryUrl.ts';
import { CLOSING, type PackedPieces, type SerializedError, type TokenizerReply, type TokenizerRequest, type TokenizerWorkerData } from './tokenizerProtocol.ts';

/** The worker died (TOKENIZER_CRASHED) or a request failed inside it (TOKENIZER_FAILED, unless the error had a code). */
export class TokenizerWorkerError extends StrataError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(isErrorCode(code) ? code : 'TOKENIZER_FAILED', message, options);
    this.name = 'TokenizerWorkerError';
  }
}

export interface TokenizerWorkerOptions {
  /**
   * Heap limits of the worker thread (Node's `resourceLimits`); by default Node's own. A limit
   * reached in JavaScript ends the thread (TOKENIZER_CRASHED); one reached while node-llama-cpp
   * allocates its result in native code is fatal to the whole process, so leave room for the result.
   */
  resourceLimits?: ResourceLimits;
}

/** Elements converted between two yields to the event loop (a few milliseconds' work). */
const CONVERT_SLICE = 1 << 18;

interface Pending {
  receive(value: TokenizerReplyValue): void;
  reject(error: Error): void;
}

type TokenizerReplyValue = Extract<TokenizerReply, { kind: 'result' }>['value'];

export class TokenizerWorker {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private exited = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private crash: TokenizerWorkerError | null = null;
  private disposal: Promise<void> | null = null;

  /** Starts a worker thread and loads `modelPath`'s vocabulary in it (no weights). */
  static async open(modelPath: string, options: TokenizerWorkerOptions = {}): Promise<TokenizerWorker> {
    if (typeof modelPath !== 'string' || modelPath === '') throw new TypeError('modelPath must be a non-empty string');
    const isFile = await stat(modelPath).then((info) => info.isFile(), () => false);
    if (!isFile) throw new ModelError('MODEL_NOT_FOUND', `Model file not found: ${modelPath}`);

    const entry = await workerEntryUrl(import.meta.url, './tokenizerWorkerMain.ts', () => import('./tokenizerWorkerMain.ts?modulePath'));
    const control = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
    const workerData: TokenizerWorkerData = { modelPath, control };
    const worker = new Worker(entry, { workerData, resourceLimits: options.resourceLimits });
    const name = basename(modelPath);
    let exited = false;
    const started = await new Promise<{ ok: true } | { ok: false; error: ModelError }>((resolve) => {
      const settle = (result: { ok: true } | { ok: false; error: ModelError }) => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        resolve(result);
      };
      const onMessage = (reply: TokenizerReply) => {
        if (reply.kind === 'ready') settle({ ok: true });
        else if (reply.kind === 'loadFailed') {
          settle({ ok: false, error: new ModelError('MODEL_LOAD_FAILED', `The vocabulary of ${name} could not be loaded: ${reply.error.message.replace(/\.?$/, '.')}`, { cause: rebuild(reply.error) }) });
        }
      };
      const onError = (error: Error) =>
        settle({ ok: false, error: new ModelError('MODEL_LOAD_FAILED', `The tokenizer thread for ${name} failed to start: ${error.message}`, { cause: error }) });
      const onExit = (code: number) => {
        exited = true;
        settle({ ok: false, error: new ModelError('MODEL_LOAD_FAILED', `The tokenizer thread for ${name} exited (code ${code}) before loading the vocabulary.`) });
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    if (!started.ok) {
      // After a failed load the thread ends itself (tokenizerWorkerMain.ts); one that does not is ended here.
      await new Promise<void>((resolve) => {
        if (exited) return resolve();
        const timer = setTimeout(() => void worker.terminate().finally(resolve), 10_000);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      throw started.error;
    }
    return new TokenizerWorker(worker, control, name);
  }

  private constructor(worker: Worker, control: Int32Array, modelName: string) {
    this.worker = worker;
    this.control = control;
    worker.on('message', (reply: TokenizerReply) => this.onReply(reply));
    worker.on('error', (error) => this.fail(`The tokenizer thread for ${modelName} crashed: ${error.message}`, error));
    worker.on('exit', (code) => {
      this.exited = true;
      this.fail(`The tokenizer thread for ${modelName} exited unexpectedly (code ${code}).`);
    });
    worker.unref(); // an idle tokenizer does not keep the process alive; a pending call does
  }

  get disposed(): boolean {
    return this.disposal !== null;
  }

  async countTokens(text: string): Promise<number> {
    assertText(text);
    return this.call((id) => ({ id, op: 'countTokens', text }), [], (value) => value as number);
  }

  async tokenize(text: string): Promise<Token[]> {
    assertText(text);
    return this.call((id) => ({ id, op: 'tokenize', text }), [], (value) => toTokens(value as Uint32Array));
  }

  /**
   * The exact text of each token, as tiered/tokenPieces.ts computes it (pieces.join('') is the
   * detokenized text, leading spaces and multi-byte characters included).
   */
  async detokenizePieces(tokens: readonly number[]): Promise<string[]> {
    const packed = packTokens(tokens);
    return this.call((id) => ({ id, op: 'detokenizePieces', tokens: packed }), [packed.buffer], (value) => unpackPieces(value as PackedPieces));
  }

  /** The whole prompt, as tiered/promptLayout.ts's createPromptRenderer(model, hasChatTemplate).render lays it out. */
  async renderPrompt(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, hasChatTemplate: boolean, instructions: string | null = null): Promise<Token[]> {
    assertText(question, 'question');
    if (instructions !== null) assertText(instructions, 'instructions');
    const request = { documents: plainDocuments(documents), turns: plainTurns(turns), question, hasChatTemplate: Boolean(hasChatTemplate), instructions };
    return this.call((id) => ({ id, op: 'renderPrompt', ...request }), [], (value) => toTokens(value as Uint32Array));
  }

  /** The documents, instructions and turns every next question shares, as createPromptRenderer(model, hasChatTemplate).prefixWithTurns computes it. */
  async renderPrefixWithTurns(documents: readonly EngineDocument[], turns: readonly EngineTurn[], hasChatTemplate: boolean, instructions: string | null = null): Promise<Token[]> {
    if (instructions !== null) assertText(instructions, 'instructions');
    const request = { documents: plainDocuments(documents), turns: plainTurns(turns), hasChatTemplate: Boolean(hasChatTemplate), instructions };
    return this.call((id) => ({ id, op: 'renderPrefixWithTurns', ...request }), [], (value) => toTokens(value as Uint32Array));
  }

  /**
   * The prompt's own tokens around `documentCount` documents, as createPieceRenderer lays them out:
   * with a question, the whole prompt's pieces; with null, the last piece cut to what every next
   * question shares.
   */
  async renderPieces(documentCount: number, turns: readonly EngineTurn[], question: string | null, hasChatTemplate: boolean, instructions: string | null = null): Promise<Token[][]> {
    if (!Number.isInteger(documentCount) || documentCount < 0) throw new RangeError(`documentCount must be a count, got ${documentCount}`);
    if (question !== null) assertText(question, 'question');
    if (instructions !== null) assertText(instructions, 'instructions');
    const request = { documentCount, turns: plainTurns(turns), question, hasChatTemplate: Boolean(hasChatTemplate), instructions };
    return this.call((id) => ({ id, op: 'renderPieces', ...request }), [], (value) => Promise.all((value as Uint32Array[]).map(toTokens)));
  }

  /** The document part every question shares, as createPromptRenderer(model, hasChatTemplate).prefix computes it. */
  async renderPrefix(documents: readonly EngineDocument[], hasChatTemplate: boolean): Promise<Token[]> {
    const request = { documents: plainDocuments(documents), hasChatTemplate: Boolean(hasChatTemplate) };
    return this.call((id) => ({ id, op: 'renderPrefix', ...request }), [], (value) => toTokens(value as Uint32Array));
  }

  /**
   * Ends the thread. Pending calls reject with DisposedError at once; the returned promise settles
   * when the thread has exited, which is after the request it is running now, if any (a
   * tokenization inside native code cannot be interrupted). Until then the thread keeps the process
   * alive, so that the process never exits, and so stops the thread, in the middle of a native call.
   */
  dispose(): Promise<void> {
    if (this.disposal === null) {
      const error = new DisposedError('TokenizerWorker');
      const pending = [...this.pending.values()];
      this.pending.clear();
      for (const call of pending) call.reject(error);
      if (this.exited) {
        this.disposal = Promise.resolve();
      } else {
        this.disposal = new Promise((resolve) => this.worker.once('exit', () => resolve()));
        this.worker.ref();
        Atomics.store(this.control, CLOSING, 1);
        this.worker.postMessage({ id: 0, op: 'close' } satisfies TokenizerRequest);
      }
    }
    return this.disposal;
  }

  private call<T>(
    request: (id: number) => TokenizerRequest,
    transfer: ArrayBuffer[],
    decode: (value: TokenizerReplyValue) => T | Promise<T>,
  ): Promise<T> {
    if (this.disposal !== null) return Promise.reject(new DisposedError('TokenizerWorker'));
    if (this.crash !== null) return Promise.reject(this.crash);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      // The call stays pending while its reply is decoded, so dispose() still rejects it.
      const settle = (outcome: () => void) => {
        if (!this.pending.delete(id)) return;
        if (this.pending.size === 0) this.worker.unref();
        outcome();
      };
      this.pending.set(id, {
        receive: (value) => {
          Promise.resolve()
            .then(() => decode(value))
            .then((decoded) => settle(() => resolve(decoded)), (error: Error) => settle(() => reject(error)));
        },
        reject,
      });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(request(id), transfer);
    });
  }

  private onReply(reply: TokenizerReply): void {
    if (reply.kind !== 'result' && reply.kind !== 'failed') return;
    const call = this.pending.get(reply.id);
    if (call === undefined) return; // disposed meanwhile
    if (reply.kind === 'result') {
      call.receive(reply.value);
      return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    call.reject(rebuild(reply.error));
  }

  private fail(message: string, cause?: Error): void {
    if (this.disposal !== null || this.crash !== null) return;
    this.crash = new TokenizerWorkerError('TOKENIZER_CRASHED', `${message.replace(/\.?$/, '.')} Open the model again to get a new tokenizer.`, { cause });
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const call of pending) call.reject(this.crash);
  }
}

function rebuild(error: SerializedError): TokenizerWorkerError {
  return new TokenizerWorkerError(error.code ?? 'TOKENIZER_FAILED', error.message);
}

function assertText(text: unknown, what = 'text'): asserts text is string {
  if (typeof text !== 'string') throw new TypeError(`${what} must be a string`);
}

function packTokens(tokens: readonly number[]): Uint32Array<ArrayBuffer> {
  if (!Array.isArray(tokens)) throw new TypeError('tokens must be an array of token ids');
  const packed = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!Number.isInteger(token) || token < 0 || token > 0xffffffff) throw new RangeError(`tokens[${i}] is not a token id: ${String(token)}`);
    packed[i] = token;
  }
  return packed;
}

function plainDocuments(documents: readonly EngineDocument[]): EngineDocument[] {
  if (!Array.isArray(documents)) throw new TypeError('documents must be an array');
  return documents.map((doc, i) => {
    if (typeof doc?.text !== 'string' || typeof doc.id !== 'string') throw new TypeError(`documents[${i}] must be {id: string, text: string}`);
    return { id: doc.id, text: doc.text };
  });
}

function plainTurns(turns: readonly EngineTurn[]): EngineTurn[] {
  if (!Array.isArray(turns)) throw new TypeError('turns must be an array');
  return turns.map((turn, i) => {
    if ((turn?.role !== 'user' && turn?.role !== 'assistant') || typeof turn.text !== 'string') throw new TypeError(`turns[${i}] must be {role: 'user' | 'assistant', text: string}`);
    return { role: turn.role, text: turn.text };
  });
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function toTokens(packed: Uint32Array): Promise<Token[]> {
  const tokens = new Array<Token>(packed.length);
  for (let start = 0; start < packed.length; start += CONVERT_SLICE) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(packed.length, start + CONVERT_SLICE);
    for (let i = start; i < end; i++) tokens[i] = packed[i] as Token;
  }
  return tokens;
}

async function unpackPieces({ text, lengths }: PackedPieces): Promise<string[]> {
  const pieces = new Array<string>(lengths.length);
  let offset = 0;
  for (let start = 0; start < lengths.length; start += CONVERT_SLICE) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(lengths.length, start + CONVERT_SLICE);
    for (let i = start; i < end; i++) {
      pieces[i] = text.slice(offset, offset + lengths[i]);
      offset += lengths[i];
    }
  }
  return pieces;
}
