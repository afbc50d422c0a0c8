// gemma3 (llama_model_gemma3): gemma2's layout plus Q/K norms; sliding window on 5 of every 6 layers.
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const gemma3: ArchBuilder = {
  architecture: 'gemma3',
  build(d) {
    const { first, last } = ends(d, { tiedOutput: true });
    return {
      metadata: {
        ...attentionMetadata('gemma3', d, 1000000),
        'gemma3.attention.sliding_window': meta.u32(256),
        'gemma3.rope.freq_base_swa': meta.f32(10000),
      },
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d), norm(blk(i, 'post_attention_norm.weight'), d.embd),
        norm(blk(i, 'attn_k_norm.weight'), d.headDim), norm(blk(i, 'attn_q_norm.weight'), d.headDim),
        norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d), norm(blk(i, 'post_ffw_norm.weight'), d.embd),
      ]), ...last],
      addBosToken: true,
    };
  },
};
