// The text of each token of a prompt, such that pieces.join('') is the prompt's text: chunk boundaries
// (paragraph and sentence ends) and the residency map's character offsets both depend on it.
// Detokenizing a token alone drops the leading space SentencePiece encodes, so each token is read
// after the tokens before it; a character split over several byte tokens is given to its last byte.
import type { LlamaModel, Token } from 'node-llama-cpp';

const CONTEXT_TOKENS = 4;

export function tokenPieces(model: LlamaModel, tokens: readonly Token[]): string[] {
  const pieces: string[] = [];
  let pending: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const run = [...pending, tokens[i]];
    const context = tokens.slice(Math.max(0, i - run.length - CONTEXT_TOKENS + 1), i - run.length + 1);
    const text = model.detokenize(run, false, context);
    if (text.endsWith('\uFFFD') && run.length < 4 && i + 1 < tokens.length) {
      pending = run;
      pieces.push('');
      continue;
    }
    pending = [];
    pieces.push(text);
  }
  return pieces;
}
