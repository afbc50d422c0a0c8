import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import type { LlamaModel } from 'node-llama-cpp';
import { formatGaps, measureEventLoopGaps } from '../../test/measureEventLoopGaps.ts';
import { tempDir } from '../../test/tempDir.ts';
import { DisposedError, ModelError } from '../errors.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { createRng } from '../testModels/createRng.ts';
import { ensureTestModel } from '../testModels/cli.ts';
import { FILLER_WORDS } from '../testModels/needleVocabulary.ts';
import { createPromptRenderer } from '../tiered/promptLayout.ts';
import { tokenPieces } from '../tiered/tokenPieces.ts';
import { TokenizerWorker, TokenizerWorkerError } from './TokenizerWorker.ts';

const TEXTS = [
  'river light K17 : V04 V09 .',
  'river light K17 : V04 V09 .\n\nstone naïve — 東京, a "quote" and tabs\tend.',
  '',
  ' leading space, trailing space ',
  'emoji 🙂 and a lone combining mark e\u0301',
];

const DOCUMENTS = [
  { id: 'a', text: 'the river stone K03 : V01 V02 . quiet north field' },
  { id: 'b', text: 'garden morning harbor — naïve 東京' },
];
const TURNS = [
  { role: 'user' as const, text: '? K03 :' },
  { role: 'assistant' as const, text: ' V01 V02' },
];

/** About `bytes` of needle filler words: every word is one token of the needle model. */
function fillerText(bytes: number, seed: number): { text: string; wordCount: number } {
  const rng = createRng(seed);
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = FILLER_WORDS[rng.int(FILLER_WORDS.length)];
    words.push(word);
    length += word.length + 1;
  }
  return { text: words.join(' '), wordCount: words.length };
}

async function openBoth(t: test.TestContext): Promise<{ worker: TokenizerWorker; vocab: LlamaModel; modelPath: string }> {
  const modelPath = await ensureTestModel('needle');
  const llama = await getLlamaRuntime();
  const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
  t.after(() => vocab.dispose());
  const worker = await TokenizerWorker.open(modelPath);
  t.after(() => worker.dispose());
  return { worker, vocab, modelPath };
}

test('the worker tokenizes, counts and detokenizes exactly as a vocab model on the main thread', { timeout: 120_000 }, async (t) => {
  const { worker, vocab } = await openBoth(t);
  const texts = [...TEXTS, fillerText(200_000, 1).text];
  for (const text of texts) {
    const expected = vocab.tokenize(text);
    assert.deepEqual(await worker.tokenize(text), expected, `tokens of ${JSON.stringify(text.slice(0, 40))}`);
    assert.equal(await worker.countTokens(text), expected.length);
    const withBos = [vocab.tokens.bos!, ...expected];
    const pieces = await worker.detokenizePieces(withBos);
    assert.deepEqual(pieces, tokenPieces(vocab, withBos));
    assert.equal(pieces.join(''), text);
  }
  // Calls made at once are answered in order, each with its own result.
  const together = await Promise.all(texts.map((text) => worker.countTokens(text)));
  assert.deepEqual(together, texts.map((text) => vocab.tokenize(text).length));
});

test('renderPrompt and renderPrefix equal createPromptRenderer on the main thread, raw and chat layouts', { timeout: 120_000 }, async (t) => {
  const { worker, vocab } = await openBoth(t);
  for (const hasChatTemplate of [false, true]) {
    const renderer = createPromptRenderer(vocab, hasChatTemplate);
    for (const documents of [DOCUMENTS, DOCUMENTS.slice(0, 1), []]) {
      assert.deepEqual(await worker.renderPrompt(documents, TURNS, '? K03 :', hasChatTemplate), renderer.render(documents, TURNS, '? K03 :'));
      assert.deepEqual(await worker.renderPrompt(documents, [], 'question', hasChatTemplate), renderer.render(documents, [], 'question'));
      const prefix = await worker.renderPrefix(documents, hasChatTemplate);
      assert.deepEqual(prefix, renderer.prefix(documents));
      assert.ok(prefix.length > 0);
      assert.deepEqual(await worker.renderPrefixWithTurns(documents, TURNS, hasChatTemplate, 'Be brief.'), renderer.prefixWithTurns(documents, TURNS, 'Be brief.'));
    }
  }
});

