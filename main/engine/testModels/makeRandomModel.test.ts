import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Llama, Token } from 'node-llama-cpp';
import { makeRandomModel, randomVocabPieces } from './makeRandomModel.ts';
import type { RandomModelOptions } from './makeRandomModel.ts';

let dir = '';
let llama: Llama;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-random-'));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});

after(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');

const shapes: Array<{ label: string; options: RandomModelOptions }> = [
  { label: 'f16, GQA 4:2', options: { layers: 2, embd: 64, heads: 4, kvHeads: 2, headDim: 16, vocab: 300, type: 'f16', seed: 1 } },
  // Head dim 64 with embd 96 and 3 heads: key_length/value_length must be honoured.
  { label: 'f32, head dim ≠ embd/heads', options: { layers: 3, embd: 96, heads: 3, kvHeads: 1, headDim: 64, vocab: 1000, ffn: 80, type: 'f32', seed: 2 } },
  { label: 'f16, 8B layout scaled down', options: { layers: 4, embd: 256, heads: 8, kvHeads: 2, headDim: 128, vocab: 5000, type: 'f16', seed: 3, contextLength: 8192 } },
];

describe('makeRandomModel', () => {
  for (const { label, options } of shapes) {
    test(`${label}: loads, tokenizes any text and gives finite logits`, async (t) => {
      const path = join(dir, `${label.replace(/\W+/g, '-')}.gguf`);
      const startMs = performance.now();
      await makeRandomModel(path, options);
      const { size } = await stat(path);
      t.diagnostic(`${(size / 1e6).toFixed(2)} MB written in ${(performance.now() - startMs).toFixed(0)} ms`);

      const model = await llama.loadModel({ modelPath: path });
      try {
        assert.equal(model.fileInfo.metadata.general.architecture, 'llama');
        assert.equal(model.trainContextSize, options.contextLength ?? 131072);
        const text = 'Hello, world! Ünïcödé ✓ 漢字 and the end.';
        const tokens = model.tokenize(text);
        assert.ok(tokens.length > 0);
        assert.equal(model.detokenize(tokens), text);

        const context = await model.createContext({ contextSize: 256, threads: llama.cpuMathCores });
        try {
          const input: Token[] = [model.tokens.bos!, ...tokens];
          const results = await context.getSequence().controlledEvaluate([
            ...input.slice(0, -1),
            [input.at(-1)!, { generateNext: { logits: true } }],
          ]);
          const logits = results.at(-1)?.next.logits;
          assert.ok(logits !== undefined);
          assert.equal(logits.size, options.vocab);
          const values = [...logits.values()];
          assert.ok(values.every(Number.isFinite), 'all logits finite');
          assert.ok(Math.max(...values) > Math.min(...values), 'logits depend on the token');
        } finally {
          await context.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
  }

  test('is deterministic for a seed and differs across seeds', async () => {
    const options: RandomModelOptions = { layers: 1, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 270, type: 'f16', seed: 5 };
    const [a, b, c] = ['a', 'b', 'c'].map((name) => join(dir, `${name}.gguf`));
    await makeRandomModel(a!, options);
    await makeRandomModel(b!, options);
    await makeRandomModel(c!, { ...options, seed: 6 });
    assert.equal(await sha256(a!), await sha256(b!));
    assert.notEqual(await sha256(a!), await sha256(c!));
  });

  test('rejects impossible shapes with RangeError', async () => {
    const base: RandomModelOptions = { layers: 1, embd: 32, heads: 4, kvHeads: 2, headDim: 8, vocab: 300, type: 'f16', seed: 1 };
    const path = join(dir, 'bad.gguf');
    await assert.rejects(makeRandomModel(path, { ...base, kvHeads: 3 }), /multiple of kvHeads/);
    await assert.rejects(makeRandomModel(path, { ...base, headDim: 7 }), /even/);
    await assert.rejects(makeRandomModel(path, { ...base, vocab: 100 }), /vocab must be at least 260/);
    await assert.rejects(makeRandomModel(path, { ...base, layers: 0 }), RangeError);
  });

  test('vocabulary pieces are unique and each is a merge of two shorter pieces', () => {
    const pieces = randomVocabPieces(6000);
    assert.equal(new Set(pieces).size, pieces.length);
    const known = new Set(pieces);
    for (const piece of pieces) {
      if (piece.length > 1) assert.ok(known.has(piece.slice(0, -1)) && known.has(piece.slice(-1)), piece);
    }
  });
});
