// The token llama.cpp puts before a prompt, decided as node-llama-cpp's LlamaCompletion decides it
// (utils/tokenizerUtils.js, after llama-vocab.cpp): a BOS only where the model's metadata asks for one
// (Qwen2, Qwen3 and Phi-3 GGUFs say tokenizer.ggml.add_bos_token = false). Both engines use this, so a
// raw prompt is token for token the same in each and its count includes only what is evaluated.
import type { LlamaModel, Token } from 'node-llama-cpp';

export function bosToPrepend(model: LlamaModel): Token | null {
  const type = String(model.vocabularyType).toLowerCase();
  if (type === 'rwkv' || type === 'ugm') return null;
  if (type === 'wpm') return model.tokens.bos;
  return model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
}

/** `tokens` with the model's beginning token in front, when it has one. */
export function withBeginningToken(model: LlamaModel, tokens: readonly Token[]): Token[] {
  const bos = bosToPrepend(model);
  return bos == null ? [...tokens] : [bos, ...tokens];
}
