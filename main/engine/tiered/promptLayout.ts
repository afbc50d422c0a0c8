// The tokens of a prompt, laid out exactly as the standard engine lays them out, split into the part
// that only depends on the documents (ingested once, tiered, persisted) and the part that changes
// with every question (turns and the question, evaluated per ask).
import type { ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';
import { withBeginningToken } from '../bosToken.ts';
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
