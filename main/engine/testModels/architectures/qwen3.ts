// qwen3 (llama_model_qwen3): RMS norm on each head of Q and K before RoPE, no BOS.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const qwen3: ArchBuilder = {
  architecture: 'qwen3',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: attentionMetadata('qwen3', d, 1000000),
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d),
        norm(blk(i, 'attn_k_norm.weight'), d.headDim), norm(blk(i, 'attn_q_norm.weight'), d.headDim),
        norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d),
      ]), ...last],
      addBosToken: false,
    };
  },
};
