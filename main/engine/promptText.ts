// The one prompt layout both engines use, so the tiered engine's prompt is token for token the
// standard engine's. Raw completion (models without a chat template, like the needle model): the
// document texts, the earlier turns and the question, joined by newlines. Chat-template models: the
// documents in the system message, then the turns, then the question.
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { EngineDocument, EngineTurn } from './Engine.ts';

const SYSTEM_PROMPT =
  'You answer questions about the documents below. Quote them where it helps, and say so when the documents do not contain the answer.';

export function rawPromptText(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string): string {
  const parts = documents.map((doc) => doc.text);
  // In raw completion an answer continues its question's line.
  for (let i = 0; i + 1 < turns.length; i += 2) parts.push(turns[i].text + turns[i + 1].text);
  parts.push(question);
  return parts.join('\n');
}

export function chatSystemPrompt(documents: readonly EngineDocument[]): string {
  return [SYSTEM_PROMPT, ...documents.map((doc, i) => `--- Document ${i + 1} ---\n${doc.text}`)].join('\n\n');
}

/** The chat history to render through the model's template, ending with the model's empty turn. */
export function chatHistory(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [{ type: 'system', text: chatSystemPrompt(documents) }];
  for (const turn of turns) history.push(turn.role === 'user' ? { type: 'user', text: turn.text } : { type: 'model', response: [turn.text] });
  history.push({ type: 'user', text: question }, { type: 'model', response: [] });
  return history;
}
