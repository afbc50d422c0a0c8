// The chat path of the standard engine (models with a chat template), on a small random model: the
// documents must reach the prompt and an answer must stream, whatever the random weights say.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../test/tempDir.ts';
import { makeRandomModel } from '../testModels/makeRandomModel.ts';
import { StandardEngine } from './StandardEngine.ts';

const TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

test('a model with a chat template answers through it, with the documents in the prompt', { timeout: 120_000 }, async (t) => {
  const path = join(tempDir(t), 'chat.gguf');
  await makeRandomModel(path, { layers: 2, embd: 64, heads: 4, kvHeads: 2, headDim: 16, vocab: 400, type: 'f32', seed: 5, chatTemplate: TEMPLATE });
  const engine = new StandardEngine();
  t.after(() => engine.dispose());
  const model = await engine.openModel(path);
  assert.equal(model.info.hasChatTemplate, true);

  const document = 'The lease ends on the last day of March. '.repeat(40);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: 'd', text: document }]);
  let streamed = '';
  const result = await conversation.ask('When does the lease end?', { maxTokens: 8, onTextChunk: (text) => (streamed += text) });
  assert.equal(streamed, result.text);
  assert.ok(result.metrics.generatedTokens >= 1 && result.metrics.generatedTokens <= 8);
  assert.ok(result.metrics.promptTokens > await model.countTokens(document), `prompt ${result.metrics.promptTokens} tokens holds the document`);

  // A second turn carries the first one in its history.
  const second = await conversation.ask('And who signs it?', { maxTokens: 4 });
  assert.ok(second.metrics.promptTokens > result.metrics.promptTokens);
});

test('a prompt longer than the model can hold is a clear error, never a silent cut', { timeout: 120_000 }, async (t) => {
  const path = join(tempDir(t), 'small.gguf');
  await makeRandomModel(path, { layers: 1, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 300, type: 'f32', seed: 2, contextLength: 512 });
  const engine = new StandardEngine();
  t.after(() => engine.dispose());
  const model = await engine.openModel(path);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: 'd', text: 'word '.repeat(2000) }]);
  await assert.rejects(conversation.ask('q', { maxTokens: 4 }), (e: Error & { code?: string }) => e.code === 'CONTEXT_TOO_SMALL' && /holds at most 512/.test(e.message));
});
