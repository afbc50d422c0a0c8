import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FACT_WORD_COUNT, makeHaystack, needlePrompt, needleQuestion } from './haystack.ts';
import { FILLER_WORDS, NEEDLE_KEYS, NEEDLE_VALUES } from './needleVocabulary.ts';

describe('makeHaystack', () => {
  test('places each fact at its depth, in filler text of the requested length', () => {
    const depths = [0.97, 0.02, 0.5, 0.25];
    const haystack = makeHaystack({ wordCount: 1000, needles: depths.map((depth) => ({ depth })), seed: 3 });
    assert.equal(haystack.words.length, 1000);
    assert.equal(haystack.text, haystack.words.join(' '));
    assert.ok(!haystack.text.startsWith(' ') && !haystack.text.endsWith(' '));
    assert.deepEqual(haystack.needles.map((n) => n.depth), [0.02, 0.25, 0.5, 0.97]);
    for (const needle of haystack.needles) {
      const i = needle.keyWordIndex;
      assert.deepEqual(haystack.words.slice(i, i + FACT_WORD_COUNT), [needle.key, ':', ...needle.values, '.']);
      assert.ok(Math.abs(i / 1000 - needle.depth) < 0.01, `${needle.key} at ${i} for depth ${needle.depth}`);
    }
    const factWords = new Set(haystack.needles.flatMap((n) => [n.keyWordIndex, n.keyWordIndex + 1, n.keyWordIndex + 2,
      n.keyWordIndex + 3, n.keyWordIndex + 4]));
    haystack.words.forEach((word, i) => {
      if (!factWords.has(i)) assert.ok(FILLER_WORDS.includes(word), `word ${i} "${word}" is filler`);
    });
  });

  test('uses unique keys and distinct value pairs, reproducibly from the seed', () => {
    const options = { tokenCountApprox: 2000, needles: NEEDLE_KEYS.map((_, i) => ({ depth: i / 31 })), seed: 9 };
    const haystack = makeHaystack(options);
    assert.equal(new Set(haystack.needles.map((n) => n.key)).size, NEEDLE_KEYS.length);
    assert.equal(new Set(haystack.needles.map((n) => n.values.join(' '))).size, NEEDLE_KEYS.length);
    for (const n of haystack.needles) assert.ok(n.values.every((v) => NEEDLE_VALUES.includes(v)));
    assert.deepEqual(makeHaystack(options), haystack);
    assert.notDeepEqual(makeHaystack({ ...options, seed: 10 }).text, haystack.text);
  });

  test('keeps given keys and values', () => {
    const haystack = makeHaystack({ wordCount: 50, needles: [{ depth: 0.5, key: 'K17', values: ['V04', 'V09'] }], seed: 1 });
    assert.match(haystack.text, / K17 : V04 V09 \. /);
  });

  test('rejects bad requests with RangeError', () => {
    const bad: Array<Parameters<typeof makeHaystack>[0]> = [
      { needles: [], seed: 1 },
      { wordCount: 9, needles: [{ depth: 0.1 }, { depth: 0.2 }], seed: 1 },
      { wordCount: 100, needles: [{ depth: 1.5 }], seed: 1 },
      { wordCount: 100, needles: [{ depth: 0.1, key: 'K17' }, { depth: 0.2, key: 'K17' }], seed: 1 },
      { wordCount: 100, needles: [{ depth: 0.1, key: 'K99' }], seed: 1 },
      { wordCount: 100, needles: [{ depth: 0.1, values: ['V04', 'V99'] }], seed: 1 },
    ];
    for (const options of bad) assert.throws(() => makeHaystack(options), RangeError, JSON.stringify(options));
  });
});

test('needleQuestion and needlePrompt end the prompt with `? KEY :`', () => {
  assert.equal(needleQuestion('K17'), '? K17 :');
  assert.equal(needlePrompt('the river', 'K17'), 'the river ? K17 :');
});
