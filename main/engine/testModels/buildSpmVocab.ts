// A SentencePiece-style ("llama") vocabulary for generated models: <unk>, <s>, </s>, the 256 byte
// tokens (without them llama.cpp throws on any character outside the vocabulary), then the pieces.
// llama.cpp's SPM tokenizer merges adjacent symbols whose concatenation is a piece, best score first.

import { meta } from '../gguf/GgufWriter.ts';
import type { GgufValue } from '../gguf/GgufWriter.ts';

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const FIRST_BYTE_ID = 3;
export const FIRST_PIECE_ID = FIRST_BYTE_ID + 256;

/** SentencePiece's word-boundary mark; llama.cpp replaces spaces with it and prefixes the text with one. */
export const SPACE_MARK = '\u2581';

// llama_token_type values as stored in tokenizer.ggml.token_type.
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const BYTE = 6;

export interface SpmVocab {
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  idOf: ReadonlyMap<string, number>;
}

/**
 * `pieces` get ids from FIRST_PIECE_ID on, in order; earlier pieces score higher. `controlTokens`
 * (a chat template's `<|im_start|>`, `[INST]`…) follow them as CONTROL tokens, which llama.cpp
 * matches whole in text tokenized with special tokens on.
 */
export function buildSpmVocab(pieces: readonly string[], controlTokens: readonly string[] = []): SpmVocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let byte = 0; byte < 256; byte++) tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  tokens.push(...pieces);
  const firstControlId = tokens.length;
  tokens.push(...controlTokens);
  const idOf = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (token.length === 0) throw new RangeError(`vocabulary piece ${id} is empty`);
    if (idOf.has(token)) throw new RangeError(`vocabulary piece ${JSON.stringify(token)} appears twice`);
    idOf.set(token, id);
  });
  const scores = new Float32Array(tokens.length);
  const types = new Int32Array(tokens.length).fill(NORMAL);
  types[UNK_ID] = UNKNOWN;
  types[BOS_ID] = CONTROL;
  types[EOS_ID] = CONTROL;
  for (let id = FIRST_BYTE_ID; id < FIRST_PIECE_ID; id++) types[id] = BYTE;
  for (let id = FIRST_PIECE_ID; id < firstControlId; id++) scores[id] = -(id - FIRST_PIECE_ID);
  for (let id = firstControlId; id < tokens.length; id++) types[id] = CONTROL;
  return { tokens, scores, types, idOf };
}

export function spmVocabMetadata(vocab: SpmVocab): Record<string, GgufValue> {
  return {
    'tokenizer.ggml.model': meta.string('llama'),
    'tokenizer.ggml.tokens': meta.strings(vocab.tokens),
    'tokenizer.ggml.scores': meta.f32s(vocab.scores),
    'tokenizer.ggml.token_type': meta.i32s(vocab.types),
    'tokenizer.ggml.bos_token_id': meta.u32(BOS_ID),
    'tokenizer.ggml.eos_token_id': meta.u32(EOS_ID),
    'tokenizer.ggml.unknown_token_id': meta.u32(UNK_ID),
    'tokenizer.ggml.add_bos_token': meta.bool(true),
    'tokenizer.ggml.add_eos_token': meta.bool(false),
    'tokenizer.ggml.add_space_prefix': meta.bool(true),
  };
}
