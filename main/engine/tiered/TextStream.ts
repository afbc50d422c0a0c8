// Turns generated tokens into text chunks as they arrive, at a constant cost per token: only the
// tokens not yet shown are detokenized, with the last few shown ones as context (node-llama-cpp's
// `lastTokens`), so leading-space rules hold; a character cut in half (U+FFFD at the end) waits for
// the next token. Detokenizing the whole answer again for every token cost O(n) each.
import type { LlamaModel, Token } from 'node-llama-cpp';

/** Tokens of context kept for the detokenizer's spacing rules (node-llama-cpp looks at a few). */
const CONTEXT_TOKENS = 16;

export class TextStream {
  private readonly model: Pick<LlamaModel, 'detokenize'>;
  private context: Token[] = [];
  private pending: Token[] = [];
  private emitted = '';

  constructor(model: Pick<LlamaModel, 'detokenize'>) {
    this.model = model;
  }

  /** Adds a token and returns the new text it completes ('' when it completes none yet). */
  push(token: Token): string {
    this.pending.push(token);
    const chunk = this.model.detokenize(this.pending, false, this.context);
    if (chunk.endsWith('\uFFFD')) return '';
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    this.emitted += chunk;
    return chunk;
  }

  /** All the text so far, a trailing partial character included. */
  get text(): string {
    return this.pending.length === 0 ? this.emitted : this.emitted + this.model.detokenize(this.pending, false, this.context);
  }
}
