import assert from 'node:assert/strict';
import test from 'node:test';
import { chunkTokens, type Chunk } from './chunkTokens.ts';

// A GPT-like toy tokenizer: newline runs, words with their leading space, single punctuation marks.
function tokenize(text: string): string[] {
  return text.match(/\n+|[ ]?[A-Za-z0-9]+|[ ]?[^\sA-Za-z0-9]|[ \t]+/g) ?? [];
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sentence(rand: () => number, words: number): string {
  const list = Array.from({ length: words }, (_, i) => (i === 0 ? 'The' : `w${Math.floor(rand() * 1000)}`));
  return list.join(' ') + ['.', '?', '!'][Math.floor(rand() * 3)];
}

function paragraphs(rand: () => number, count: number, sentencesEach: () => number, wordsEach: () => number): string {
  return Array.from({ length: count }, () => Array.from({ length: sentencesEach() }, () => sentence(rand, wordsEach())).join(' ')).join('\n\n');
}

function assertTiling(chunks: Chunk[], pieces: string[], options: { minTokens: number; maxTokens: number; startToken?: number }): void {
  const text = pieces.join('');
  const start = options.startToken ?? 0;
  assert.equal(chunks[0].tokenStart, start);
  assert.equal(chunks.at(-1)!.tokenEnd, start + pieces.length);
  assert.equal(chunks[0].charStart, 0);
  assert.equal(chunks.at(-1)!.charEnd, text.length);
  chunks.forEach((chunk, i) => {
    assert.equal(chunk.index, i);
    if (i > 0) {
      assert.equal(chunk.tokenStart, chunks[i - 1].tokenEnd, 'chunks are contiguous');
      assert.equal(chunk.charStart, chunks[i - 1].charEnd);
    }
    const size = chunk.tokenEnd - chunk.tokenStart;
    assert.ok(size <= options.maxTokens, `chunk ${i} has ${size} > max tokens`);
    if (i < chunks.length - 1) assert.ok(size >= options.minTokens, `chunk ${i} has ${size} < min tokens`);
    assert.equal(text.slice(chunk.charStart, chunk.charEnd), pieces.slice(chunk.tokenStart - start, chunk.tokenEnd - start).join(''));
  });
  assert.equal(chunks.map((c) => text.slice(c.charStart, c.charEnd)).join(''), text);
}

test('chunks end at paragraph breaks when paragraphs fit the size bounds', () => {
  const rand = random(1);
  // Paragraphs of 2-3 sentences of 8-12 words: about 20-45 tokens each.
  const text = paragraphs(rand, 200, () => 2 + Math.floor(rand() * 2), () => 8 + Math.floor(rand() * 5));
  const pieces = tokenize(text);
  const options = { minTokens: 50, maxTokens: 120 };
  const chunks = chunkTokens(pieces, options);
  assertTiling(chunks, pieces, options);
  assert.ok(chunks.length > 10);
  for (const chunk of chunks.slice(0, -1)) assert.equal(pieces[chunk.tokenEnd - 1], '\n\n', `chunk ${chunk.index} ends mid-paragraph`);
});

test('without paragraph breaks, chunks end at sentence ends, and the next chunk starts with the next word', () => {
  const rand = random(2);
  const text = Array.from({ length: 400 }, () => sentence(rand, 5 + Math.floor(rand() * 20))).join(' ');
  const pieces = tokenize(text);
  const options = { minTokens: 40, maxTokens: 100 };
  const chunks = chunkTokens(pieces, options);
  assertTiling(chunks, pieces, options);
  for (const chunk of chunks.slice(0, -1)) {
    assert.match(pieces[chunk.tokenEnd - 1], /^[.?!]$/, `chunk ${chunk.index} ends mid-sentence`);
    assert.match(pieces[chunk.tokenEnd], /^ The$/);
  }
});

test('a line break beats a sentence end, and a run of newline pieces is not split', () => {
  // "\n" "\n" pieces (a tokenizer without a "\n\n" token) make a paragraph break after the second one.
  const pieces = [...'a b c d e f g. h i j'.split(/(?= )/), '\n', ' k l m. n o', '\n', '\n', 'P q r s t u v w'.split(/(?= )/)].flat();
  const chunks = chunkTokens(pieces, { minTokens: 3, maxTokens: 20 });
  const firstEnd = chunks[0].tokenEnd;
  assert.equal(pieces[firstEnd - 1], '\n');
  assert.equal(pieces[firstEnd - 2], '\n', 'cut after the blank line, not between its newlines');
  const lines = chunkTokens(['a', ' b', '.', ' c', ' d', '\n', 'e', ' f', ' g', ' h', ' i', ' j'], { minTokens: 3, maxTokens: 8 });
  assert.equal(lines[0].tokenEnd, 6, 'the line break wins over the earlier sentence end');
});

test('text without whitespace is hard-cut at maxTokens, and a short tail is merged when it fits', () => {
  const pieces = Array.from({ length: 1000 }, () => 'x');
  const chunks = chunkTokens(pieces, { minTokens: 10, maxTokens: 64 });
  assertTiling(chunks, pieces, { minTokens: 10, maxTokens: 64 });
  assert.deepEqual(
    chunks.slice(0, -2).map((c) => c.tokenEnd - c.tokenStart),
    Array.from({ length: chunks.length - 2 }, () => 64),
  );
  // 1000 = 15 * 64 + 40: the lookahead leaves the tail at least minTokens long.
  assert.ok(chunks.at(-1)!.tokenEnd - chunks.at(-1)!.tokenStart >= 10);

  const merged = chunkTokens(Array.from({ length: 25 }, () => 'x'), { minTokens: 10, maxTokens: 30 });
  assert.deepEqual(merged.map((c) => [c.tokenStart, c.tokenEnd]), [[0, 25]]);
  // min == max: a tail of 3 cannot be merged (it would exceed max) and is kept on its own.
  const kept = chunkTokens(Array.from({ length: 23 }, () => 'x'), { minTokens: 10, maxTokens: 10 });
  assert.deepEqual(kept.map((c) => c.tokenEnd - c.tokenStart), [10, 10, 3]);
});

test('startToken offsets token indices but not character offsets', () => {
  const pieces = tokenize('One two three. Four five six.\n\nSeven eight nine.');
  const options = { minTokens: 2, maxTokens: 8, startToken: 100 };
  const chunks = chunkTokens(pieces, options);
  assertTiling(chunks, pieces, options);
  assert.equal(chunks[0].tokenStart, 100);
});

test('empty input gives no chunks; bad options are RangeErrors', () => {
  assert.deepEqual(chunkTokens([], { minTokens: 1, maxTokens: 2 }), []);
  assert.throws(() => chunkTokens(['a'], { minTokens: 0, maxTokens: 2 }), RangeError);
  assert.throws(() => chunkTokens(['a'], { minTokens: 3, maxTokens: 2 }), RangeError);
  assert.throws(() => chunkTokens(['a'], { minTokens: 1.5, maxTokens: 2 }), RangeError);
  assert.throws(() => chunkTokens(['a'], { minTokens: 1, maxTokens: 2, startToken: -1 }), RangeError);
});

test('random texts and bounds always tile exactly within the size bounds', () => {
  const rand = random(3);
  for (let trial = 0; trial < 200; trial++) {
    const text = paragraphs(rand, 1 + Math.floor(rand() * 20), () => 1 + Math.floor(rand() * 6), () => 1 + Math.floor(rand() * 30));
    const pieces = rand() < 0.2 ? tokenize(text.replace(/ /g, '')) : tokenize(text);
    const minTokens = 1 + Math.floor(rand() * 40);
    const options = { minTokens, maxTokens: minTokens + Math.floor(rand() * 80), startToken: Math.floor(rand() * 10) };
    const chunks = chunkTokens(pieces, options);
    assertTiling(chunks, pieces, options);
    // The last chunk is short only when merging it would have broken maxTokens.
    const last = chunks.at(-1)!;
    if (chunks.length > 1 && last.tokenEnd - last.tokenStart < minTokens) {
      assert.ok(last.tokenEnd - chunks.at(-2)!.tokenStart > options.maxTokens);
    }
  }
});

test('a 100K-token document is chunked in well under a second', (t) => {
  const rand = random(4);
  let pieces: string[] = [];
  while (pieces.length < 100_000) pieces = pieces.concat(tokenize(paragraphs(rand, 50, () => 1 + Math.floor(rand() * 8), () => 3 + Math.floor(rand() * 25)) + '\n\n'));
  pieces.length = 100_000;
  const startedAt = performance.now();
  const chunks = chunkTokens(pieces, { minTokens: 256, maxTokens: 1024 });
  const elapsedMs = performance.now() - startedAt;
  assertTiling(chunks, pieces, { minTokens: 256, maxTokens: 1024 });
  t.diagnostic(`chunkTokens: 100,000 tokens -> ${chunks.length} chunks in ${elapsedMs.toFixed(1)} ms`);
  assert.ok(elapsedMs < 250, `took ${elapsedMs} ms`);
});

test('the sink ends between words, so the first chunk never starts inside one ("US|ENIX")', async () => {
  const { planChunks, SINK_TOKENS } = await import('../ingestPrefix.ts');
  // BOS, then a word split into pieces across the fourth token.
  const pieces = ['', ' US', 'EN', 'IX', ' Annual', ' Technical', ' Conference', '.', ' Papers', ' follow', '.'];
  const plan = planChunks(pieces, 2, 4);
  assert.equal(plan[0].tokenEnd, SINK_TOKENS, 'the four-token sink ends at " Annual", a word start');
  const cut = ['', ' US', 'EN', 'IX', 'Y', 'Z', ' Annual', ' Technical', ' Conference', '.'];
  const planned = planChunks(cut, 2, 4);
  assert.equal(planned[0].tokenEnd, 6, 'the sink grows to the end of "USENIXYZ"');
  assert.ok(planned.slice(1).every((c) => cut[c.tokenStart].startsWith(' ') || cut[c.tokenStart - 1].endsWith(' ')), 'every chunk starts a word');
  // Text without spaces cannot be helped: the sink stays bounded.
  const glued = Array.from({ length: 40 }, () => 'x');
  assert.ok(planChunks(glued, 4, 8)[0].tokenEnd <= SINK_TOKENS + 16);
});
