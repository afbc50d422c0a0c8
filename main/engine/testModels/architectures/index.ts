// Registry of the random-weight architectures and makeArchModel, which writes one of them as a GGUF.
import { meta, writeGguf } from '../../gguf/GgufWriter.ts';
import type { GgufTensor, GgufTensorType } from '../../gguf/GgufWriter.ts';
import { FIRST_PIECE_ID, buildSpmVocab, spmVocabMetadata } from '../buildSpmVocab.ts';
import { chatTemplateFixture } from '../chatTemplates/index.ts';
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

export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURES);

export interface ArchModelOptions extends Partial<ArchDims> {
  arch: string;
  seed?: number;
  type?: GgufTensorType;
  /** `<arch>.context_length`, the trained context (8192 unless given). */
  contextLength?: number;
  /** One of CHAT_TEMPLATE_NAMES: its template, its special tokens, its end-of-turn token as EOS. */
  chatTemplate?: string;
}

export async function makeArchModel(outPath: string, options: ArchModelOptions): Promise<void> {
  const builder = ARCHITECTURES[options.arch];
  if (!builder) throw new RangeError(`unknown architecture "${options.arch}" (one of ${ARCHITECTURE_NAMES.join(', ')})`);
  const { arch, seed = 1, type = 'f32', contextLength, chatTemplate, ...given } = options;
  const dims: ArchDims = { ...DEFAULT_ARCH_DIMS, ...builder.defaults, ...given };
  const model = builder.build(dims);
  const template = chatTemplate === undefined ? null : chatTemplateFixture(chatTemplate);
  const controlTokens = [...new Set([...(model.controlTokens ?? []), ...(template?.controlTokens ?? [])])];
  const pieceCount = dims.vocab - FIRST_PIECE_ID - controlTokens.length;
  if (pieceCount < 1) throw new RangeError(`vocab ${dims.vocab} is too small for the byte tokens and ${controlTokens.length} special tokens`);
  const vocab = buildSpmVocab(randomVocabPieces(pieceCount), controlTokens);
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
      ...(contextLength === undefined ? {} : { [`${builder.architecture}.context_length`]: meta.u32(contextLength) }),
      ...spmVocabMetadata(vocab),
      'tokenizer.ggml.add_bos_token': meta.bool(model.addBosToken),
      ...(template === null ? {} : {
        'tokenizer.chat_template': meta.string(template.template),
        'tokenizer.ggml.eos_token_id': meta.u32(vocab.idOf.get(template.endOfTurn)!),
      }),
    },
    tensors,
  });
}
