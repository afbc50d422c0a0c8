// olmo2 (llama_model_olmo2): norms after attention and FFN instead of before, Q/K norms over the whole
// projection (not per head); heads × headDim must equal embd.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const olmo2: ArchBuilder = {
  architecture: 'olmo2',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: attentionMetadata('olmo2', d, 500000),
      tensors: [...first, ...layers(d, (i) => [
        ...qkvo(i, d),
        norm(blk(i, 'attn_q_norm.weight'), d.embd), norm(blk(i, 'attn_k_norm.weight'), d.kvHeads * d.headDim),
        norm(blk(i, 'post_attention_norm.weight'), d.embd),
        ...gatedFfn(i, d), norm(blk(i, 'post_ffw_norm.weight'), d.embd),
      ]), ...last],
      addBosToken: true,
    };
  },
};
