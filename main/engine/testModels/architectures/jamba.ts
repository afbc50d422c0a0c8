// jamba (llama_model_jamba): a hybrid; a layer whose head_count_kv is 0 is a Mamba block, the others
// attention (no RoPE). Even layers are Mamba, odd layers attention; heads × headDim must equal embd.
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo, ssmBlock, ssmMetadata } from './ArchModel.ts';

export const jamba: ArchBuilder = {
  architecture: 'jamba',
  build(d) {
    const { first, last } = ends(d);
    const isAttention = (layer: number): boolean => layer % 2 === 1;
    const kvHeads = Array.from({ length: d.layers }, (_, layer) => (isAttention(layer) ? d.kvHeads : 0));
    return {
      metadata: {
        ...attentionMetadata('jamba', d),
        'jamba.attention.head_count_kv': meta.u32s(kvHeads),
        ...ssmMetadata('jamba', d),
      },
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd),
        ...(isAttention(i) ? qkvo(i, d) : ssmBlock(i, d, { norms: true })),
        norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d),
      ]), ...last],
      addBosToken: true,
    };
  },
};
