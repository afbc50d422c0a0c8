// granite (llama_model_granite): llama's tensors with embedding, residual, attention and logit scales.
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const granite: ArchBuilder = {
  architecture: 'granite',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: {
        ...attentionMetadata('granite', d),
        'granite.logit_scale': meta.f32(8),
        'granite.residual_scale': meta.f32(0.22),
        'granite.embedding_scale': meta.f32(12),
        'granite.attention.scale': meta.f32(0.0078125),
      },
      tensors: [...first, ...layers(d, (i) => [norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d), norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d)]), ...last],
      addBosToken: true,
    };
  },
};
