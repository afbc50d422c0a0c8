// Random-weight llama models of any shape, for tests and benchmarks where only the shape matters
// (speed, memory, KV sizes, exactness of splicing). Deterministic for a given seed.

import { meta, writeGguf } from '../gguf/GgufWriter.ts';
import type { GgufTensor, GgufTensorType } from '../gguf/GgufWriter.ts';
import { FIRST_PIECE_ID, SPACE_MARK, buildSpmVocab, spmVocabMetadata } from './buildSpmVocab.ts';
import { createRng } from './createRng.ts';
import { llamaMetadata } from './llamaMetadata.ts';

export interface RandomModelOptions {
  layers: number;
  embd: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Total tokens, at least MIN_RANDOM_VOCAB (specials, 256 bytes and `▁`). */
  vocab: number;
  /** Defaults to 3.5 × embd rounded up to 32 (an 8B llama's 14336 / 4096). */
  ffn?: number;
  type: GgufTensorType;
  seed: number;
  /** Training context written to the GGUF; default 131072. */
  contextLength?: number;
  /** The end-of-generation token (tokenizer.ggml.eos_token_id); default `</s>`. A token the random weights do predict makes answers end. */
  eosTokenId?: number;
  /** A Jinja chat template (tokenizer.chat_template), to exercise the chat path of the engines. */
  chatTemplate?: string;
  /** tokenizer.ggml.add_bos_token; default true. Qwen2/Qwen3/Phi-3 GGUFs say false. */
  addBosToken?: boolean;
}

export const MIN_RANDOM_VOCAB = FIRST_PIECE_ID + 1;

const WEIGHT_STD = 0.02;
const CHUNK_VALUES = 1 << 20;
const ALPHABET = [
  ...'etaoinshrdlucmfwypvbgkjqxz',
  ...'ETAOINSHRDLUCMFWYPVBGKJQXZ',
  ...'0123456789',
  ...'.,:;!?\'"-()[]/',
];

export function defaultFfnSize(embd: number): number {
  return Math.ceil((embd * 3.5) / 32) * 32;
}

export async function makeRandomModel(outPath: string, options: RandomModelOptions): Promise<void> {
  const { layers, embd, heads, kvHeads, headDim, vocab, type, seed } = options;
  const ffn = options.ffn ?? defaultFfnSize(embd);
  checkShape(options, ffn);

  const names: Array<{ name: string; shape: number[] }> = [{ name: 'token_embd.weight', shape: [vocab, embd] }];
  for (let layer = 0; layer < layers; layer++) {
    const blk = (suffix: string): string => `blk.${layer}.${suffix}.weight`;
    names.push(
      { name: blk('attn_norm'), shape: [embd] },
      { name: blk('attn_q'), shape: [heads * headDim, embd] },
      { name: blk('attn_k'), shape: [kvHeads * headDim, embd] },
      { name: blk('attn_v'), shape: [kvHeads * headDim, embd] },
      { name: blk('attn_output'), shape: [embd, heads * headDim] },
      { name: blk('ffn_norm'), shape: [embd] },
      { name: blk('ffn_gate'), shape: [ffn, embd] },
      { name: blk('ffn_up'), shape: [ffn, embd] },
      { name: blk('ffn_down'), shape: [embd, ffn] },
    );
  }
  names.push({ name: 'output_norm.weight', shape: [embd] }, { name: 'output.weight', shape: [vocab, embd] });

  const tensors: GgufTensor[] = names.map(({ name, shape }, index) =>
    shape.length === 1
      // Norm gains stay F32 and 1, as converters keep 1-D tensors in F32.
      ? { name, shape, type: 'f32', data: new Float32Array(shape[0]!).fill(1) }
      : { name, shape, type, data: () => normalChunks(shape[0]! * shape[1]!, tensorSeed(seed, index)) },
  );
  const spmVocab = buildSpmVocab(randomVocabPieces(vocab - FIRST_PIECE_ID));
  await writeGguf(outPath, {
    metadata: {
      ...llamaMetadata({
        name: `strata-random-${layers}x${embd}-h${heads}-kv${kvHeads}x${headDim}`,
        layerCount: layers,
        embdSize: embd,
        headCount: heads,
        kvHeadCount: kvHeads,
        headDim,
        ffnSize: ffn,
        contextLength: options.contextLength ?? 131072,
        vocabSize: vocab,
        ropeFreqBase: 500000,
        rmsEps: 1e-5,
        fileType: type,
      }),
      ...spmVocabMetadata(spmVocab),
      ...(options.chatTemplate ? { 'tokenizer.chat_template': meta.string(options.chatTemplate) } : {}),
      ...(options.eosTokenId !== undefined ? { 'tokenizer.ggml.eos_token_id': meta.u32(options.eosTokenId) } : {}),
      ...(options.addBosToken === false ? { 'tokenizer.ggml.add_bos_token': meta.bool(false) } : {}),
    },
    tensors,
  });
}

function checkShape(options: RandomModelOptions, ffn: number): void {
  const positive: Array<[string, number]> = [
    ['layers', options.layers], ['embd', options.embd], ['heads', options.heads], ['kvHeads', options.kvHeads],
    ['headDim', options.headDim], ['vocab', options.vocab], ['ffn', ffn], ['contextLength', options.contextLength ?? 1],
  ];
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  if (options.heads % options.kvHeads !== 0) {
    throw new RangeError(`heads (${options.heads}) must be a multiple of kvHeads (${options.kvHeads})`);
  }
  if (options.headDim % 2 !== 0) throw new RangeError(`headDim must be even for RoPE, got ${options.headDim}`);
  if (options.vocab < MIN_RANDOM_VOCAB) throw new RangeError(`vocab must be at least ${MIN_RANDOM_VOCAB}, got ${options.vocab}`);
  if (options.type !== 'f16' && options.type !== 'f32') throw new RangeError(`type must be f16 or f32, got ${options.type}`);
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
}

/** Each tensor gets its own stream, so its values do not depend on the order tensors are written in. */
export function tensorSeed(seed: number, index: number): number {
  return (seed ^ Math.imul(index + 1, 0x9e3779b9)) | 0;
}

export function* normalChunks(count: number, seed: number): Generator<Float32Array> {
  const rng = createRng(seed);
  const buffer = new Float32Array(Math.min(count, CHUNK_VALUES));
  for (let done = 0; done < count; done += buffer.length) {
    const chunk = count - done < buffer.length ? buffer.subarray(0, count - done) : buffer;
    yield rng.fillNormal(chunk, WEIGHT_STD);
  }
}

/**
 * `▁`, single characters, then longer strings level by level (`▁` only in front), so every piece is
 * the merge of two shorter pieces and common text tokenizes into multi-character pieces.
 */
export function randomVocabPieces(count: number): string[] {
  const pieces: string[] = [];
  let level = [SPACE_MARK, ...ALPHABET];
  for (;;) {
    for (const piece of level) {
      if (pieces.length === count) return pieces;
      pieces.push(piece);
    }
    level = level.flatMap((piece) => ALPHABET.map((char) => piece + char));
  }
}
