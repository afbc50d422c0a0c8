// One loaded model of the standard engine. It owns one context with one sequence, shared by its
// conversations one ask at a time: a follow-up question on the same documents reuses the evaluated
// prefix instead of evaluating the documents again.
import { SerialQueue } from '../SerialQueue.ts';
import {
  LlamaChat,
  LlamaCompletion,
  type ChatHistoryItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
  type ChatWrapper,
} from 'node-llama-cpp';
import type { AskMetrics } from '../engineTypes.ts';
import type { AskOptions, AskResult, EngineConversation, EngineModel, LoadedModelInfo } from '../Engine.ts';
import { DisposedError, ModelError, RequestError } from '../errors.ts';
import { StandardConversation } from './StandardConversation.ts';
import type { KvCacheType } from '../engineTypes.ts';
import { withBeginningToken } from '../bosToken.ts';
import { commonPrefixLength } from '../commonPrefixLength.ts';
import { documentsPlacement, resolveStableChatWrapper, type DocumentsPlacement } from '../chatWrapper.ts';
import { TokenizerWorker } from '../tokenize/TokenizerWorker.ts';

const CONTEXT_STEP_TOKENS = 256;
/** Room for a chat template's role markers around each turn, which tokenize() of the text misses. */
const CHAT_TEMPLATE_SLACK_TOKENS = 128;
export const DEFAULT_MAX_TOKENS_RAW = 256;
export const DEFAULT_MAX_TOKENS_CHAT = 1024;

export type PromptPlan =
  | { mode: 'raw'; tokens: Token[] }
  | { mode: 'chat'; history: ChatHistoryItem[]; estimatedTokens: number };

