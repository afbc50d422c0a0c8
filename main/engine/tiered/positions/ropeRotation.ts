// RoPE as llama.cpp applies it, to rotate captured post-RoPE queries by a position offset. When the
// chunks of an answer are moved to compact positions (llama_memory_seq_add), a key at n moves to
// n + Δ and llama.cpp rotates it by Δ; since q·R(Δ)k = R(−Δ)q·k, scoring the chunk's abstract (bounds
// of its keys at their stored positions) with the query rotated by −Δ scores it where it will be.
//
// Covers the rotations whose angle is linear in the position: rope type norm (pairs 2j, 2j+1) and
// neox (pairs j, j + n_rot/2), a frequency base, a linear scale and per-pair frequency factors
// (rope_freqs.weight: Llama 3.x's long-context factors). YaRN and LongRoPE scale angles non-linearly
// (llama.cpp mixes two angles per pair): for those `readRopeSpec` returns null and the caller scores
// at the stored positions.
import { open } from 'node:fs/promises';
import { readGgufFileInfo } from 'node-llama-cpp';

export interface RopeSpec {
  kind: 'norm' | 'neox';
  /** Rotated dimensions per head (the first n_rot of head_dim). */
  nRot: number;
  /** Angle per position of each pair j < nRot/2. */
  thetas: Float64Array;
}

/** llama_rope_type values (llama.h). */
const ROPE_NORM = 0;
const ROPE_NEOX = 2;

/**
 * The RoPE of the model at `path` as llama.cpp will apply it, or null when it is not a plain linear
 * rotation this module reproduces (no RoPE, M-RoPE, YaRN, LongRoPE).
 */
export async function readRopeSpec(path: string, ropeType: number, headDim: number): Promise<RopeSpec | null> {
  if (ropeType !== ROPE_NORM && ropeType !== ROPE_NEOX) return null;
  const info = await readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
  const metadata = info.metadata as unknown as Record<string, unknown>;
  const architecture = (metadata.general as { architecture?: string } | undefined)?.architecture ?? '';
  const arch = (metadata[architecture] ?? {}) as { rope?: Record<string, unknown> };
  const rope = arch.rope ?? {};
  const scaling = (rope.scaling ?? {}) as Record<string, unknown>;
  const scalingType = typeof scaling.type === 'string' ? scaling.type : 'linear';
  if (scalingType !== 'linear' && scalingType !== 'none') return null;
  const nRot = typeof rope.dimension_count === 'number' ? rope.dimension_count : headDim;
  const base = typeof rope.freq_base === 'number' ? rope.freq_base : 10000;
  const factor = typeof scaling.factor === 'number' && scaling.factor > 0 ? scaling.factor
    : typeof rope.scale_linear === 'number' && rope.scale_linear > 0 ? rope.scale_linear : 1;
  const freqScale = scalingType === 'none' ? 1 : 1 / factor;
  const freqFactors = await readFreqFactors(path, info.tensorInfo ?? [], nRot / 2);
  const thetas = new Float64Array(nRot / 2);
  for (let j = 0; j < thetas.length; j++) thetas[j] = (freqScale * base ** ((-2 * j) / nRot)) / (freqFactors?.[j] ?? 1);
  return { kind: ropeType === ROPE_NEOX ? 'neox' : 'norm', nRot, thetas };
}

async function readFreqFactors(path: string, tensors: ReadonlyArray<{ name: string; ggmlType: number; fileOffset: number | bigint; dimensions: readonly (number | bigint)[] }>, count: number): Promise<Float32Array | null> {
  const tensor = tensors.find((t) => t.name === 'rope_freqs.weight');
  if (!tensor) return null;
  if (tensor.ggmlType !== 0 || Number(tensor.dimensions[0]) !== count) throw new RangeError(`rope_freqs.weight must be ${count} f32 values`);
  const file = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(count * 4);
    await file.read(bytes, 0, bytes.length, Number(tensor.fileOffset));
    return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
  } finally {
    await file.close();
  }
}

/**
 * `vectors` ([token][head][headDim], post-RoPE) as llama.cpp would have rotated them `delta`
 * positions later (a negative delta: earlier). Returns a new array.
 */
export function rotateByPositions(vectors: Float32Array, headDim: number, spec: RopeSpec, delta: number): Float32Array {
  const out = vectors.slice();
  if (delta === 0) return out;
  const half = spec.nRot / 2;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    cos[j] = Math.cos(delta * spec.thetas[j]);
    sin[j] = Math.sin(delta * spec.thetas[j]);
  }
  for (let at = 0; at < vectors.length; at += headDim) {
    for (let j = 0; j < half; j++) {
      const i0 = at + (spec.kind === 'norm' ? 2 * j : j);
      const i1 = at + (spec.kind === 'norm' ? 2 * j + 1 : j + half);
      const x0 = vectors[i0];
      const x1 = vectors[i1];
      out[i0] = x0 * cos[j] - x1 * sin[j];
      out[i1] = x0 * sin[j] + x1 * cos[j];
    }
  }
  return out;
}
