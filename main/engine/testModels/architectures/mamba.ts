// mamba (llama_model_mamba): a recurrent model, no attention (head counts 0), d_inner = 2 × embd.
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { blk, ends, layers, norm, ssmBlock, ssmMetadata } from './ArchModel.ts';

export const mamba: ArchBuilder = {
  architecture: 'mamba',
  build(d) {
    const { first, last } = ends(d);
    return {
      metadata: {
        'mamba.context_length': meta.u32(1048576),
        'mamba.embedding_length': meta.u32(d.embd),
        'mamba.block_count': meta.u32(d.layers),
        'mamba.feed_forward_length': meta.u32(0),
        'mamba.attention.head_count': meta.u32(0),
        'mamba.attention.head_count_kv': meta.u32(0),
        'mamba.attention.layer_norm_rms_epsilon': meta.f32(1e-5),
        ...ssmMetadata('mamba', d),
      },
      tensors: [...first, ...layers(d, (i) => [norm(blk(i, 'attn_norm.weight'), d.embd), ...ssmBlock(i, d)]), ...last],
      addBosToken: true,
    };
  },
};
