// Mistral 7B GGUFs use general.architecture = llama (llama.cpp has no "mistral" arch); what sets them
// apart is grouped-query attention with 4 query heads per KV head and rope base 1e6.
import type { ArchBuilder } from './ArchModel.ts';
import { attentionMetadata } from './ArchModel.ts';
import { llama } from './llama.ts';

export const mistral: ArchBuilder = {
  architecture: 'llama',
  defaults: { heads: 8, kvHeads: 2, headDim: 8 },
  build(d) {
    return { ...llama.build(d), metadata: attentionMetadata('llama', d, 1000000) };
  },
};
