// Needle-in-a-haystack documents for the needle model: filler words with facts `K17 : V04 V09 .`
// inserted at chosen depths. With the needle model's vocabulary every word is exactly one token, so
// word counts are token counts (plus BOS).

import { createRng } from './createRng.ts';
import { FILLER_WORDS, NEEDLE_KEYS, NEEDLE_VALUES } from './needleVocabulary.ts';

export interface NeedleSpec {
  /** Relative position in the document, in [0, 1]. */
  depth: number;
  /** Defaults to an unused key chosen from the seed. */
  key?: string;
  /** Defaults to a pair chosen from the seed, distinct from the other facts' pairs. */
  values?: readonly [string, string];
}

export interface PlacedNeedle {
  key: string;
  values: readonly [string, string];
  depth: number;
  /** Index of the key among the document's words (its token index is this + 1 after BOS). */
  keyWordIndex: number;
}

export interface HaystackOptions {
  /** Total words including the facts (5 words each); same as tokens without BOS. */
  wordCount?: number;
  /** Alias of wordCount, for callers that think in tokens. */
  tokenCountApprox?: number;
  needles: readonly NeedleSpec[];
  seed: number;
}

export interface Haystack {
  /** Space-separated words, no leading or trailing space (the tokenizer adds the leading `▁`). */
  text: string;
  words: string[];
  /** Sorted by position. */
  needles: PlacedNeedle[];
}

export const FACT_WORD_COUNT = 5;

export function makeHaystack(options: HaystackOptions): Haystack {
  const wordCount = options.wordCount ?? options.tokenCountApprox;
  if (wordCount === undefined || !Number.isInteger(wordCount) || wordCount < 1) {
    throw new RangeError('makeHaystack needs a positive integer wordCount (or tokenCountApprox)');
  }
  const fillerCount = wordCount - FACT_WORD_COUNT * options.needles.length;
  if (fillerCount < 1) throw new RangeError(`${wordCount} words cannot hold ${options.needles.length} facts`);
  if (options.needles.length > NEEDLE_KEYS.length) throw new RangeError(`at most ${NEEDLE_KEYS.length} needles`);

  const rng = createRng(options.seed);
  const usedKeys = new Set<string>();
  const usedPairs = new Set<string>();
  for (const needle of options.needles) {
    if (!(needle.depth >= 0 && needle.depth <= 1)) throw new RangeError(`needle depth ${needle.depth} is outside [0, 1]`);
    if (needle.key !== undefined) {
      if (!NEEDLE_KEYS.includes(needle.key)) throw new RangeError(`${needle.key} is not a needle key`);
      if (usedKeys.has(needle.key)) throw new RangeError(`key ${needle.key} is used twice`);
      usedKeys.add(needle.key);
    }
    if (needle.values !== undefined) {
      for (const value of needle.values) {
        if (!NEEDLE_VALUES.includes(value)) throw new RangeError(`${value} is not a needle value`);
      }
      usedPairs.add(needle.values.join(' '));
    }
  }
  const freeKeys = rng.shuffled(NEEDLE_KEYS.filter((key) => !usedKeys.has(key)));
  // Distinct value pairs, so that answering with another fact's values is always wrong.
  const pickValues = (): readonly [string, string] => {
    for (;;) {
      const pair = [NEEDLE_VALUES[rng.int(NEEDLE_VALUES.length)]!, NEEDLE_VALUES[rng.int(NEEDLE_VALUES.length)]!] as const;
      if (!usedPairs.has(pair.join(' '))) {
        usedPairs.add(pair.join(' '));
        return pair;
      }
    }
  };
  const facts = options.needles
    .map((needle) => ({
      key: needle.key ?? freeKeys.pop()!,
      values: needle.values ?? pickValues(),
      depth: needle.depth,
      fillerIndex: Math.round(needle.depth * fillerCount),
    }))
    .sort((a, b) => a.fillerIndex - b.fillerIndex);

  const words: string[] = [];
  const needles: PlacedNeedle[] = [];
  let nextFact = 0;
  for (let filler = 0; filler <= fillerCount; filler++) {
    while (nextFact < facts.length && facts[nextFact]!.fillerIndex === filler) {
      const fact = facts[nextFact++]!;
      needles.push({ key: fact.key, values: fact.values, depth: fact.depth, keyWordIndex: words.length });
      words.push(fact.key, ':', fact.values[0], fact.values[1], '.');
    }
    if (filler < fillerCount) words.push(FILLER_WORDS[rng.int(FILLER_WORDS.length)]!);
  }
  return { text: words.join(' '), words, needles };
}

/** The question for `key`, to follow the haystack after one space: `? K17 :`. */
export function needleQuestion(key: string): string {
  return `? ${key} :`;
}

/** The whole prompt: haystack, then the question. Greedy decoding should continue with the values. */
export function needlePrompt(haystackText: string, key: string): string {
  return `${haystackText} ${needleQuestion(key)}`;
}
