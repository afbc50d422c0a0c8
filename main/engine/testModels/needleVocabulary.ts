// The words of the needle task (docs/NEEDLE_MODEL.md): facts `K17 : V04 V09 .` in filler text, asked as
// `? K17 :`. Every word is one token (`▁word`); each word owns an identity slot in the model's stream.

const range = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);

export const NEEDLE_PUNCTUATION = ['.', ':', '?'] as const;
/** `K00`…`K31`: the keys; a document uses each at most once. */
export const NEEDLE_KEYS: readonly string[] = range('K', 32);
/** `V00`…`V15`: each fact stores two of them. */
export const NEEDLE_VALUES: readonly string[] = range('V', 16);
export const FILLER_WORDS: readonly string[] = [
  'the', 'river', 'stone', 'light', 'over', 'under', 'green', 'quiet', 'north', 'field',
  'window', 'paper', 'cloud', 'garden', 'simple', 'morning', 'harbor', 'silver', 'market', 'forest',
];
/** All 71 whole words, in vocabulary order. */
export const NEEDLE_WORDS: readonly string[] = [...NEEDLE_PUNCTUATION, ...NEEDLE_KEYS, ...NEEDLE_VALUES, ...FILLER_WORDS];

/** Slots: 0 for any other token, 1 BOS, 2 EOS, 3 + i for word i. */
export const NEEDLE_SLOT_COUNT = 3 + NEEDLE_WORDS.length;
export const FIRST_WORD_SLOT = 3;
