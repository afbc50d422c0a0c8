// The chat wrapper both engines render prompts with. node-llama-cpp's Llama 3.1 and 3.2 wrappers print
// today's date before the system message, and Jinja templates may call strftime_now: the documents'
// prefix would then change every day, and every document be read again each morning with its old KV
// orphaned. Strata pins those: no date line in the Llama 3.x wrappers, and templates that take a
// date_string get a fixed one instead of calling strftime_now. A prompt is a function of the
// documents, the turns and the question only.
import { resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel } from 'node-llama-cpp';

/** Llama 3.1's own template default, used by templates that print a date when given none. */
export const PINNED_DATE_STRING = '26 Jul 2024';

export const stableWrapperSettings = {
  'llama3.1': { todayDate: null },
  'llama3.2-lightweight': { todayDate: null },
  jinjaTemplate: { additionalRenderParameters: { date_string: PINNED_DATE_STRING } },
} as const;

export function resolveStableChatWrapper(model: LlamaModel): ChatWrapper {
  return resolveChatWrapper(model, { customWrapperSettings: stableWrapperSettings as never });
}

/**
 * Where the documents go so that they stay the prompt's first tokens as the conversation grows.
 * 'system': the system message, where most templates keep it first. 'firstUser': before the first
 * user message's text, for templates that move the system message (Mistral's [INST] templates put
 * it inside the *last* user turn, which would read every document again on every turn).
 */
export type DocumentsPlacement = 'system' | 'firstUser';

const placements = new WeakMap<ChatWrapper, DocumentsPlacement>();

export function documentsPlacement(wrapper: ChatWrapper): DocumentsPlacement {
  let known = placements.get(wrapper);
  if (known === undefined) {
    const SENTINEL = 'STRATA-DOCUMENTS-SENTINEL';
    const render = (turns: ChatHistoryItem[]): string => {
      const history: ChatHistoryItem[] = [{ type: 'system', text: SENTINEL }, ...turns, { type: 'user', text: 'question' }, { type: 'model', response: [] }];
      return JSON.stringify(wrapper.generateContextState({ chatHistory: history }).contextText.toJSON());
    };
    const alone = render([]);
    const later = render([{ type: 'user', text: 'earlier question' }, { type: 'model', response: ['earlier answer'] }]);
    const at = alone.indexOf(SENTINEL);
    known = at >= 0 && later.indexOf(SENTINEL) === at && later.slice(0, at) === alone.slice(0, at) ? 'system' : 'firstUser';
    placements.set(wrapper, known);
  }
  return known;
}
