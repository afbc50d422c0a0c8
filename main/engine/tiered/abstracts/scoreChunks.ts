// Ranks chunks for a question from their abstracts (Quest-style upper bounds on q·k), without touching
// their KV blobs. Runs on every question and every progressive re-selection, over every chunk of the
// document, so the inner loop is written for V8: packed typed arrays, a gather index instead of a
// branch, and eight chunks per pass so each query value is loaded once for eight multiply-adds.
import { abstractLength } from './computeAbstract.ts';

export interface ScoreChunksInput {
  /** Per scoring layer (same order as in the abstracts), the question's queries laid out [token][head][dim]. */
  queries: readonly Float32Array[];
  nQueryTokens: number;
  /** Query heads; query head h reads KV head floor(h / (nHeads / nKvHeads)) (GQA). */
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /**
   * Every chunk's full abstract, packed chunk after chunk: [chunk][layer][kvHead][min|max][dim]
   * (see computeAbstract.ts and packAbstracts). Keep it packed between questions: packing is the
   * slowest part of scoring when done each time.
   */
  abstracts: Float32Array;
}

/** Packs per-chunk abstracts (each [layer][kvHead][min|max][dim]) for scoreChunks. */
export function packAbstracts(perChunk: readonly Float32Array[]): Float32Array {
  const stride = perChunk[0]?.length ?? 0;
  const out = new Float32Array(stride * perChunk.length);
  perChunk.forEach((abstract, c) => {
    if (abstract.length !== stride) throw new RangeError(`chunk ${c}'s abstract has ${abstract.length} values, chunk 0's has ${stride}`);
    out.set(abstract, c * stride);
  });
  return out;
}

/**
 * Upper bounds, per (layer, query head) and chunk, on the attention logit any of the question's query
 * tokens can give any key of the chunk: max over tokens t of Σ_d max(q_td·min_d, q_td·max_d).
 * Returned as [layer * nHeads + head][chunk]. Assumes min <= max in every abstract channel (as
 * computeAbstract and mergeAbstracts produce): the bound then reads max_d where q_d > 0, else min_d.
 */
export function chunkUpperBounds(input: ScoreChunksInput): Float64Array {
  const { queries, nQueryTokens: T, nHeads: H, nKvHeads: G, headDim: D, abstracts } = input;
  const L = queries.length;
  checkInput(input);
  const stride = L * abstractLength(G, D);
  const C = abstracts.length / stride;
  const groupSize = H / G;

  // For each (layer, head, token, dim): the query value, and where in a chunk's abstract the bound reads
  // for it: max_d when q_d > 0, else min_d. Then ub = Σ_d q[d] * abstract[index[d]].
  const n = L * H * T * D;
  const q = new Float64Array(n);
  const index = new Int32Array(n);
  for (let l = 0; l < L; l++) {
    const layerQueries = queries[l];
    for (let h = 0; h < H; h++) {
      const headAt = (l * G + Math.floor(h / groupSize)) * 2 * D;
      for (let t = 0; t < T; t++) {
        const from = (t * H + h) * D;
        const to = ((l * H + h) * T + t) * D;
        for (let d = 0; d < D; d++) {
          const v = layerQueries[from + d];
          q[to + d] = v;
          index[to + d] = headAt + (v > 0 ? D : 0) + d;
        }
      }
    }
  }

  const LH = L * H;
  const bounds = new Float64Array(LH * C);
  const a = abstracts;
  // Offsets of the 8 chunks of a pass, hoisted: V8 does not always lift them out of the inner loop.
  const S = stride, S2 = 2 * S, S3 = 3 * S, S4 = 4 * S, S5 = 5 * S, S6 = 6 * S, S7 = 7 * S;
  let c = 0;
  for (; c + 8 <= C; c += 8) {
    const chunkAt = c * S;
    for (let lh = 0; lh < LH; lh++) {
      let b0 = -Infinity, b1 = -Infinity, b2 = -Infinity, b3 = -Infinity, b4 = -Infinity, b5 = -Infinity, b6 = -Infinity, b7 = -Infinity;
      for (let t = 0; t < T; t++) {
        const from = (lh * T + t) * D;
        const to = from + D;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (let k = from; k < to; k++) {
          const v = q[k];
          const i = index[k] + chunkAt;
          s0 += v * a[i];
          s1 += v * a[i + S];
          s2 += v * a[i + S2];
          s3 += v * a[i + S3];
          s4 += v * a[i + S4];
          s5 += v * a[i + S5];
          s6 += v * a[i + S6];
          s7 += v * a[i + S7];
        }
        if (s0 > b0) b0 = s0;
        if (s1 > b1) b1 = s1;
        if (s2 > b2) b2 = s2;
        if (s3 > b3) b3 = s3;
        if (s4 > b4) b4 = s4;
        if (s5 > b5) b5 = s5;
        if (s6 > b6) b6 = s6;
        if (s7 > b7) b7 = s7;
      }
      const r = lh * C + c;
      bounds[r] = b0;
      bounds[r + 1] = b1;
      bounds[r + 2] = b2;
      bounds[r + 3] = b3;
      bounds[r + 4] = b4;
      bounds[r + 5] = b5;
      bounds[r + 6] = b6;
      bounds[r + 7] = b7;
    }
  }
  for (; c < C; c++) {
    const chunkAt = c * S;
    for (let lh = 0; lh < LH; lh++) {
      let best = -Infinity;
      for (let t = 0; t < T; t++) {
        const from = (lh * T + t) * D;
        let s = 0;
        for (let k = from; k < from + D; k++) s += q[k] * a[index[k] + chunkAt];
        if (s > best) best = s;
      }
      bounds[lh * C + c] = best;
    }
  }
  return bounds;
}