/** node-llama-cpp's names of the KV cache types. */
const KV_TYPE_NAMES = { f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0' } as const;

export class StandardModel implements EngineModel {
  readonly info: LoadedModelInfo;
  private readonly model: LlamaModel;
  private readonly llama: Llama;
  private readonly onDispose: () => void;
  private readonly flashAttention: boolean;
  private context: LlamaContext | null = null;
  private sequence: LlamaContextSequence | null = null;
  private readonly queue = new SerialQueue();
  private disposed = false;

  private readonly kvCacheType: KvCacheType;
  private wrapper: ChatWrapper | null = null;

  constructor(info: LoadedModelInfo, model: LlamaModel, llama: Llama, flashAttention: boolean, onDispose: () => void, kvCacheType: KvCacheType = 'f16') {
    this.kvCacheType = kvCacheType;
    this.info = info;
    this.flashAttention = flashAttention;
    this.model = model;
    this.llama = llama;
    this.onDispose = onDispose;
  }

  /** The model's chat wrapper, resolved once (the placement probe is cached per wrapper). */
  chatWrapper(): ChatWrapper {
    this.wrapper ??= resolveStableChatWrapper(this.model);
    return this.wrapper;
  }

  renderedTokenCount(history: ChatHistoryItem[]): number {
    return this.chatWrapper().generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer).length;
  }

  documentsPlacement(): DocumentsPlacement {
    return documentsPlacement(this.chatWrapper());
  }

  /** Library counts (a document may be 25 MB of text) are made in a tokenizer worker, opened on first use. */
  async countTokens(text: string): Promise<number> {
    this.assertAlive();
    this.tokenizer ??= TokenizerWorker.open(this.info.path);
    return (await this.tokenizer).countTokens(text);
  }

  private tokenizer: Promise<TokenizerWorker> | null = null;

  tokenize(text: string): Token[] {
    this.assertAlive();
    return this.model.tokenize(text);
  }

  createConversation(): EngineConversation {
    this.assertAlive();
    return new StandardConversation(this);
  }

  /** Asks run one at a time: they share the one sequence. */
  run(plan: PromptPlan, options: AskOptions): Promise<AskResult> {
    return this.queue.run(() => this.runNow(plan, options));
  }

  private async runNow(plan: PromptPlan, options: AskOptions): Promise<AskResult> {
    this.assertAlive();
    const chat = plan.mode === 'chat';
    const maxTokens = options.maxTokens ?? (chat ? DEFAULT_MAX_TOKENS_CHAT : DEFAULT_MAX_TOKENS_RAW);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RequestError('INVALID_ARGUMENT', `maxTokens must be a positive integer, got ${maxTokens}`);
    // With the BOS node-llama-cpp prepends to a raw prompt, when the model's metadata asks for one.
    const promptTokens = plan.mode === 'raw' ? this.withBos(plan.tokens).length : plan.estimatedTokens;
    const sequence = await this.sequenceFor(promptTokens + maxTokens);

    const reusedTokens = plan.mode === 'raw' ? commonPrefixLength(sequence.contextTokens, this.withBos(plan.tokens)) : 0;
    const startedAt = performance.now();
    let firstTokenAt = 0;
    let generatedTokens = 0;
    const onToken = (tokens: Token[]) => {
      if (firstTokenAt === 0) firstTokenAt = performance.now();
      generatedTokens += tokens.length;
    };
    const common = {
      signal: options.signal,
      stopOnAbortSignal: true,
      maxTokens,
      temperature: options.temperature ?? 0,
      onToken,
      onTextChunk: options.onTextChunk,
    };

    let text: string;
    let stopReason: string;
    if (plan.mode === 'raw') {
      const completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
      try {
        // contextShiftSize defaults to a tenth of the context, and node-llama-cpp makes that room by
        // cutting the start of the prompt: the context is sized for the whole prompt instead.
        const result = await completion.generateCompletionWithMeta(plan.tokens, { ...common, repeatPenalty: false, disableContextShift: true, contextShiftSize: 1 });
        text = result.response;
        stopReason = result.metadata.stopReason;
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    } else {
      const llamaChat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false, chatWrapper: this.chatWrapper() });
      try {
        const result = await llamaChat.generateResponse(plan.history, common);
        text = result.response;
        stopReason = result.metadata.stopReason;
      } finally {
        llamaChat.dispose({ disposeSequence: false });
      }
    }

    const endedAt = performance.now();
    const ttft = firstTokenAt === 0 ? endedAt - startedAt : firstTokenAt - startedAt;
    const decodeMs = endedAt - (firstTokenAt === 0 ? endedAt : firstTokenAt);
    // Positions 0… hold the prompt and then the answer; its last token is sampled, not evaluated.
    const lastPosition = Math.max(0, promptTokens + generatedTokens - 2);
    const metrics: AskMetrics = {
      engine: 'standard',
      promptTokens,
      evaluatedPromptTokens: plan.mode === 'raw' ? promptTokens - reusedTokens : promptTokens,
      generatedTokens,
      prefillMs: ttft,
      timeToFirstTokenMs: ttft,
      decodeTokensPerSecond: generatedTokens > 1 && decodeMs > 0 ? ((generatedTokens - 1) * 1000) / decodeMs : 0,
      totalMs: endedAt - startedAt,
      contextTokens: sequence.context.contextSize,
      maxPositionUsed: lastPosition,
      maxAttentionDistance: lastPosition,
    };
    return { text, stopReason: mapStopReason(stopReason), metrics };
  }

  private withBos(tokens: Token[]): Token[] {
    return withBeginningToken(this.model, tokens);
  }

  /** A context big enough for the prompt and the answer; grown (never silently truncated) on demand. */
  private async sequenceFor(neededTokens: number): Promise<LlamaContextSequence> {
    const limit = this.info.trainContextTokens;
    if (neededTokens > limit) {
      throw new RequestError(
        'CONTEXT_TOO_SMALL',
        `The documents, conversation and answer need ${neededTokens} tokens, but ${this.info.name} holds at most ${limit}. Detach some documents, lower the answer length, or use the tiered engine.`,
      );
    }
    if (this.sequence !== null && this.context !== null && this.context.contextSize >= neededTokens) return this.sequence;
    await this.context?.dispose();
    this.context = null;
    this.sequence = null;
    const contextSize = Math.min(limit, Math.ceil((neededTokens + CHAT_TEMPLATE_SLACK_TOKENS) / CONTEXT_STEP_TOKENS) * CONTEXT_STEP_TOKENS);
    try {
      // Flash attention is set explicitly (never "auto"), as the tiered engine's blobs require; on CPU
      // it is also 2-3x faster at 4K tokens. Threads: node-llama-cpp's default oversubscribes small CPUs.
      // The KV type is the user's setting, the same one the tiered engine stores its blobs in.
      const kvType = KV_TYPE_NAMES[this.kvCacheType];
      this.context = await this.model.createContext({
        contextSize,
        sequences: 1,
        flashAttention: this.flashAttention,
        threads: this.llama.cpuMathCores,
        experimentalKvCacheKeyType: kvType,
        experimentalKvCacheValueType: kvType,
      });
    } catch (error) {
      throw new ModelError('OUT_OF_MEMORY', `Not enough memory for a ${contextSize}-token context with ${this.info.name}: ${(error as Error).message}. Detach some documents or use the tiered engine.`, { cause: error });
    }
    this.sequence = this.context.getSequence();
    return this.sequence;
  }

  get gpuKind(): string {
    return String(this.llama.gpu);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.idle();
    await this.context?.dispose();
    await this.model.dispose();
    await (await this.tokenizer?.catch(() => null))?.dispose();
    this.onDispose();
  }

  private assertAlive(): void {
    if (this.disposed) throw new DisposedError('StandardModel');
  }
}

function mapStopReason(reason: string): AskResult['stopReason'] {
  if (reason === 'eogToken') return 'eos';
  if (reason === 'maxTokens') return 'maxTokens';
  if (reason === 'abort') return 'abort';
  return 'stopTrigger';
}
