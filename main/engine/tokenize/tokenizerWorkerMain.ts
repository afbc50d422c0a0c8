// The tokenizer's own thread (see TokenizerWorker.ts): one vocab-only model, requests answered one
// at a time in the order they arrive. Every call into node-llama-cpp here is synchronous, which is
// the point: it blocks this thread, not the main one.
//
// This thread ends itself, between requests, once the main thread sets the CLOSING flag: a
// worker.terminate() that lands while node-llama-cpp is inside a native call aborts the whole
// process ("terminate called after throwing an instance of 'Napi::Error'", node-llama-cpp 3.22.1).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { LlamaModel, Token } from 'node-llama-cpp';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { createPieceRenderer, createPromptRenderer } from '../tiered/promptLayout.ts';
import { tokenPieces } from '../tiered/tokenPieces.ts';
import { CLOSING, serializeError, type PackedPieces, type TokenizerReply, type TokenizerRequest, type TokenizerWorkerData } from './tokenizerProtocol.ts';

if (parentPort === null) throw new Error('tokenizerWorkerMain.ts runs as a worker thread; use TokenizerWorker.open()');
const port: MessagePort = parentPort;

const { modelPath, control } = workerData as TokenizerWorkerData;
const post = (reply: TokenizerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

const model = await loadVocab();
if (model !== null) serve(model);

async function loadVocab(): Promise<LlamaModel | null> {
  try {
    // The same runtime options as the main thread (llamaRuntime.ts), so this thread binds the binary
    // the process has already loaded instead of a second build of llama.cpp beside it.
    const llama = await getLlamaRuntime();
    return await llama.loadModel({ modelPath, vocabOnly: true });
  } catch (error) {
    post({ kind: 'loadFailed', error: serializeError(error) });
    // This thread ends itself, as close() does: llama.cpp's log lines about the bad file are still on
    // their way to this thread's event loop, and a terminate() landing while node-llama-cpp delivers
    // one aborted the whole process (FATAL ERROR: napi_define_properties, in its logger callback).
    await new Promise((resolve) => setTimeout(resolve, 50));
    await (await getLlamaRuntime().catch(() => null))?.dispose().catch(() => undefined);
    process.exit(0); // this thread only
  }
}

let closing = false;

/**
 * Ends this thread with nothing of llama.cpp still running in it: the model is unloaded and awaited
 * first. Exiting with the model loaded makes node-llama-cpp unload it from an exit hook, and that
 * unload's completion then lands during the thread's teardown and aborts the whole process
 * ("terminate called after throwing an instance of 'Napi::Error'", AddonModelUnloadModelWorker::OnOK).
 */
async function close(model: LlamaModel): Promise<void> {
  if (closing) return;
  closing = true;
  await model.dispose().catch(() => undefined);
  await (await getLlamaRuntime()).dispose().catch(() => undefined);
  process.exit(0); // this thread only
}

function serve(model: LlamaModel): void {
  const renderer = perLayout((hasChatTemplate) => createPromptRenderer(model, hasChatTemplate));
  const pieceRenderer = perLayout((hasChatTemplate) => createPieceRenderer(model, hasChatTemplate));

  port.on('message', (request: TokenizerRequest) => {
    if (Atomics.load(control, CLOSING) !== 0 || request.op === 'close') return void close(model);
    try {
      switch (request.op) {
        case 'countTokens':
          post({ kind: 'result', id: request.id, value: model.tokenize(request.text).length });
          return;
        case 'tokenize':
          return postTokens(request.id, model.tokenize(request.text));
        case 'renderPrompt':
          return postTokens(request.id, renderer(request.hasChatTemplate).render(request.documents, request.turns, request.question, request.instructions));
        case 'renderPrefix':
          return postTokens(request.id, renderer(request.hasChatTemplate).prefix(request.documents));
        case 'renderPrefixWithTurns':
          return postTokens(request.id, renderer(request.hasChatTemplate).prefixWithTurns(request.documents, request.turns, request.instructions));
        case 'renderPieces': {
          const pieces = pieceRenderer(request.hasChatTemplate);
          const { documentCount, turns, question, instructions } = request;
          const packed = (question === null ? pieces.piecesWithTurns(documentCount, turns, instructions) : pieces.pieces(documentCount, turns, question, instructions)).map((p: readonly Token[]) => Uint32Array.from(p));
          post({ kind: 'result', id: request.id, value: packed }, packed.map((p: Uint32Array) => p.buffer as ArrayBuffer));
          return;
        }
        case 'detokenizePieces': {
          const pieces = tokenPieces(model, Array.from(request.tokens) as Token[]);
          const packed: PackedPieces = { text: pieces.join(''), lengths: Uint32Array.from(pieces, (piece) => piece.length) };
          post({ kind: 'result', id: request.id, value: packed }, [packed.lengths.buffer as ArrayBuffer]);
          return;
        }
      }
    } catch (error) {
      post({ kind: 'failed', id: request.id, error: serializeError(error) });
    }
  });
  post({ kind: 'ready' });
}

/** `create` once per layout (with or without the chat template), on first use. */
function perLayout<T>(create: (hasChatTemplate: boolean) => T): (hasChatTemplate: boolean) => T {
  const made = new Map<boolean, T>();
  return (hasChatTemplate) => {
    let known = made.get(hasChatTemplate);
    if (known === undefined) made.set(hasChatTemplate, (known = create(hasChatTemplate)));
    return known;
  };
}

function postTokens(id: number, tokens: readonly Token[]): void {
  const packed = Uint32Array.from(tokens);
  post({ kind: 'result', id, value: packed }, [packed.buffer]);
}
