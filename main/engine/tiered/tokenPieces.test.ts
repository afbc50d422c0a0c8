import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../test/tempDir.ts';
import { getLlamaRuntime } from '../llamaRuntime.ts';
import { ensureTestModel } from '../testModels/cli.ts';
import { makeRandomModel } from '../testModels/makeRandomModel.ts';
import { tokenPieces } from './tokenPieces.ts';

const TEXT = 'river light K17 : V04 V09 .\n\nstone naïve — 東京, a "quote" and tabs\tend.';

test('token pieces join back to the exact text, spaces and multi-byte characters included', { timeout: 60_000 }, async (t) => {
  const llama = await getLlamaRuntime();
  const randomPath = join(tempDir(t), 'r.gguf');
  await makeRandomModel(randomPath, { layers: 1, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 600, type: 'f32', seed: 1 });
  for (const path of [await ensureTestModel('needle'), randomPath]) {
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    t.after(() => model.dispose());
    const tokens = [model.tokens.bos!, ...model.tokenize(TEXT)];
    const pieces = tokenPieces(model, tokens);
    assert.equal(pieces.length, tokens.length);
    assert.equal(pieces.join(''), TEXT);
  }
});