test('the main thread keeps running timers while the worker tokenizes 25 MB', { timeout: 300_000 }, async (t) => {
  const { worker } = await openBoth(t);
  const { text, wordCount } = fillerText(25_000_000, 7);
  const { result: tokens, gaps, elapsedMs } = await measureEventLoopGaps(() => worker.tokenize(text));
  assert.equal(tokens.length, wordCount, 'one token per filler word');
  const mbPerS = text.length / 1e6 / (elapsedMs / 1000);
  t.diagnostic(`tokenize ${(text.length / 1e6).toFixed(1)} MB → ${tokens.length} tokens in ${(elapsedMs / 1000).toFixed(1)} s (${mbPerS.toFixed(2)} MB/s); main thread: ${formatGaps(gaps)}`);
  assert.ok(gaps.p99Ms < 100, `p99 gap ${gaps.p99Ms.toFixed(1)} ms`);

  // The pieces of 500 K tokens come back as one string and their lengths, split on the main thread in slices.
  const some = tokens.slice(0, 500_000);
  const { result: pieces, gaps: pieceGaps, elapsedMs: pieceMs } = await measureEventLoopGaps(() => worker.detokenizePieces(some));
  assert.equal(pieces.length, some.length);
  assert.equal(pieces.join(''), text.slice(0, pieces.join('').length));
  t.diagnostic(`detokenizePieces ${some.length} tokens in ${(pieceMs / 1000).toFixed(1)} s; main thread: ${formatGaps(pieceGaps)}`);
  assert.ok(pieceGaps.p99Ms < 100, `p99 gap ${pieceGaps.p99Ms.toFixed(1)} ms`);
});

test('a missing or unreadable model rejects open() with a ModelError', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  await assert.rejects(TokenizerWorker.open(join(dir, 'missing.gguf')), (error: unknown) => {
    assert.ok(error instanceof ModelError);
    assert.equal(error.code, 'MODEL_NOT_FOUND');
    assert.match(error.message, /missing\.gguf/);
    return true;
  });
  const notAModel = join(dir, 'notes.gguf');
  writeFileSync(notAModel, 'just some text, not a model at all\n'.repeat(20));
  await assert.rejects(TokenizerWorker.open(notAModel), (error: unknown) => {
    assert.ok(error instanceof ModelError);
    assert.equal(error.code, 'MODEL_LOAD_FAILED');
    assert.match(error.message, /notes\.gguf could not be loaded: Invalid GGUF magic/);
    return true;
  });
  const truncated = join(dir, 'truncated.gguf');
  writeFileSync(truncated, readFileSync(await ensureTestModel('needle')).subarray(0, 5000));
  await assert.rejects(TokenizerWorker.open(truncated), (error: unknown) => error instanceof ModelError && error.code === 'MODEL_LOAD_FAILED' && /truncated\.gguf could not be loaded/.test(error.message));
});

test('dispose() rejects pending calls at once, later calls too, and can be called twice', { timeout: 120_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  const worker = await TokenizerWorker.open(modelPath);
  const { text } = fillerText(5 * 1024 * 1024, 3); // seconds of work
  const long = worker.tokenize(text);
  const queued = worker.countTokens('river');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const startMs = performance.now();
  const disposed = worker.dispose();
  for (const call of [long, queued]) {
    await assert.rejects(call, (error: unknown) => error instanceof DisposedError && error.code === 'DISPOSED');
  }
  assert.ok(performance.now() - startMs < 500, 'pending calls reject without waiting for the thread');
  await assert.rejects(worker.countTokens('river'), DisposedError);
  assert.equal(worker.disposed, true);
  await disposed;
  await worker.dispose();
  t.diagnostic(`thread stopped ${(performance.now() - startMs).toFixed(0)} ms after dispose()`);
});

test('a worker that dies rejects pending and later calls with TOKENIZER_CRASHED', { timeout: 120_000 }, async (t) => {
  const modelPath = await ensureTestModel('needle');
  // A heap too small for the turns it is sent: the thread runs out of memory in JavaScript (reading
  // the message, laying out the prompt), which ends that thread only.
  const worker = await TokenizerWorker.open(modelPath, { resourceLimits: { maxOldGenerationSizeMb: 48 } });
  t.after(() => worker.dispose());
  assert.equal(await worker.countTokens('river light'), 2);
  const turns = Array.from({ length: 3_000_000 }, (_, i) => ({ role: i % 2 === 0 ? ('user' as const) : ('assistant' as const), text: `turn ${i}` }));
  const render = worker.renderPrompt([], turns, '? K03 :', false);
  const queued = worker.countTokens('river'); // behind the request that kills the thread
  await assert.rejects(render, (error: unknown) => {
    assert.ok(error instanceof TokenizerWorkerError, String(error));
    assert.equal(error.code, 'TOKENIZER_CRASHED');
    assert.match(error.message, /^The tokenizer thread for needle\.gguf crashed: .*memory/);
    return true;
  });
  await assert.rejects(queued, (error: unknown) => error instanceof TokenizerWorkerError && error.code === 'TOKENIZER_CRASHED');
  await assert.rejects(worker.countTokens('river'), (error: unknown) => error instanceof TokenizerWorkerError && error.code === 'TOKENIZER_CRASHED');
});
