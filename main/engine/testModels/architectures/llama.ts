// llama (llama_model_llama): separate Q/K/V, SwiGLU, untied output.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const llama: ArchBuilder = {
  architecture: 'llama',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: attentionMetadata('llama', d, 500000),
      tensors: [...first, ...layers(d, (i) => [norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d), norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d)]), ...last],
      addBosToken: true,
    };
  },
};
