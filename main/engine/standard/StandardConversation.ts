// Builds the prompt for one question. A model with a chat template gets the documents in its system
// message; a model without one (the needle model) gets raw completion: the document texts, the earlier
// turns and the question, joined by newlines.
import type { ChatHistoryItem } from 'node-llama-cpp';
import type { AskOptions, AskResult, EngineConversation, EngineDocument, EngineTurn } from '../Engine.ts';
import { DisposedError, RequestError } from '../errors.ts';
import type { PromptPlan, StandardModel } from './StandardModel.ts';

const SYSTEM_PROMPT =
  'You answer questions about the documents below. Quote them where it helps, and say so when the documents do not contain the answer.';

/** The system message of chat-template models; the tiered engine builds the same one. */
export function chatSystemPrompt(documents: readonly EngineDocument[]): string {
  return [SYSTEM_PROMPT, ...documents.map((doc, i) => `--- Document ${i + 1} ---\n${doc.text}`)].join('\n\n');
}

export class StandardConversation implements EngineConversation {
  private readonly model: StandardModel;
  private documents: EngineDocument[] = [];
  private history: EngineTurn[] = [];
  private disposed = false;

  constructor(model: StandardModel) {
    this.model = model;
  }

  setDocuments(documents: EngineDocument[]): void {
    this.assertAlive();
    this.documents = documents.slice();
  }

  setHistory(turns: EngineTurn[]): void {
    this.assertAlive();
    this.history = turns.slice();
  }

  async ask(question: string, options: AskOptions = {}): Promise<AskResult> {
    this.assertAlive();
    if (question.trim() === '') throw new RequestError('EMPTY_QUESTION', 'Type a question first.');
    const result = await this.model.run(this.plan(question), options);
    this.history.push({ role: 'user', text: question }, { role: 'assistant', text: result.text });
    return result;
  }

  /** Exposed for tests and the tiered engine's exactness checks: the exact prompt text of raw mode. */
  rawPromptText(question: string): string {
    const parts = this.documents.map((doc) => doc.text);
    for (let i = 0; i + 1 < this.history.length; i += 2) {
      // In raw completion an answer continues its question's line.
      parts.push(this.history[i].text + this.history[i + 1].text);
    }
    parts.push(question);
    return parts.join('\n');
  }

  private plan(question: string): PromptPlan {
    if (!this.model.info.hasChatTemplate) {
      return { mode: 'raw', tokens: this.model.tokenize(this.rawPromptText(question)) };
    }
    const system = chatSystemPrompt(this.documents);
    const history: ChatHistoryItem[] = [{ type: 'system', text: system }];
    for (const turn of this.history) {
      history.push(turn.role === 'user' ? { type: 'user', text: turn.text } : { type: 'model', response: [turn.text] });
    }
    history.push({ type: 'user', text: question }, { type: 'model', response: [] });
    const estimatedTokens = this.model.countTokens(system) + this.history.reduce((sum, turn) => sum + this.model.countTokens(turn.text), 0) + this.model.countTokens(question);
    return { mode: 'chat', history, estimatedTokens };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('Conversation');
  }
}
