// The one prompt layout both engines use, so the tiered engine's prompt is token for token the
// standard engine's. Raw completion (models without a chat template, like the needle model): the
// document texts, the earlier turns and the question, joined by newlines. Chat-template models: the
// documents in the system message (or before the first user message where the template moves the
// system message: chatWrapper.ts documentsPlacement), then the turns, then the question. The user's
// own instructions (the systemPrompt setting) come right after the documents, so the documents stay
// the first tokens of every prompt whatever the instructions say, and changing them never reads the
// documents again.
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { DocumentsPlacement } from './chatWrapper.ts';
import type { EngineDocument, EngineTurn } from './Engine.ts';

const SYSTEM_PROMPT =
  'You answer questions about the documents below. Quote them where it helps, and say so when the documents do not contain the answer.';

export function rawPromptText(documents: readonly EngineDocument[], turns: readonly EngineTurn[], question: string, instructions: string | null = null): string {
  const parts = documents.map((doc) => doc.text);
  if (instructions) parts.push(instructions);
  // In raw completion an answer continues its question's line.
  for (let i = 0; i + 1 < turns.length; i += 2) parts.push(turns[i].text + turns[i + 1].text);
  parts.push(question);
  return parts.join('\n');
}

export function chatSystemPrompt(documents: readonly EngineDocument[], instructions: string | null = null): string {
  const parts = [SYSTEM_PROMPT, ...documents.map((doc, i) => `--- Document ${i + 1} ---\n${doc.text}`)];
  if (instructions) parts.push(`--- Instructions ---\n${instructions}`);
  return parts.join('\n\n');
}

/** The chat history to render through the model's template, ending with the model's empty turn. */
export function chatHistory(
  documents: readonly EngineDocument[],
  turns: readonly EngineTurn[],
  question: string,
  placement: DocumentsPlacement = 'system',
  instructions: string | null = null,
): ChatHistoryItem[] {
  const system = chatSystemPrompt(documents, instructions);
  const history: ChatHistoryItem[] = placement === 'system' ? [{ type: 'system', text: system }] : [];
  for (const turn of [...turns, { role: 'user' as const, text: question }]) {
    if (turn.role === 'user') {
      const first = placement === 'firstUser' && !history.some((item) => item.type === 'user');
      history.push({ type: 'user', text: first ? `${system}\n\n${turn.text}` : turn.text });
    } else {
      history.push({ type: 'model', response: [turn.text] });
    }
  }
  history.push({ type: 'model', response: [] });
  return history;
}
