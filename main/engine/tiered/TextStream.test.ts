// The answer as it streams equals the whole answer detokenized at once (spaces, multi-byte characters
// split over byte tokens included), and each token costs a constant amount of detokenizing, not the
// whole answer again.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Token } from 'node-llama-cpp';
import { loadTestVocabularies } from '../testModels/testVocabularies.ts';
import { TextStream } from './TextStream.ts';

const TEXT = 'river light K17 : V04 V09 .\n\nstone naïve — 東京, a "quote" and tabs\tend. ';

test('streamed chunks join to the whole detokenized answer, at a constant cost per token', { timeout: 60_000 }, async (t) => {
  for (const model of await loadTestVocabularies(t)) {
    const tokens = model.tokenize(TEXT.repeat(40)) as Token[];
    let detokenized = 0;
    const counting = {
      detokenize: (list: readonly Token[], special?: boolean, last?: readonly Token[]) => {
        detokenized += list.length + (last?.length ?? 0);
        return model.detokenize(list, special, last);
      },
    };
    const stream = new TextStream(counting);
    let joined = '';
    for (const token of tokens) joined += stream.push(token);
    assert.equal(joined, model.detokenize(tokens), 'the chunks join to the whole answer');
    assert.equal(stream.text, model.detokenize(tokens));
    const perToken = detokenized / tokens.length;
    console.log(`# ${tokens.length} tokens: ${perToken.toFixed(1)} tokens detokenized per token`);
    assert.ok(perToken < 40, `constant per token (${perToken.toFixed(1)}); the whole answer again would be ~${(tokens.length / 2).toFixed(0)}`);
  }
});

test('a character split over tokens waits for its last byte, and the unfinished part shows in text', async () => {
  // A fake vocabulary: token 1 is the first half of "é", token 2 its second half.
  const pieces: Record<number, Uint8Array> = { 1: Uint8Array.of(0xc3), 2: Uint8Array.of(0xa9), 3: new TextEncoder().encode('a') };
  const detokenize = (list: readonly Token[]) => new TextDecoder().decode(Uint8Array.from(list.flatMap((t) => [...pieces[t]!])));
  const stream = new TextStream({ detokenize });
  assert.equal(stream.push(3 as Token), 'a');
  assert.equal(stream.push(1 as Token), '');
  assert.equal(stream.text, 'a\uFFFD');
  assert.equal(stream.push(2 as Token), 'é');
  assert.equal(stream.text, 'aé');
});
