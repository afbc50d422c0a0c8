// Turns generated tokens into text chunks as they arrive. Detokenizing the whole answer each time (not
// token by token) keeps multi-byte characters and leading-space rules right; a character cut in half
// (U+FFFD at the end) waits for the next token.
import type { LlamaModel, Token } from 'node-llama-cpp';

export class TextStream {
  private readonly model: LlamaModel;
  private readonly tokens: Token[] = [];
  private emitted = '';

  constructor(model: LlamaModel) {
    this.model = model;
  }

  /** Adds a token and returns the new text it completes ('' when it completes none yet). */
  push(token: Token): string {
    this.tokens.push(token);
    const text = this.model.detokenize(this.tokens);
    if (text.endsWith('\uFFFD') || !text.startsWith(this.emitted)) return '';
    const chunk = text.slice(this.emitted.length);
    this.emitted = text;
    return chunk;
  }

  get text(): string {
    return this.model.detokenize(this.tokens);
  }
}
