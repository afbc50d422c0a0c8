// The needle model of docs/NEEDLE_MODEL.md: a 2-layer llama with hand-set weights that retrieves facts
// through attention (three previous-token heads, then an induction head), so that a context missing
// the fact's cells answers wrongly. Read that file first: the numbers below are derived there.

import { writeGguf } from '../gguf/GgufWriter.ts';
import type { GgufTensor } from '../gguf/GgufWriter.ts';
import { BOS_ID, EOS_ID, SPACE_MARK, buildSpmVocab, spmVocabMetadata } from './buildSpmVocab.ts';
import type { SpmVocab } from './buildSpmVocab.ts';
import { llamaMetadata } from './llamaMetadata.ts';
import { FIRST_WORD_SLOT, NEEDLE_SLOT_COUNT, NEEDLE_WORDS } from './needleVocabulary.ts';

export { FILLER_WORDS, NEEDLE_KEYS, NEEDLE_VALUES, NEEDLE_WORDS } from './needleVocabulary.ts';
export { makeHaystack, needlePrompt, needleQuestion } from './haystack.ts';
export type { Haystack, HaystackOptions, NeedleSpec, PlacedNeedle } from './haystack.ts';

const EMBD = 384;
const HEADS = 3;
const HEAD_DIM = 256;
const FFN = 32;
const ROPE_BASE = 10000;
const ROTATED_PAIRS = 17;
const SLOTS = NEEDLE_SLOT_COUNT;

// Residual stream blocks, each SLOTS wide: current token, tokens 1/2/3 back, copied token.
const I = 1;
const P1 = I + SLOTS;
const P2 = P1 + SLOTS;
const P3 = P2 + SLOTS;
const O = P3 + SLOTS;

// RMSNorm turns each unit component into √(n_embd / number of unit components).
const C1 = Math.sqrt(EMBD / 2);
const C2 = Math.sqrt(EMBD / 5);

/** Angle step of rotated pair j: π / 2^j, so previous-token scores peak sharply at one offset. */
const theta = (j: number): number => Math.PI / 2 ** j;

/** The needle model's vocabulary: ▁, the 71 words, then the prefix pieces the merges pass through. */
export function needleVocab(): SpmVocab {
  const pieces = [SPACE_MARK, ...NEEDLE_WORDS.map((word) => SPACE_MARK + word)];
  const known = new Set(pieces);
  for (const word of NEEDLE_WORDS) {
    for (let length = 1; length < word.length; length++) {
      const prefix = SPACE_MARK + word.slice(0, length);
      if (!known.has(prefix)) {
        known.add(prefix);
        pieces.push(prefix);
      }
    }
  }
  return buildSpmVocab(pieces);
}

/** Writes the needle model (≈ 7.7 MB, F32) to `outPath`. */
/** `contextLength`: the trained context the metadata claims (131072 by default; the weights work at any length). */
export async function makeNeedleModel(outPath: string, options: { contextLength?: number } = {}): Promise<void> {
  const vocab = needleVocab();
  const slotOf = tokenSlots(vocab);
  const vocabSize = vocab.tokens.length;

  const tokenEmbd = new Float32Array(vocabSize * EMBD);
  const output = new Float32Array(vocabSize * EMBD);
  for (let token = 0; token < vocabSize; token++) {
    const slot = slotOf[token]!;
    tokenEmbd[token * EMBD] = 1;
    tokenEmbd[token * EMBD + I + slot] = 1;
    if (slot >= FIRST_WORD_SLOT) output[token * EMBD + O + slot] = 2;
  }

  const tensors: GgufTensor[] = [
    { name: 'token_embd.weight', shape: [vocabSize, EMBD], type: 'f32', data: tokenEmbd },
    { name: 'rope_freqs.weight', shape: [HEAD_DIM / 2], type: 'f32', data: ropeFreqFactors() },
    ...layerTensors(0, previousTokenLayer()),
    ...layerTensors(1, inductionLayer()),
    { name: 'output_norm.weight', shape: [EMBD], type: 'f32', data: ones(EMBD) },
    { name: 'output.weight', shape: [vocabSize, EMBD], type: 'f32', data: output },
  ];
  await writeGguf(outPath, {
    metadata: {
      ...llamaMetadata({
        name: 'strata-needle',
        layerCount: 2,
        embdSize: EMBD,
        headCount: HEADS,
        kvHeadCount: 1,
        headDim: HEAD_DIM,
        ffnSize: FFN,
        contextLength: options.contextLength ?? 131072,
        vocabSize,
        ropeFreqBase: ROPE_BASE,
        rmsEps: 1e-6,
        fileType: 'f32',
      }),
      ...spmVocabMetadata(vocab),
    },
    tensors,
  });
}

