// The `llama.*` hyper-parameters llama.cpp reads for the llama architecture.

import { meta } from '../gguf/GgufWriter.ts';
import type { GgufValue } from '../gguf/GgufWriter.ts';

export interface LlamaHyperParams {
  name: string;
  layerCount: number;
  embdSize: number;
  headCount: number;
  kvHeadCount: number;
  /** Written as key_length/value_length, which llama.cpp needs whenever it differs from embd / heads. */
  headDim: number;
  ffnSize: number;
  contextLength: number;
  vocabSize: number;
  ropeFreqBase: number;
  rmsEps: number;
  /** The type of the big matrices (general.file_type: 0 all F32, 1 mostly F16). */
  fileType: 'f32' | 'f16';
}

export function llamaMetadata(p: LlamaHyperParams): Record<string, GgufValue> {
  return {
    'general.architecture': meta.string('llama'),
    'general.name': meta.string(p.name),
    'general.file_type': meta.u32(p.fileType === 'f16' ? 1 : 0),
    'llama.context_length': meta.u32(p.contextLength),
    'llama.embedding_length': meta.u32(p.embdSize),
    'llama.block_count': meta.u32(p.layerCount),
    'llama.feed_forward_length': meta.u32(p.ffnSize),
    'llama.attention.head_count': meta.u32(p.headCount),
    'llama.attention.head_count_kv': meta.u32(p.kvHeadCount),
    'llama.attention.key_length': meta.u32(p.headDim),
    'llama.attention.value_length': meta.u32(p.headDim),
    // llama requires rotary dims = head dim.
    'llama.rope.dimension_count': meta.u32(p.headDim),
    'llama.rope.freq_base': meta.f32(p.ropeFreqBase),
    'llama.attention.layer_norm_rms_epsilon': meta.f32(p.rmsEps),
    'llama.vocab_size': meta.u32(p.vocabSize),
  };
}
