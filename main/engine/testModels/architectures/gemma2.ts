// gemma2 (llama_model_gemma2): sliding-window attention on every other layer, post-attention and
// post-FFN norms, logit soft-capping, output tied to token_embd.
import { meta } from '../../gguf/GgufWriter.ts';
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata, blk, ends, gatedFfn, layers, norm, qkvo } from './ArchModel.ts';

export const gemma2: ArchBuilder = {
  architecture: 'gemma2',
  build(d) {
    const { first, last } = ends(d, { tiedOutput: true });
    return {
      metadata: {
        ...attentionMetadata('gemma2', d),
        'gemma2.attention.sliding_window': meta.u32(256),
        'gemma2.attn_logit_softcapping': meta.f32(50),
        'gemma2.final_logit_softcapping': meta.f32(30),
      },
      tensors: [...first, ...layers(d, (i) => [
        norm(blk(i, 'attn_norm.weight'), d.embd), ...qkvo(i, d), norm(blk(i, 'post_attention_norm.weight'), d.embd),
        norm(blk(i, 'ffn_norm.weight'), d.embd), ...gatedFfn(i, d), norm(blk(i, 'post_ffw_norm.weight'), d.embd),
      ]), ...last],
      addBosToken: true,
    };
  },
};
