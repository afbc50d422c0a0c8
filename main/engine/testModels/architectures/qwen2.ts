// qwen2 (llama_model_qwen2): Q/K/V biases, no BOS.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const qwen2: ArchBuilder = {
  architecture: 'qwen2',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: attentionMetadata('qwen2', d, 1000000),
      tensors: [...first, ...layers(d, (i) => [norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d, { bias: true }), norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d)]), ...last],
      addBosToken: false,
    };
  },
};
