// The tokens of a prompt, laid out exactly as the standard engine lays them out, split into the part
// that only depends on the documents (ingested once, tiered, persisted) and the part that changes
// with every question (turns and the question, evaluated per ask).
import { LlamaText, type ChatWrapper, type LlamaModel, type LlamaTextValue, type Token } from 'node-llama-cpp';
import { withBeginningToken } from '../bosToken.ts';
import { StrataError } from '../errors.ts';
import { commonPrefix } from '../commonPrefixLength.ts';
import { documentsPlacement, resolveStableChatWrapper } from '../chatWrapper.ts';
import type { EngineDocument, EngineTurn } from '../Engine.ts';
import { chatHistory, rawPromptText } from '../promptText.ts';

export interface PromptRenderer {
  /** Whole prompt: BOS, documents, the user's instructions, earlier turns, the question. */
  render(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, instructions?: string | null): Token[];
  /** The document part: the longest token prefix every question and every instruction (or none) share. */
  prefix(documents: readonly EngineDocument[]): Token[];
  /** The documents, the instructions and these turns: the longest token prefix every next question shares. */
  prefixWithTurns(documents: readonly EngineDocument[], turns: readonly EngineTurn[], instructions?: string | null): Token[];
}

export function createPromptRenderer(model: LlamaModel, hasChatTemplate: boolean): PromptRenderer {
  const render = hasChatTemplate ? chatRenderer(model, resolveStableChatWrapper(model)) : rawRenderer(model);
  // Two questions that differ from their first character share exactly the part before them (and
  // whatever the template puts before a question), wherever the tokenizer's merges fall.
  const prefixWithTurns = (documents: readonly EngineDocument[], turns: readonly EngineTurn[], instructions: string | null = null): Token[] => {
    return commonPrefix(render(documents, turns, 'A', instructions), render(documents, turns, 'Z', instructions));
  };
  // The documents' part must not depend on the instructions: what no instructions and some share.
  const prefix = (documents: readonly EngineDocument[]): Token[] => {
    return commonPrefix(render(documents, [], 'A', null), render(documents, [], 'Z', 'Z'));
  };
  return { render, prefix, prefixWithTurns };
}

function rawRenderer(model: LlamaModel): PromptRenderer['render'] {
  return (documents, turns, question, instructions = null) => withBeginningToken(model, model.tokenize(rawPromptText(documents, turns, question, instructions)));
}

function chatRenderer(model: LlamaModel, wrapper: ChatWrapper): PromptRenderer['render'] {
  return (documents, turns, question, instructions = null) => {
    const { contextText } = wrapper.generateContextState({ chatHistory: chatHistory(documents, turns, question, documentsPlacement(wrapper), instructions) });
    return contextText.tokenize(model.tokenizer);
  };
}

/**
 * The document library's layout (docs/ARCHITECTURE.md, "A document library"): the prompt's own text
 * around its documents, each piece tokenized alone, so a prompt is composed in token space from
 * documents tokenized alone. pieces[0] comes before the first document (with the BOS), pieces[i]
 * between document i and i + 1, pieces[n] after the last (instructions, turns, question).
 */
export interface PieceRenderer {
  pieces(documentCount: number, turns: readonly EngineTurn[], question: string, instructions?: string | null): Token[][];
  /** pieces[n] cut to what every next question shares (as prefixWithTurns); the others as `pieces`. */
  piecesWithTurns(documentCount: number, turns: readonly EngineTurn[], instructions?: string | null): Token[][];
}

/** Stands in for document i while the template is rendered: private-use characters no text uses. */
const sentinel = (i: number) => `\uE000strata-document-${i}\uE001`;
const SENTINELS = /\uE000strata-document-(\d+)\uE001/;

export function createPieceRenderer(model: LlamaModel, hasChatTemplate: boolean): PieceRenderer {
  const wrapper = hasChatTemplate ? resolveStableChatWrapper(model) : null;
  const stand = (n: number): EngineDocument[] => Array.from({ length: n }, (_, i) => ({ id: `piece-${i}`, text: sentinel(i) }));
  const pieces = (n: number, turns: readonly EngineTurn[], question: string, instructions: string | null = null): Token[][] => {
    if (wrapper) {
      const { contextText } = wrapper.generateContextState({ chatHistory: chatHistory(stand(n), turns, question, documentsPlacement(wrapper), instructions) });
      return splitAtSentinels(contextText.values, n).map((values) => LlamaText(values).tokenize(model.tokenizer));
    }
    const texts = splitAtSentinels([rawPromptText(stand(n), turns, question, instructions)], n).map((values) => values.join(''));
    return texts.map((text, i) => (i === 0 ? withBeginningToken(model, model.tokenize(text)) : model.tokenize(text)));
  };
  return {
    pieces,
    piecesWithTurns(n, turns, instructions = null) {
      const a = pieces(n, turns, 'A', instructions);
      const z = pieces(n, turns, 'Z', instructions);
      return [...a.slice(0, n), commonPrefix(a[n], z[n])];
    },
  };
}

/** The template's values cut where the stand-ins were: n + 1 lists, or an error if a document did not come through whole and in order. */
function splitAtSentinels(values: readonly LlamaTextValue[], n: number): LlamaTextValue[][] {
  const out: LlamaTextValue[][] = [[]];
  let inOrder = true;
  for (const value of values) {
    // A stand-in inside a special token's text is not the document's text.
    if (typeof value !== 'string') {
      if (SENTINELS.test(String(value))) inOrder = false;
      out.at(-1)!.push(value);
      continue;
    }
    value.split(SENTINELS).forEach((part, i) => {
      if (i % 2 === 1) {
        if (Number(part) !== out.length - 1) inOrder = false;
        out.push([]);
      } else if (part !== '') {
        out.at(-1)!.push(part);
      }
    });
  }
  if (!inOrder || out.length !== n + 1) {
    throw new StrataError('LIBRARY_UNSUPPORTED', `This model's chat template does not keep each document's text whole and in order, so documents cannot be reused across conversations; they are read with each set instead.`);
  }
  return out;
}
