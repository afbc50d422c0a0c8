// What every engine's conversation shares: the attached documents, the earlier turns, the checks on a
// question, and disposal. Engines implement only how one question is answered.
import type { AskOptions, AskResult, EngineConversation, EngineDocument, EngineTurn } from './Engine.ts';
import { DisposedError, RequestError } from './errors.ts';

export abstract class ConversationBase implements EngineConversation {
  protected documents: EngineDocument[] = [];
  protected history: EngineTurn[] = [];
  /** The user's own instructions (the systemPrompt setting), placed after the documents; null: none. */
  protected instructions: string | null = null;
  private disposed = false;

  setInstructions(instructions: string | null): void {
    this.assertAlive();
    this.instructions = instructions === null || instructions.trim() === '' ? null : instructions;
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
    const result = await this.answer(question, options);
    this.history.push({ role: 'user', text: question }, { role: 'assistant', text: result.text });
    return result;
  }

  protected abstract answer(question: string, options: AskOptions): Promise<AskResult>;

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.release();
  }

  /** Frees what the engine keeps for this conversation; runs once. */
  protected async release(): Promise<void> {}

  protected assertAlive(): void {
    if (this.disposed) throw new DisposedError('Conversation');
  }
}
