// The two vocabularies text tests run over, loaded vocab-only: the needle model's word vocabulary and a
// small random model's (byte tokens for everything else, so multi-byte characters split over tokens).
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { LlamaModel } from 'node-llama-cpp';
import { tempDir } from '../../test/tempDir.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { ensureTestModel } from './cli.ts';
import { makeRandomModel } from './makeRandomModel.ts';

export async function loadTestVocabularies(t: TestContext): Promise<LlamaModel[]> {
  const llama = await getLlamaRuntime();
  const randomPath = join(tempDir(t), 'r.gguf');
  await makeRandomModel(randomPath, { layers: 1, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 600, type: 'f32', seed: 1 });
  const models: LlamaModel[] = [];
  for (const path of [await ensureTestModel('needle'), randomPath]) {
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    t.after(() => model.dispose());
    models.push(model);
  }
  return models;
}
