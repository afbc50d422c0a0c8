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
      return { mode: 'raw', tokens: this.model.tokenize(rawPromptText(this.documents, this.history, question, this.instructions)) };
    }
    // Counted as rendered: a template adds a preamble (Llama 3.1's dates and tool notes) and markers
    // around every turn, which counting the texts alone misses by hundreds of tokens over a conversation.
    const history = chatHistory(this.documents, this.history, question, this.model.documentsPlacement(), this.instructions);
    return { mode: 'chat', history, estimatedTokens: this.model.renderedTokenCount(history) };
  }
}