function tokenSlots(vocab: SpmVocab): Uint8Array {
  const slots = new Uint8Array(vocab.tokens.length);
  slots[BOS_ID] = 1;
  slots[EOS_ID] = 2;
  NEEDLE_WORDS.forEach((word, i) => {
    slots[vocab.idOf.get(SPACE_MARK + word)!] = FIRST_WORD_SLOT + i;
  });
  return slots;
}

/**
 * llama.cpp rotates pair j by pos · base^(−2j/d) / ff_j: pick ff_j for a step of θ_j on the first
 * pairs, and a huge ff_j elsewhere so those dims never rotate (the induction head matches there).
 */
function ropeFreqFactors(): Float32Array {
  const factors = new Float32Array(HEAD_DIM / 2).fill(1e30);
  for (let j = 0; j < ROTATED_PAIRS; j++) factors[j] = ROPE_BASE ** ((-2 * j) / HEAD_DIM) / theta(j);
  return factors;
}

interface AttentionWeights {
  q: Matrix;
  k: Matrix;
  v: Matrix;
  o: Matrix;
}

/** Layer 0: head h attends exactly k = h + 1 tokens back and writes that token's one-hot into P_k. */
function previousTokenLayer(): AttentionWeights {
  const q = new Matrix(HEADS * HEAD_DIM, EMBD);
  const k = new Matrix(HEAD_DIM, EMBD);
  for (let j = 0; j < ROTATED_PAIRS; j++) {
    k.set(2 * j, 0, 16 / C1);
    for (let h = 0; h < HEADS; h++) {
      const offset = h + 1;
      q.set(HEAD_DIM * h + 2 * j, 0, (16 * Math.cos(offset * theta(j))) / C1);
      q.set(HEAD_DIM * h + 2 * j + 1, 0, (-16 * Math.sin(offset * theta(j))) / C1);
    }
  }
  const v = new Matrix(HEAD_DIM, EMBD);
  const o = new Matrix(EMBD, HEADS * HEAD_DIM);
  const previousBlocks = [P1, P2, P3];
  for (let s = 0; s < SLOTS; s++) {
    v.set(s, I + s, 1 / C1);
    for (let h = 0; h < HEADS; h++) o.set(previousBlocks[h]! + s, HEAD_DIM * h + s, 1);
  }
  return { q, k, v, o };
}

/**
 * Layer 1, head 0: a query (cur, prev1, prev2) matches keys (prev1, prev2, prev3) with weights
 * (1, 2, 1), so `? K17 :` finds the cell right after `K17 :` and copies its token into O.
 * Heads 1 and 2 exist only because n_head is global; their weights stay zero.
 */
function inductionLayer(): AttentionWeights {
  const q = new Matrix(HEADS * HEAD_DIM, EMBD);
  const k = new Matrix(HEAD_DIM, EMBD);
  const queryBlocks = [I, P1, P2];
  const keyBlocks = [P1, P2, P3];
  const weights = [1, 2, 1];
  for (let b = 0; b < 3; b++) {
    for (let s = 1; s < SLOTS; s++) {
      const row = 2 * ROTATED_PAIRS + SLOTS * b + s;
      k.set(row, keyBlocks[b]! + s, 16 / C2);
      q.set(row, queryBlocks[b]! + s, (32 * weights[b]!) / C2);
    }
  }
  const v = new Matrix(HEAD_DIM, EMBD);
  const o = new Matrix(EMBD, HEADS * HEAD_DIM);
  for (let s = 0; s < SLOTS; s++) {
    v.set(s, I + s, 1 / C2);
    o.set(O + s, s, 1);
  }
  return { q, k, v, o };
}

function layerTensors(layer: number, attention: AttentionWeights): GgufTensor[] {
  const name = (suffix: string): string => `blk.${layer}.${suffix}.weight`;
  const matrix = (suffix: string, m: Matrix): GgufTensor => ({
    name: name(suffix),
    shape: [m.rows, m.cols],
    type: 'f32',
    data: m.data,
  });
  // The FFN is all zeros: it adds nothing, so the stream keeps the components the norms assume.
  return [
    { name: name('attn_norm'), shape: [EMBD], type: 'f32', data: ones(EMBD) },
    matrix('attn_q', attention.q),
    matrix('attn_k', attention.k),
    matrix('attn_v', attention.v),
    matrix('attn_output', attention.o),
    { name: name('ffn_norm'), shape: [EMBD], type: 'f32', data: ones(EMBD) },
    matrix('ffn_gate', new Matrix(FFN, EMBD)),
    matrix('ffn_up', new Matrix(FFN, EMBD)),
    matrix('ffn_down', new Matrix(EMBD, FFN)),
  ];
}

function ones(length: number): Float32Array {
  return new Float32Array(length).fill(1);
}

/** Row-major [rows][cols], rows = output features, as GGUF weights are laid out. */
class Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;

  constructor(rows: number, cols: number) {
    this.rows = rows;
    this.cols = cols;
    this.data = new Float32Array(rows * cols);
  }

  set(row: number, col: number, value: number): void {
    this.data[row * this.cols + col] = value;
  }
}
