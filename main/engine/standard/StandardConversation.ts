// One conversation on the standard engine: the whole prompt (documents, turns, question) goes through
// node-llama-cpp's full KV cache, raw or through the model's chat template (promptText.ts).
import type { AskOptions, AskResult } from '../Engine.ts';
import { ConversationBase } from '../ConversationBase.ts';
import { chatHistory, rawPromptText } from '../promptText.ts';
import type { PromptPlan, StandardModel } from './StandardModel.ts';

export class StandardConversation extends ConversationBase {
  private readonly model: StandardModel;

  constructor(model: StandardModel) {
    super();
    this.model = model;
  }

  protected answer(question: string, options: AskOptions): Promise<AskResult> {
    return this.model.run(this.plan(question), options);
  }

  private plan(question: string): PromptPlan {
    if (!this.model.info.hasChatTemplate) {
      return { mode: 'raw', tokens: this.model.tokenize(rawPromptText(this.documents, this.history, question)) };
    }
    // The template's role markers are covered by the context's slack; the texts are counted here.
    const texts = [...this.documents.map((doc) => doc.text), ...this.history.map((turn) => turn.text), question];
    const estimatedTokens = texts.reduce((sum, text) => sum + this.model.tokenize(text).length, 0);
    return { mode: 'chat', history: chatHistory(this.documents, this.history, question), estimatedTokens };
  }
}
