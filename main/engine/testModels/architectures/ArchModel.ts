// What an architecture module builds: the `<arch>.*` metadata llama.cpp's load_hparams reads and the
// tensors its load_tensors creates, named as in llama-arch.cpp (LLM_TENSOR_NAMES, LLM_KV_NAMES), with
// shapes written outermost first (llama.cpp's `{n_embd, n_out}` is our `[n_out, n_embd]`).

import { meta } from '../../gguf/GgufWriter.ts';
import type { GgufValue } from '../../gguf/GgufWriter.ts';

export interface ArchDims {
  layers: number;
  embd: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  vocab: number;
}

/** How a tensor is filled: random normal weights, a constant (norm gains 1, biases 0), or SSM decay. */
export type TensorInit = 'normal' | 'ones' | 'zeros' | 'negative';

export interface TensorSpec {
  name: string;
  shape: number[];
  init: TensorInit;
}

export interface ArchModel {
  /** Arch-specific metadata; the writer adds general.*, the vocabulary and file type. */
  metadata: Record<string, GgufValue>;
  tensors: TensorSpec[];
  /** tokenizer.ggml.add_bos_token (Qwen2, Qwen3 and Phi-3 GGUFs say false). */
  addBosToken: boolean;
  /** Special tokens llama.cpp looks up by name for this architecture (Phi-3's vocab code needs <|endoftext|>). */
  controlTokens?: string[];
}

export interface ArchBuilder {
  /** general.architecture */
  architecture: string;
  /** Shape defaults where the architecture needs them (e.g. heads × headDim = embd). */
  defaults?: Partial<ArchDims>;
  build(dims: ArchDims): ArchModel;
}

export const weight = (name: string, ...shape: number[]): TensorSpec => ({ name, shape, init: 'normal' });
export const norm = (name: string, size: number): TensorSpec => ({ name, shape: [size], init: 'ones' });
export const bias = (name: string, size: number): TensorSpec => ({ name, shape: [size], init: 'zeros' });
export const blk = (layer: number, name: string): string => `blk.${layer}.${name}`;

/** The hyper-parameters llama_model_base::load_hparams reads for every attention architecture. */
export function attentionMetadata(arch: string, d: ArchDims, ropeFreqBase = 10000): Record<string, GgufValue> {
  return {
    [`${arch}.context_length`]: meta.u32(8192),
    [`${arch}.embedding_length`]: meta.u32(d.embd),
    [`${arch}.block_count`]: meta.u32(d.layers),
    [`${arch}.feed_forward_length`]: meta.u32(d.ffn),
    [`${arch}.attention.head_count`]: meta.u32(d.heads),
    [`${arch}.attention.head_count_kv`]: meta.u32(d.kvHeads),
    [`${arch}.attention.key_length`]: meta.u32(d.headDim),
    [`${arch}.attention.value_length`]: meta.u32(d.headDim),
    [`${arch}.rope.dimension_count`]: meta.u32(d.headDim),
    [`${arch}.rope.freq_base`]: meta.f32(ropeFreqBase),
    [`${arch}.attention.layer_norm_rms_epsilon`]: meta.f32(1e-5),
    [`${arch}.vocab_size`]: meta.u32(d.vocab),
  };
}

/** token_embd, output_norm and (unless tied) output: the ends every architecture here shares. */
export function ends(d: ArchDims, options: { tiedOutput?: boolean } = {}): { first: TensorSpec[]; last: TensorSpec[] } {
  return {
    first: [weight('token_embd.weight', d.vocab, d.embd)],
    last: [norm('output_norm.weight', d.embd), ...(options.tiedOutput ? [] : [weight('output.weight', d.vocab, d.embd)])],
  };
}

/** Separate Q, K, V and output projections (create_tensor_qkv without a fused weight). */
export function qkvo(layer: number, d: ArchDims, options: { bias?: boolean } = {}): TensorSpec[] {
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  return [
    weight(blk(layer, 'attn_q.weight'), q, d.embd),
    weight(blk(layer, 'attn_k.weight'), kv, d.embd),
    weight(blk(layer, 'attn_v.weight'), kv, d.embd),
    ...(options.bias ? [bias(blk(layer, 'attn_q.bias'), q), bias(blk(layer, 'attn_k.bias'), kv), bias(blk(layer, 'attn_v.bias'), kv)] : []),
    weight(blk(layer, 'attn_output.weight'), d.embd, q),
  ];
}

/** The gated (SwiGLU/GeGLU) feed-forward block. */
export function gatedFfn(layer: number, d: ArchDims): TensorSpec[] {
  return [
    weight(blk(layer, 'ffn_gate.weight'), d.ffn, d.embd),
    weight(blk(layer, 'ffn_up.weight'), d.ffn, d.embd),
    weight(blk(layer, 'ffn_down.weight'), d.embd, d.ffn),
  ];
}

export function layers(d: ArchDims, perLayer: (layer: number) => TensorSpec[]): TensorSpec[] {
  return Array.from({ length: d.layers }, (_, layer) => perLayer(layer)).flat();
}

/** A Mamba-1 block's SSM tensors (llama_model_mamba / llama_model_jamba::load_arch_tensors), d_inner = 2 × embd. */
export const SSM = { convKernel: 4, stateSize: 16 } as const;

export function ssmMetadata(arch: string, d: ArchDims): Record<string, GgufValue> {
  return {
    [`${arch}.ssm.conv_kernel`]: meta.u32(SSM.convKernel),
    [`${arch}.ssm.inner_size`]: meta.u32(2 * d.embd),
    [`${arch}.ssm.state_size`]: meta.u32(SSM.stateSize),
    [`${arch}.ssm.time_step_rank`]: meta.u32(ssmDtRank(d)),
  };
}

export function ssmDtRank(d: ArchDims): number {
  return Math.ceil(d.embd / 16);
}

export function ssmBlock(layer: number, d: ArchDims, options: { norms?: boolean } = {}): TensorSpec[] {
  const inner = 2 * d.embd;
  const dtRank = ssmDtRank(d);
  return [
    weight(blk(layer, 'ssm_in.weight'), 2 * inner, d.embd),
    weight(blk(layer, 'ssm_conv1d.weight'), inner, SSM.convKernel),
    bias(blk(layer, 'ssm_conv1d.bias'), inner),
    weight(blk(layer, 'ssm_x.weight'), dtRank + 2 * SSM.stateSize, inner),
    ...(options.norms ? [norm(blk(layer, 'ssm_dt_norm.weight'), dtRank)] : []),
    weight(blk(layer, 'ssm_dt.weight'), inner, dtRank),
    bias(blk(layer, 'ssm_dt.bias'), inner),
    ...(options.norms ? [norm(blk(layer, 'ssm_b_norm.weight'), SSM.stateSize), norm(blk(layer, 'ssm_c_norm.weight'), SSM.stateSize)] : []),
    // A = -exp(A_log) in converted GGUFs: negative, so the state decays.
    { name: blk(layer, 'ssm_a'), shape: [inner, SSM.stateSize], init: 'negative' },
    { name: blk(layer, 'ssm_d'), shape: [inner], init: 'ones' },
    weight(blk(layer, 'ssm_out.weight'), d.embd, inner),
  ];
}
