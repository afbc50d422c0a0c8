// A chat template that prints today's date must not change the documents' prefix from one day to the
// next (issue 7, point 5): the prompt depends on the documents, the turns and the question only, so a
// document read yesterday is not read again today. Rendered with the same code the tokenizer worker runs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { Llama3_1ChatWrapper, Llama3_2LightweightChatWrapper, resolveChatWrapper } from 'node-llama-cpp';
import { stableWrapperSettings } from './chatWrapper.ts';
import { getLlamaRuntime } from './llamaRuntime.ts';
import { chatHistory } from './promptText.ts';
import { makeRandomModel } from './testModels/makeRandomModel.ts';
import { createPromptRenderer } from './tiered/promptLayout.ts';
import { tempDir } from '../test/tempDir.ts';

// Llama 3.1's date logic: a date_string if given, else strftime_now.
const DATED_TEMPLATE =
  '{%- if not date_string is defined %}{%- if strftime_now is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- else %}{%- set date_string = "26 Jul 2024" %}{%- endif %}{%- endif %}' +
  "Today Date: {{ date_string }}\n{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

test('a template that prints today\'s date gives the same document prefix on another day', { timeout: 120_000 }, async (t) => {
  const modelPath = join(tempDir(t), 'dated.gguf');
  await makeRandomModel(modelPath, { layers: 2, embd: 32, heads: 2, kvHeads: 1, headDim: 16, vocab: 300, type: 'f32', seed: 9, chatTemplate: DATED_TEMPLATE });
  const llama = await getLlamaRuntime();
  const vocab = await llama.loadModel({ modelPath, vocabOnly: true });
  t.after(() => vocab.dispose());
  const documents = [{ id: 'd', text: 'The lease ends on the last day of March.' }];
  const renderer = createPromptRenderer(vocab, true);
  const unpinned = resolveChatWrapper(vocab);
  const unpinnedText = () => unpinned.generateContextState({ chatHistory: chatHistory(documents, [], 'When?') }).contextText.toString();

  t.mock.timers.enable({ apis: ['Date'], now: new Date('2026-12-02T09:00:00Z').getTime() });
  const today = renderer.prefix(documents);
  const todayUnpinned = unpinnedText();
  t.mock.timers.setTime(new Date('2026-12-03T09:00:00Z').getTime());
  const tomorrow = renderer.prefix(documents);
  const tomorrowUnpinned = unpinnedText();
  t.mock.timers.reset();

  assert.match(todayUnpinned, /02 Dec 2026/, 'the template really prints the date (the test can fail)');
  assert.notEqual(todayUnpinned, tomorrowUnpinned);
  assert.deepEqual(tomorrow, today, 'the pinned wrapper renders the same tokens on both days');
  assert.ok(today.length > 10);
});

test("node-llama-cpp's Llama 3.1 and 3.2 wrappers print no date with Strata's settings", (t) => {
  const documents = [{ id: 'd', text: 'Notes.' }];
  const render = (wrapper: { generateContextState: Llama3_1ChatWrapper['generateContextState'] }) =>
    wrapper.generateContextState({ chatHistory: chatHistory(documents, [], 'Q?') }).contextText.toString();
  t.mock.timers.enable({ apis: ['Date'], now: new Date('2026-12-02T09:00:00Z').getTime() });
  assert.match(render(new Llama3_1ChatWrapper()), /Today Date: 0?2 Dec 2026/, 'by default they do');
  const pinned = [new Llama3_1ChatWrapper(stableWrapperSettings['llama3.1']), new Llama3_2LightweightChatWrapper(stableWrapperSettings['llama3.2-lightweight'])];
  const day1 = pinned.map(render);
  t.mock.timers.setTime(new Date('2027-03-15T09:00:00Z').getTime());
  const day2 = pinned.map(render);
  t.mock.timers.reset();
  assert.deepEqual(day2, day1);
  for (const text of day1) assert.doesNotMatch(text, /Today Date/);
});
