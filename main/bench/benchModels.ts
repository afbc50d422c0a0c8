// The bench's random model: the KV layout of an 8B-class llama (32 layers, 8 KV heads × 128, so the
// same 128 KiB of KV per token) with a narrow residual stream and FFN, so a 2-core CPU can run it.
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { defaultModelCacheDir } from '../engine/testModels/cli.ts';
import { makeRandomModel } from '../engine/testModels/makeRandomModel.ts';

export interface BenchModel {
  path: string;
  description: string;
  shape: { layers: number; kvHeads: number; headDimK: number; headDimV: number };
}

const SHAPE = { layers: 32, embd: 256, heads: 32, kvHeads: 8, headDim: 128, vocab: 4096, ffn: 512 };

export async function ensureBenchModel(): Promise<BenchModel> {
  const path = join(defaultModelCacheDir(), 'random-8b-kv-shape-v1.gguf');
  if (!existsSync(path)) {
    const temp = `${path}.${process.pid}.tmp`;
    await makeRandomModel(temp, { ...SHAPE, type: 'f16', seed: 8 });
    renameSync(temp, path);
  }
  return {
    path,
    description: `random f16, 8B-class KV layout (${SHAPE.layers} layers, ${SHAPE.heads} heads, ${SHAPE.kvHeads} KV heads × ${SHAPE.headDim}), embd ${SHAPE.embd}, FFN ${SHAPE.ffn}`,
    shape: { layers: SHAPE.layers, kvHeads: SHAPE.kvHeads, headDimK: SHAPE.headDim, headDimV: SHAPE.headDim },
  };
}
