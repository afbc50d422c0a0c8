// phi3 (llama_model_phi3): one fused QKV projection and a fused gate+up (ffn_up is 2 × ffn), no BOS.
// Its output projection is embd × embd, so heads × headDim must equal embd.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, layers, norm, weight } from './ArchModel.ts';

export const phi3: ArchBuilder = {
  architecture: 'phi3',
  build(d) {
    const { first, last } = ends(d);
    const kv = d.kvHeads * d.headDim;
    return {
      metadata: attentionMetadata('phi3', d),
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd),
        weight(blk(i, 'attn_qkv.weight'), d.embd + 2 * kv, d.embd),
        weight(blk(i, 'attn_output.weight'), d.embd, d.embd),
        norm(blk(i, 'ffn_norm.weight'), d.embd),
        weight(blk(i, 'ffn_down.weight'), d.embd, d.ffn),
        weight(blk(i, 'ffn_up.weight'), 2 * d.ffn, d.embd),
      ]), ...last],
      addBosToken: false,
      // llama-vocab.cpp sets attributes on <|endoftext|> for any model named "phi3" and throws without it.
      controlTokens: ['<|endoftext|>'],
    };
  },
};
