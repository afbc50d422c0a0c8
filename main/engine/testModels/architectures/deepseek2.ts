// deepseek2 (llama_model_deepseek2) with multi-head latent attention as current converters write it
// (key_length_mla / value_length_mla set, split attn_k_b / attn_v_b): the KV cache holds one latent
// "head" of kv_lora_rank + rope dims per token. All layers dense (leading_dense_block_count = layers),
// no Q LoRA (q_lora_rank 0 → attn_q).
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, weight } from './ArchModel.ts';

export const deepseek2: ArchBuilder = {
  architecture: 'deepseek2',
  build(d) {
    const { first, last } = ends(d);
    const kvLoraRank = 2 * d.headDim;
    const rope = d.headDim;
    const nope = d.headDim;
    const headK = nope + rope;
    const headV = d.headDim;
    return {
      metadata: {
        ...attentionMetadata('deepseek2', { ...d, kvHeads: 1 }),
        'deepseek2.attention.key_length': meta.u32(kvLoraRank + rope),
        'deepseek2.attention.value_length': meta.u32(kvLoraRank),
        'deepseek2.attention.key_length_mla': meta.u32(headK),
        'deepseek2.attention.value_length_mla': meta.u32(headV),
        'deepseek2.rope.dimension_count': meta.u32(rope),
        'deepseek2.attention.q_lora_rank': meta.u32(0),
        'deepseek2.attention.kv_lora_rank': meta.u32(kvLoraRank),
        'deepseek2.leading_dense_block_count': meta.u32(d.layers),
        'deepseek2.expert_feed_forward_length': meta.u32(d.ffn),
        'deepseek2.expert_shared_count': meta.u32(1),
      },
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd),
        norm(blk(i, 'attn_kv_a_norm.weight'), kvLoraRank),
        weight(blk(i, 'attn_q.weight'), d.heads * headK, d.embd),
        weight(blk(i, 'attn_kv_a_mqa.weight'), kvLoraRank + rope, d.embd),
        weight(blk(i, 'attn_k_b.weight'), d.heads, kvLoraRank, nope),
        weight(blk(i, 'attn_v_b.weight'), d.heads, headV, kvLoraRank),
        weight(blk(i, 'attn_output.weight'), d.embd, d.heads * headV),
        norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d),
      ]), ...last],
      addBosToken: true,
    };
  },
};
