// Selection matters and splicing serves it: with the needle model, a small context holding the sink,
// the needle's chunk spliced back at its original positions, the recent window and the question
// answers the needle; the same context without that chunk does not.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SPACE_MARK } from '../../testModels/buildSpmVocab.ts';
import { ensureTestModel } from '../../testModels/cli.ts';
import { makeHaystack, needleQuestion, needleVocab } from '../../testModels/makeNeedleModel.ts';
import type { NativeTierModel } from './NativeAddon.ts';
import { argmax, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';
import type { NativeTestSetup } from './nativeTestSupport.ts';

const vocab = needleVocab();
const tokenOf = (word: string): number => {
  const id = vocab.idOf.get(SPACE_MARK + word);
  if (id === undefined) throw new RangeError(`"${word}" is not a needle-model word`);
  return id;
};
const BOS = 1;
const SINK_TOKENS = 4;
const CHUNK_TOKENS = 128;
const WINDOW_TOKENS = 512;
const GPU_BUDGET = 1024;

let setup: NativeTestSetup | { skip: string };
let model: NativeTierModel | undefined;

before(async () => {
  setup = await setUpNativeAddon();
  if ('skip' in setup) return;
  model = await setup.addon.loadModel(await ensureTestModel('needle'));
});

after(async () => {
  await model?.dispose();
});

interface Chunk {
  start: number;
  end: number;
  blob: Uint8Array;
}

test('sink + the needle chunk spliced back + recent window answers; without the chunk it does not', async (t) => {
  if ('skip' in setup) return t.skip(setup.skip);
  const haystack = makeHaystack({ wordCount: 2400, needles: [{ depth: 0.3 }], seed: 29 });
  const needle = haystack.needles[0]!;
  const tokens = Int32Array.from([BOS, ...haystack.words.map(tokenOf)]);
  const documentTokens = tokens.length;

  // Ingest: the whole document once (it fits this context), every chunk captured.
  const bounds = [0, SINK_TOKENS];
  while (bounds.at(-1)! < documentTokens) bounds.push(Math.min(bounds.at(-1)! + CHUNK_TOKENS, documentTokens));
  const chunks: Chunk[] = [];
  const ingest = await model!.createContext({ contextSize: documentTokens + 64, batchSize: 512, flashAttention: true, threads: TEST_THREADS });
  try {
    await ingest.decode({ tokens, positions: range(0, documentTokens), logits: 'none' });
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [start, end] = [bounds[i]!, bounds[i + 1]!];
      chunks.push({ start, end, blob: (await ingest.captureChunk(start, end)).blob });
    }
  } finally {
    await ingest.dispose();
  }

  // The fact `K : V V .` lives in cells [key, key + 4): the chunks holding them.
  const keyToken = needle.keyWordIndex + 1;
  const needleChunks = chunks.filter((chunk) => chunk.start < keyToken + 4 && chunk.end > keyToken);
  const sink = chunks[0]!;
  const window = chunks.filter((chunk) => chunk.end > documentTokens - WINDOW_TOKENS);
  assert.ok(needleChunks.every((chunk) => !window.includes(chunk) && chunk !== sink), 'the needle lies outside the sink and the window');

  const question = needleQuestion(needle.key).split(' ').map(tokenOf);
  const ask = async (resident: Chunk[]): Promise<number[]> => {
    const context = await model!.createContext({ contextSize: GPU_BUDGET, flashAttention: true, threads: TEST_THREADS });
    try {
      for (const chunk of [...resident].sort((a, b) => a.start - b.start)) await context.spliceChunk(chunk.blob);
      let position = documentTokens;
      let result = await context.decode({ tokens: question, positions: range(position, position + question.length), logits: 'last' });
      position += question.length;
      const answer = [argmax(result.logits!)];
      result = await context.decode({ tokens: answer, positions: [position], logits: 'last' });
      answer.push(argmax(result.logits!));
      return answer;
    } finally {
      await context.dispose();
    }
  };

  const expected = needle.values.map(tokenOf);
  const withNeedle = await ask([sink, ...needleChunks, ...window]);
  const withoutNeedle = await ask([sink, ...window]);
  const words = (ids: number[]) => ids.map((id) => vocab.tokens[id]!.replace(SPACE_MARK, '')).join(' ');
  t.diagnostic(`${documentTokens} tokens, ${needle.key} at ${keyToken}: expected "${needle.values.join(' ')}", ` +
    `with its chunk "${words(withNeedle)}", without "${words(withoutNeedle)}"`);
  assert.deepEqual(withNeedle, expected, 'with the needle chunk spliced back the model answers');
  assert.notDeepEqual(withoutNeedle, expected, 'without the needle chunk the model cannot answer');
});
