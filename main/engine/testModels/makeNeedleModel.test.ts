// The needle model must really retrieve through attention: every needle right with the full KV
// cache, needles whose cells are missing wrong. These tests run serially and load the model once.

import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, LlamaModel, Token } from 'node-llama-cpp';
import { SPACE_MARK } from './buildSpmVocab.ts';
import { makeHaystack, makeNeedleModel, needleQuestion, needleVocab } from './makeNeedleModel.ts';
import type { PlacedNeedle } from './makeNeedleModel.ts';

const vocab = needleVocab();
const tokenOf = (word: string): Token => vocab.idOf.get(SPACE_MARK + word)! as Token;

let dir = '';
let llama: Llama;
let model: LlamaModel;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-needle-'));
  const path = join(dir, 'needle.gguf');
  await makeNeedleModel(path);
  // build: 'never' fails fast instead of compiling llama.cpp when no prebuilt binary fits.
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: path });
});

after(async () => {
  await model?.dispose();
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Depths spread evenly over [first, last]. */
function spreadDepths(count: number, first = 0.02, last = 0.97): Array<{ depth: number }> {
  return Array.from({ length: count }, (_, i) => ({ depth: first + ((last - first) * i) / (count - 1) }));
}

interface AskResult {
  needle: PlacedNeedle;
  answer: Token[];
  right: boolean;
}

/**
 * Greedy-decodes two tokens after `prefixTokens` + `? KEY :` for each needle. LlamaCompletion
 * prepends BOS itself and keeps the common prefix in the sequence, so each question costs only its
 * own tokens. Flash attention is on: on CPU it is 2-3× faster at 4K tokens and beyond.
 */
async function askAll(prefixTokens: readonly Token[], needles: readonly PlacedNeedle[]): Promise<AskResult[]> {
  const context = await model.createContext({
    contextSize: prefixTokens.length + 32,
    flashAttention: true,
    // node-llama-cpp's CPU default is max(4, cores) threads; on 2 cores that oversubscribes them badly.
    threads: llama.cpuMathCores,
  });
  try {
    const sequence = context.getSequence();
    const completion = new LlamaCompletion({ contextSequence: sequence });
    const results: AskResult[] = [];
    for (const needle of needles) {
      const answer: Token[] = [];
      const prompt = [...prefixTokens, ...model.tokenize(needleQuestion(needle.key))];
      await completion.generateCompletion(prompt, {
        maxTokens: 2,
        temperature: 0,
        repeatPenalty: false,
        // LlamaCompletion keeps this many cells free and silently drops the prompt's start to do so
        // (default: a tenth of the context), which would delete early needles.
        contextShiftSize: 8,
        onToken: (tokens) => answer.push(...tokens),
      });
      assert.deepEqual(sequence.contextTokens.slice(1, 1 + prompt.length), prompt, 'the whole prompt stayed in the context');
      const right = answer.length === 2 && answer[0] === tokenOf(needle.values[0]) && answer[1] === tokenOf(needle.values[1]);
      results.push({ needle, answer, right });
    }
    return results;
  } finally {
    await context.dispose();
  }
}

const describeAnswer = (r: AskResult): string =>
  `${r.needle.key}@${r.needle.depth.toFixed(2)} want ${r.needle.values.join(' ')} got ${r.answer.map((t) => vocab.tokens[t]).join(' ')}`;

describe('needle model', () => {
  test('is a small llama GGUF with the designed vocabulary', async (t) => {
    const { size } = await stat(join(dir, 'needle.gguf'));
    t.diagnostic(`file ${(size / 1e6).toFixed(2)} MB, vocab ${vocab.tokens.length} tokens`);
    assert.equal(model.fileInfo.metadata.general.architecture, 'llama');
    assert.equal(model.tokens.bos, 1);
    assert.equal(model.tokens.shouldPrependBosToken, true);
    assert.ok(size > 7e6 && size < 9e6);
  });

  test('tokenizes haystack text into one whole-word token per word', () => {
    const haystack = makeHaystack({ wordCount: 2000, needles: spreadDepths(12), seed: 7 });
    const tokens = model.tokenize(haystack.text);
    assert.deepEqual(tokens, haystack.words.map(tokenOf));
    assert.deepEqual(model.tokenize(needleQuestion('K17')), ['?', 'K17', ':'].map(tokenOf));
    // Characters outside the vocabulary fall back to byte tokens instead of throwing.
    assert.ok(model.tokenize('K17 ü').length > 2);
  });

  const lengths = [1000, 4000, 16000];
  const longTests = process.env['STRATA_LONG_TESTS'] === '1';
  for (const wordCount of longTests ? [...lengths, 32000] : lengths) {
    test(`answers every needle with the full KV cache at ${wordCount} tokens`, async (t: TestContext) => {
      const haystack = makeHaystack({ wordCount, needles: spreadDepths(9), seed: wordCount });
      const tokens = model.tokenize(haystack.text);
      assert.equal(tokens.length, wordCount);
      const startMs = performance.now();
      const results = await askAll(tokens, haystack.needles);
      const rightCount = results.filter((r) => r.right).length;
      t.diagnostic(`${wordCount} tokens: ${rightCount}/${results.length} right in ${(performance.now() - startMs).toFixed(0)} ms`);
      assert.deepEqual(results.filter((r) => !r.right).map(describeAnswer), []);
    });
  }

  test('with only a sink and the last 512 tokens, answers needles outside the window wrongly', async (t) => {
    const wordCount = 4000;
    const windowTokens = 512;
    const sinkTokens = 3; // after BOS
    let outside = 0;
    let outsideWrong = 0;
    let inside = 0;
    let insideRight = 0;
    const startMs = performance.now();
    for (const seed of [1, 2, 3, 4, 5]) {
      const haystack = makeHaystack({ wordCount, needles: spreadDepths(20), seed });
      const tokens = model.tokenize(haystack.text);
      const windowStart = tokens.length - windowTokens;
      // Positions are contiguous: the window is evaluated right after the sink, not at its original positions.
      const kept = [...tokens.slice(0, sinkTokens), ...tokens.slice(windowStart)];
      const results = await askAll(kept, haystack.needles);
      for (const r of results) {
        const [start, end] = [r.needle.keyWordIndex, r.needle.keyWordIndex + 4];
        if (start >= windowStart) {
          inside++;
          if (r.right) insideRight++;
          else t.diagnostic(`inside the window but wrong: ${describeAnswer(r)}`);
        } else if (end < windowStart && start >= sinkTokens) {
          outside++;
          if (!r.right) outsideWrong++;
        }
      }
    }
    t.diagnostic(`outside the window: ${outsideWrong}/${outside} wrong; inside: ${insideRight}/${inside} right; ` +
      `${(performance.now() - startMs).toFixed(0)} ms`);
    assert.ok(outside >= 50 && inside >= 5, 'the haystacks put needles on both sides of the window');
    assert.ok(outsideWrong / outside >= 0.9, `${outsideWrong}/${outside} wrong outside the window`);
    assert.equal(insideRight, inside);
  });

  test('answers again when the needle\'s chunk is put back between the sink and the window', async (t) => {
    const haystack = makeHaystack({ wordCount: 4000, needles: spreadDepths(12, 0.02, 0.8), seed: 11 });
    const tokens = model.tokenize(haystack.text);
    const window = tokens.slice(-512);
    let right = 0;
    const startMs = performance.now();
    for (const needle of haystack.needles) {
      // A 64-token chunk holding the fact, as the tiered engine would splice it back.
      const chunkStart = Math.max(3, needle.keyWordIndex - 30);
      const kept = [...tokens.slice(0, 3), ...tokens.slice(chunkStart, chunkStart + 64), ...window];
      const [result] = await askAll(kept, [needle]);
      if (result!.right) right++;
      else t.diagnostic(`chunk restored but wrong: ${describeAnswer(result!)}`);
    }
    t.diagnostic(`chunk restored: ${right}/${haystack.needles.length} right in ${(performance.now() - startMs).toFixed(0)} ms`);
    assert.equal(right, haystack.needles.length);
  });
});
