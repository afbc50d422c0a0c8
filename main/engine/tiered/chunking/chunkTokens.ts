// Cuts a tokenized text into chunks at semantic boundaries, so a chunk that is loaded back into the GPU
// holds whole paragraphs or sentences rather than half of one. Chunks are the unit of the tiered KV
// cache: one KV blob, one abstract and one catalog row each.

export interface Chunk {
  index: number;
  /** Token range `[tokenStart, tokenEnd)`, offset by `startToken`. */
  tokenStart: number;
  tokenEnd: number;
  /** Character range `[charStart, charEnd)` in `pieces.join('')`. */
  charStart: number;
  charEnd: number;
}

export interface ChunkTokensOptions {
  minTokens: number;
  maxTokens: number;
  /** Index of `pieces[0]` in the caller's numbering (e.g. after the sink). Default 0. */
  startToken?: number;
}

// Strength of a cut between token e-1 and token e; the strongest within the allowed window wins.
const NONE = 0;
const WORD = 1; // token e starts with whitespace (or token e-1 ends with it)
const SENTENCE = 2; // token e-1 ends a sentence (. ? ! and closing quotes/brackets) before whitespace
const LINE = 3; // token e-1 ends a line
const PARAGRAPH = 4; // token e-1 ends a blank line (a "\n\n" piece, or a "\n" piece after a "\n")

/**
 * Splits tokens `[0, pieces.length)` (where `pieces[i]` is the text of token i) into chunks that tile
 * the range exactly. Each chunk ends at the strongest boundary found between `minTokens` and
 * `maxTokens` tokens from its start (the latest one on ties, so chunks stay large), and at a hard cut
 * after `maxTokens` when there is none. Every chunk has `minTokens <= size <= maxTokens` except possibly
 * the last: a short tail is merged into the previous chunk when that stays within `maxTokens`.
 */
export function chunkTokens(pieces: readonly string[], options: ChunkTokensOptions): Chunk[] {
  const { minTokens, maxTokens, startToken = 0 } = options;
  if (!Number.isSafeInteger(minTokens) || minTokens < 1) throw new RangeError(`minTokens must be a positive integer, got ${minTokens}`);
  if (!Number.isSafeInteger(maxTokens) || maxTokens < minTokens) {
    throw new RangeError(`maxTokens must be an integer >= minTokens (${minTokens}), got ${maxTokens}`);
  }
  if (!Number.isSafeInteger(startToken) || startToken < 0) throw new RangeError(`startToken must be a non-negative integer, got ${startToken}`);

  const n = pieces.length;
  if (n === 0) return [];
  const strength = boundaryStrengths(pieces);
  const charAt = new Float64Array(n + 1); // charAt[i] = characters before token i
  for (let i = 0; i < n; i++) charAt[i + 1] = charAt[i] + pieces[i].length;

  const cuts: number[] = [0];
  let start = 0;
  while (n - start > maxTokens) {
    const low = start + minTokens;
    // Leave at least minTokens for the rest when the rest can still be split that way.
    let high = Math.min(start + maxTokens, n - minTokens);
    if (high < low) high = start + maxTokens;
    let best = high;
    let bestStrength = -1;
    for (let e = high; e >= low; e--) {
      const s = strength[e];
      if (s > bestStrength) {
        best = e;
        bestStrength = s;
        if (s === PARAGRAPH) break;
      }
    }
    cuts.push(best);
    start = best;
  }
  // The rest fits in one chunk. If it is too short, merge it into the previous one when that fits.
  if (n - start < minTokens && cuts.length > 1 && n - cuts[cuts.length - 2] <= maxTokens) cuts.pop();
  cuts.push(n);

  const chunks: Chunk[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k];
    const b = cuts[k + 1];
    chunks.push({ index: k, tokenStart: startToken + a, tokenEnd: startToken + b, charStart: charAt[a], charEnd: charAt[b] });
  }
  return chunks;
}

/** strength[e] for the cut before token e, 1 <= e < n. */
/**
 * The first cut at or after `from` that falls between words (within `limit` tokens), else `from`:
 * the end of a fixed-size span (the attention sink) moved so no chunk starts inside a word.
 */
export function nextWordBoundary(pieces: readonly string[], from: number, limit: number): number {
  const end = Math.min(pieces.length, from + limit);
  for (let e = Math.max(from, 1); e < end; e++) if (betweenWords(pieces[e - 1], pieces[e])) return e;
  return from;
}

/** Token `next` starts with whitespace, or `prev` ends with it: a cut here splits no word. */
function betweenWords(prev: string, next: string): boolean {
  return (next.length > 0 && isSpace(next.charCodeAt(0))) || endsBlank(prev);
}

function boundaryStrengths(pieces: readonly string[]): Uint8Array {
  const n = pieces.length;
  const strength = new Uint8Array(n + 1);
  // Newlines in the whitespace that ends the text up to and including token i.
  let trailingNewlines = 0;
  for (let e = 1; e < n; e++) {
    const prev = pieces[e - 1];
    trailingNewlines = isBlank(prev) ? trailingNewlines + countNewlines(prev) : countNewlines(prev.slice(trimmedEnd(prev)));
    const next = pieces[e];
    const nextStartsBlank = next.length > 0 && isSpace(next.charCodeAt(0));
    if (nextStartsBlank && isBlank(next) && next.includes('\n')) {
      strength[e] = WORD; // more newlines follow: cut after them, not before
    } else if (trailingNewlines >= 2 || prev.includes('\n\n')) {
      strength[e] = PARAGRAPH;
    } else if (trailingNewlines === 1) {
      strength[e] = LINE;
    } else if (betweenWords(prev, next) && endsSentence(prev)) {
      strength[e] = SENTENCE;
    } else if (betweenWords(prev, next)) {
      strength[e] = WORD;
    } else {
      strength[e] = NONE;
    }
  }
  return strength;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 9 || code === 13 || code === 12 || code === 11 || code === 0xa0 || code === 0x3000;
}

function isBlank(piece: string): boolean {
  for (let i = 0; i < piece.length; i++) if (!isSpace(piece.charCodeAt(i))) return false;
  return true;
}

function endsBlank(piece: string): boolean {
  return piece.length > 0 && isSpace(piece.charCodeAt(piece.length - 1));
}

/** Index just past the last non-space character. */
function trimmedEnd(piece: string): number {
  let end = piece.length;
  while (end > 0 && isSpace(piece.charCodeAt(end - 1))) end--;
  return end;
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) count++;
  return count;
}

const CLOSERS = new Set(['"', "'", ')', ']', '}', '\u201d', '\u2019', '\u00bb', '*', '_']);
const SENTENCE_ENDS = new Set(['.', '?', '!', '\u2026', '\u3002', '\uff1f', '\uff01']);

function endsSentence(piece: string): boolean {
  let i = trimmedEnd(piece) - 1;
  while (i >= 0 && CLOSERS.has(piece[i])) i--;
  return i >= 0 && SENTENCE_ENDS.has(piece[i]);
}
