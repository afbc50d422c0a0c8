// Registry of the random-weight architectures and makeArchModel, which writes one of them as a GGUF.
import { meta, writeGguf } from '../../gguf/GgufWriter.ts';
import type { GgufTensor, GgufTensorType } from '../../gguf/GgufWriter.ts';
import { FIRST_PIECE_ID, buildSpmVocab, spmVocabMetadata } from '../buildSpmVocab.ts';
import { normalChunks, randomVocabPieces, tensorSeed } from '../makeRandomModel.ts';
import type { ArchBuilder, ArchDims } from './ArchModel.ts';
import { deepseek2 } from './deepseek2.ts';
import { gemma2 } from './gemma2.ts';
import { gemma3 } from './gemma3.ts';
import { granite } from './granite.ts';
import { jamba } from './jamba.ts';
import { llama } from './llama.ts';
import { mamba } from './mamba.ts';
import { mistral } from './mistral.ts';
import { olmo2 } from './olmo2.ts';
import { phi3 } from './phi3.ts';
import { qwen2 } from './qwen2.ts';
import { qwen3 } from './qwen3.ts';

export const ARCHITECTURES: Readonly<Record<string, ArchBuilder>> = {
  llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3, granite, olmo2, deepseek2, mamba, jamba,
};

export const DEFAULT_ARCH_DIMS: ArchDims = { layers: 2, embd: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 128, vocab: 400 };

export async function makeArchModel(outPath: string, options: { arch: string; seed?: number; type?: GgufTensorType } & Partial<ArchDims>): Promise<void> {
  const builder = ARCHITECTURES[options.arch];
  if (!builder) throw new RangeError(`unknown architecture "${options.arch}" (one of ${Object.keys(ARCHITECTURES).join(', ')})`);
  const { arch, seed = 1, type = 'f32', ...given } = options;
  const dims: ArchDims = { ...DEFAULT_ARCH_DIMS, ...builder.defaults, ...given };
  const model = builder.build(dims);
  const tensors: GgufTensor[] = model.tensors.map(({ name, shape, init }, index) => {
    const count = shape.reduce((a, b) => a * b, 1);
    if (init === 'normal') return { name, shape, type: shape.length === 1 ? 'f32' : type, data: () => normalChunks(count, tensorSeed(seed, index)) };
    const value = init === 'ones' ? 1 : init === 'negative' ? -1 : 0;
    return { name, shape, type: 'f32', data: new Float32Array(count).fill(value) };
  });
  await writeGguf(outPath, {
    metadata: {
      'general.architecture': meta.string(builder.architecture),
      'general.name': meta.string(`strata-random-${arch}`),
      'general.file_type': meta.u32(type === 'f16' ? 1 : 0),
      ...model.metadata,
      ...spmVocabMetadata(buildSpmVocab(randomVocabPieces(dims.vocab - FIRST_PIECE_ID))),
      'tokenizer.ggml.add_bos_token': meta.bool(model.addBosToken),
    },
    tensors,
  });
}