/**
 * One relevance score per chunk (higher is more relevant), from chunkUpperBounds.
 *
 * How the (layer, head) bounds are combined: each head's bounds are standardised across chunks (minus
 * their mean, over their standard deviation), and a chunk's score is its best standardised bound over
 * all (layer, head). Why:
 * - Raw bounds are not comparable across heads: a head with large keys (or a wide min-max box) has
 *   large bounds for every chunk, and in a plain sum or max it would decide the ranking alone although
 *   it barely tells chunks apart. Standardising asks each head only "how unusual is this chunk for you".
 * - Max, not sum: retrieval is carried by a few heads (needle-in-a-haystack works through specialised
 *   heads); a sum would let the many indifferent heads average away the one that singles a chunk out.
 * - The denominator is std + 1e-3·mean|bound| (+ a tiny floor), so a head whose bounds are nearly equal
 *   across chunks (relative spread ≲ 0.1%, i.e. noise) yields scores near 0 instead of blowing its
 *   rounding noise up to unit scale.
 * With one chunk every score is 0.
 */
export function scoreChunks(input: ScoreChunksInput): Float64Array {
  return standardizedScores(chunkUpperBounds(input), input.queries.length * input.nHeads);
}

/**
 * scoreChunks for chunks that will be moved before they are attended (compact positions): chunk c's
 * keys move by shifts[c], so its bounds are taken with the queries rotated by −shifts[c]
 * (`rotate(queries, delta)`, RoPE's rotation by delta positions), which is the same dot product.
 */
export function scoreShiftedChunks(input: ScoreChunksInput, shifts: Int32Array, rotate: (queries: Float32Array, delta: number) => Float32Array): Float64Array {
  checkInput(input);
  const LH = input.queries.length * input.nHeads;
  const stride = input.queries.length * abstractLength(input.nKvHeads, input.headDim);
  const C = input.abstracts.length / stride;
  if (shifts.length !== C) throw new RangeError(`shifts has ${shifts.length} values for ${C} chunks`);
  const bounds = new Float64Array(LH * C);
  const queriesAt = queriesPerShift(input.queries, rotate);
  for (let c = 0; c < C; c++) {
    const one = chunkUpperBounds({
      ...input,
      queries: queriesAt(shifts[c]),
      abstracts: input.abstracts.subarray(c * stride, (c + 1) * stride),
    });
    for (let lh = 0; lh < LH; lh++) bounds[lh * C + c] = one[lh];
  }
  return standardizedScores(bounds, LH);
}

/**
 * The queries to score a chunk moved by `shift` with (rotated by -shift), made once per shift: a
 * library document's chunks share one.
 */
export function queriesPerShift(queries: readonly Float32Array[], rotate: (queries: Float32Array, delta: number) => Float32Array): (shift: number) => readonly Float32Array[] {
  const rotated = new Map<number, readonly Float32Array[]>();
  return (shift) => {
    let known = rotated.get(shift);
    if (!known) rotated.set(shift, (known = shift === 0 ? queries : queries.map((layer) => rotate(layer, -shift))));
    return known;
  };
}

/** Each (layer, head)'s bounds standardised across the chunks; a chunk's score is its best. */
export function standardizedScores(bounds: Float64Array, LH: number): Float64Array {
  const C = bounds.length / LH;
  const scores = new Float64Array(C).fill(-Infinity); // LH >= 1: checkInput requires a layer and a head
  for (let lh = 0; lh < LH; lh++) {
    const at = lh * C;
    let sum = 0;
    let sumAbs = 0;
    for (let c = 0; c < C; c++) {
      sum += bounds[at + c];
      sumAbs += Math.abs(bounds[at + c]);
    }
    const mean = sum / C;
    let squares = 0;
    for (let c = 0; c < C; c++) {
      const dev = bounds[at + c] - mean;
      squares += dev * dev;
    }
    const scale = 1 / (Math.sqrt(squares / C) + 1e-3 * (sumAbs / C) + 1e-12);
    for (let c = 0; c < C; c++) {
      const z = (bounds[at + c] - mean) * scale;
      if (z > scores[c]) scores[c] = z;
    }
  }
  return scores;
}

function checkInput(input: ScoreChunksInput): void {
  const { queries, nQueryTokens, nHeads, nKvHeads, headDim, abstracts } = input;
  for (const [name, value] of [
    ['nQueryTokens', nQueryTokens],
    ['nHeads', nHeads],
    ['nKvHeads', nKvHeads],
    ['headDim', headDim],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  if (nHeads % nKvHeads !== 0) throw new RangeError(`nHeads (${nHeads}) must be a multiple of nKvHeads (${nKvHeads})`);
  if (queries.length < 1) throw new RangeError('queries must hold at least one scoring layer');
  queries.forEach((layer, l) => {
    if (layer.length !== nQueryTokens * nHeads * headDim) {
      throw new RangeError(`queries[${l}] has ${layer.length} values, expected nQueryTokens * nHeads * headDim = ${nQueryTokens * nHeads * headDim}`);
    }
  });
  const stride = queries.length * abstractLength(nKvHeads, headDim);
  if (abstracts.length % stride !== 0) {
    throw new RangeError(`abstracts has ${abstracts.length} values, not a multiple of one chunk's ${stride} (layers * nKvHeads * 2 * headDim)`);
  }
}
