import assert from 'node:assert/strict';
import test from 'node:test';
import type { EngineDocument, EngineTurn } from '../Engine.ts';
import { TailRenderer } from './TailRenderer.ts';
import type { AsyncPromptRenderer } from './TieredModel.ts';

// A toy template and tokenizer: one token per character, except that `mergeAcross` glues a document's
// last character to the text after it (a tokenizer merge across the documents' end).
function toyRenderer(mergeAcross: boolean): AsyncPromptRenderer & { rendered: number } {
  const text = (documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, instructions: string | null) =>
    `<s>${documents.map((d) => `[${d.text}]`).join('')}${instructions ?? ''}${turns.map((t) => `${t.role}:${t.text};`).join('')}Q:${question}`;
  const tokenize = (s: string, documents: readonly EngineDocument[]) => {
    const out = [...s].map((c) => c.codePointAt(0)!);
    if (mergeAcross) {
      const end = s.lastIndexOf(']');
      // The merged token depends on the whole last document, as a long-range merge would.
      if (end > 0) out.splice(end - 1, 2, 100_000 + documents.at(-1)!.text.length);
    }
    return out;
  };
  const lcp = (a: number[], b: number[]) => {
    let n = 0;
    while (n < a.length && a[n] === b[n]) n++;
    return a.slice(0, n);
  };
  const r = {
    rendered: 0,
    render: async (documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, instructions: string | null) => {
      r.rendered += documents.reduce((n, d) => n + d.text.length, 0);
      return tokenize(text(documents, turns, question, instructions), documents);
    },
    prefix: async (documents: readonly EngineDocument[]) => lcp(await r.render(documents, [], 'A', null), await r.render(documents, [], 'Z', 'Z')),
    prefixWithTurns: async (documents: readonly EngineDocument[], turns: readonly EngineTurn[], instructions: string | null) =>
      lcp(await r.render(documents, turns, 'A', instructions), await r.render(documents, turns, 'Z', instructions)),
  };
  return r;
}

const DOCS: EngineDocument[] = [
  { id: 'a', text: 'x'.repeat(20_000) },
  { id: 'b', text: 'lease ends in march. '.repeat(1_000) },
];
const TURNS: EngineTurn[] = [
  { role: 'user', text: 'who pays' },
  { role: 'assistant', text: 'the tenant' },
];

test('after one check per document set, prompts are composed from the stored prefix without rendering the documents', async () => {
  const inner = toyRenderer(false);
  const tail = new TailRenderer(inner);
  const prefix = await inner.prefix(DOCS);
  const asks: Array<[EngineTurn[], string, string | null]> = [
    [[], 'when', null],
    [TURNS, 'how much notice', 'Be brief.'],
    [TURNS.slice(0, 1), '', null],
  ];
  for (const [turns, question, instructions] of asks) {
    assert.deepEqual(await tail.render('set', DOCS, prefix, turns, question, instructions), await inner.render(DOCS, turns, question, instructions));
    assert.deepEqual(await tail.prefixWithTurns('set', DOCS, prefix, turns, instructions), await inner.prefixWithTurns(DOCS, turns, instructions));
  }
  inner.rendered = 0;
  await tail.render('set', DOCS, prefix, TURNS, 'one more', null);
  assert.ok(inner.rendered <= 2 * 4000, `only the stand-ins were rendered (${inner.rendered} characters of documents)`);
});

test('a set whose tokens after the documents depend on more than their end is always rendered whole', async () => {
  const inner = toyRenderer(true);
  const tail = new TailRenderer(inner);
  const prefix = await inner.prefix(DOCS);
  for (const question of ['when', 'who', 'what']) {
    assert.deepEqual(await tail.render('set', DOCS, prefix, [], question, null), await inner.render(DOCS, [], question, null));
  }
});
