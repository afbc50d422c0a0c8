// The tokens of a prompt, laid out exactly as the standard engine lays them out, split into the part
// that only depends on the documents (ingested once, tiered, persisted) and the part that changes
// with every question (turns and the question, evaluated per ask).
import type { ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';
import { withBeginningToken } from '../bosToken.ts';
import { commonPrefixLength } from '../commonPrefixLength.ts';
import { documentsPlacement, resolveStableChatWrapper } from '../chatWrapper.ts';
import type { EngineDocument, EngineTurn } from '../Engine.ts';
import { chatHistory, rawPromptText } from '../promptText.ts';

export interface PromptRenderer {
  /** Whole prompt: BOS, documents, earlier turns, the question. */
  render(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string): Token[];
  /** The document part: the longest token prefix every question shares. */
  prefix(documents: readonly EngineDocument[]): Token[];
  /** The documents and these turns: the longest token prefix every next question shares. */
  prefixWithTurns(documents: readonly EngineDocument[], turns: readonly EngineTurn[]): Token[];
}

export function createPromptRenderer(model: LlamaModel, hasChatTemplate: boolean): PromptRenderer {
  const render = hasChatTemplate ? chatRenderer(model, resolveStableChatWrapper(model)) : rawRenderer(model);
  // Two questions that differ from their first character share exactly the part before them (and
  // whatever the template puts before a question), wherever the tokenizer's merges fall.
  const prefixWithTurns = (documents: readonly EngineDocument[], turns: readonly EngineTurn[]): Token[] => {
    const a = render(documents, turns, 'A');
    return a.slice(0, commonPrefixLength(a, render(documents, turns, 'Z')));
  };
  return { render, prefix: (documents) => prefixWithTurns(documents, []), prefixWithTurns };
}

function rawRenderer(model: LlamaModel): PromptRenderer['render'] {
  return (documents, turns, question) => withBeginningToken(model, model.tokenize(rawPromptText(documents, turns, question)));
}

function chatRenderer(model: LlamaModel, wrapper: ChatWrapper): PromptRenderer['render'] {
  return (documents, turns, question) => {
    const { contextText } = wrapper.generateContextState({ chatHistory: chatHistory(documents, turns, question, documentsPlacement(wrapper)) });
    return contextText.tokenize(model.tokenizer);
  };
}
