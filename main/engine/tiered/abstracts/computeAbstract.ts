// A chunk's abstract (Quest): for one scoring layer, per KV head and per channel, the min and max of the
// chunk's post-RoPE keys. For any query q, Σ_d max(q_d·min_d, q_d·max_d) bounds q·k from above for
// every key k in the chunk, so chunks can be ranked without loading their KV blobs.
//
// Layout of one layer's abstract (Float32Array, length nKvHeads * 2 * headDim):
//   [kvHead][0 = min, 1 = max][dim]   i.e. min of head g, channel d at g*2*headDim + d,
//                                           max of head g, channel d at g*2*headDim + headDim + d.
// A chunk's full abstract (what the catalog stores and scoreChunks reads) is its layers' abstracts
// concatenated in scoring-layer order: [layer][kvHead][min|max][dim].

export interface CapturedKeys {
  /** Post-RoPE keys laid out [token][kvHead][dim]. */
  keys: Float32Array;
  nTokens: number;
  nKvHeads: number;
  headDim: number;
}

export function abstractLength(nKvHeads: number, headDim: number): number {
  return nKvHeads * 2 * headDim;
}

/** The abstract of tokens `[tokenStart, tokenEnd)` of the captured keys (token indices into `keys`). */
export function computeAbstract(captured: CapturedKeys, tokenStart: number, tokenEnd: number): Float32Array {
  const { keys, nTokens, nKvHeads, headDim } = captured;
  checkShape(nKvHeads, headDim);
  if (!Number.isSafeInteger(nTokens) || nTokens < 0 || keys.length !== nTokens * nKvHeads * headDim) {
    throw new RangeError(`keys has ${keys.length} values, expected nTokens * nKvHeads * headDim = ${nTokens} * ${nKvHeads} * ${headDim}`);
  }
  if (!Number.isSafeInteger(tokenStart) || !Number.isSafeInteger(tokenEnd) || tokenStart < 0 || tokenEnd > nTokens || tokenStart >= tokenEnd) {
    throw new RangeError(`token range [${tokenStart}, ${tokenEnd}) must be non-empty and within [0, ${nTokens})`);
  }
  const stride = nKvHeads * headDim;
  const out = new Float32Array(abstractLength(nKvHeads, headDim));
  for (let g = 0; g < nKvHeads; g++) {
    const minAt = g * 2 * headDim;
    const maxAt = minAt + headDim;
    const first = tokenStart * stride + g * headDim;
    for (let d = 0; d < headDim; d++) out[minAt + d] = out[maxAt + d] = keys[first + d];
    for (let t = tokenStart + 1; t < tokenEnd; t++) {
      const row = t * stride + g * headDim;
      for (let d = 0; d < headDim; d++) {
        const v = keys[row + d];
        if (v < out[minAt + d]) out[minAt + d] = v;
        if (v > out[maxAt + d]) out[maxAt + d] = v;
      }
    }
  }
  return out;
}

/**
 * The abstract of the union of two token sets (a chunk whose tokens arrived in two decode batches).
 * Works on one layer's abstract or on whole multi-layer abstracts alike, since each is a sequence of
 * [min × headDim, max × headDim] blocks.
 */
export function mergeAbstracts(a: Float32Array, b: Float32Array, headDim: number): Float32Array {
  if (!Number.isSafeInteger(headDim) || headDim < 1) throw new RangeError(`headDim must be a positive integer, got ${headDim}`);
  if (a.length !== b.length || a.length % (2 * headDim) !== 0) {
    throw new RangeError(`abstracts of ${a.length} and ${b.length} values cannot be merged with headDim ${headDim}`);
  }
  const out = new Float32Array(a.length);
  for (let block = 0; block < a.length; block += 2 * headDim) {
    for (let d = block; d < block + headDim; d++) out[d] = Math.min(a[d], b[d]);
    for (let d = block + headDim; d < block + 2 * headDim; d++) out[d] = Math.max(a[d], b[d]);
  }
  return out;
}

/** One chunk's full abstract from its per-layer abstracts, in scoring-layer order. */
export function concatLayerAbstracts(layers: readonly Float32Array[]): Float32Array {
  let length = 0;
  for (const layer of layers) length += layer.length;
  const out = new Float32Array(length);
  let at = 0;
  for (const layer of layers) {
    out.set(layer, at);
    at += layer.length;
  }
  return out;
}

function checkShape(nKvHeads: number, headDim: number): void {
  if (!Number.isSafeInteger(nKvHeads) || nKvHeads < 1) throw new RangeError(`nKvHeads must be a positive integer, got ${nKvHeads}`);
  if (!Number.isSafeInteger(headDim) || headDim < 1) throw new RangeError(`headDim must be a positive integer, got ${headDim}`);
}
