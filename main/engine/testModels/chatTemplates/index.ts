// Real chat templates for generated models, as the models' authors publish them (copied from
// llama.cpp's models/templates at de3ff81, which keeps them for its own template tests). A template
// comes with the special tokens it prints, added to the vocabulary as CONTROL tokens, and the token
// that ends a model turn, which becomes the model's EOS as in the real GGUFs.
import { readFileSync } from 'node:fs';

export interface ChatTemplateFixture {
  /** tokenizer.chat_template */
  template: string;
  controlTokens: string[];
  /** tokenizer.ggml.eos_token_id names this token; '</s>' is the vocabulary's own EOS. */
  endOfTurn: string;
}

const FIXTURES = {
  // Llama 3.1 8B Instruct: the date preamble ("Cutting Knowledge Date… Today Date…") before the system message.
  'llama3.1': { file: 'llama3.1.jinja', controlTokens: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|eom_id|>', '<|python_tag|>'], endOfTurn: '<|eot_id|>' },
  // Qwen 2.5 7B Instruct: ChatML.
  'qwen2.5': { file: 'qwen2.5.jinja', controlTokens: ['<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_call>'], endOfTurn: '<|im_end|>' },
  // Qwen3 0.6B: ChatML with thinking; earlier turns' <think> blocks are stripped.
  qwen3: { file: 'qwen3.jinja', controlTokens: ['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<tool_call>', '</tool_call>'], endOfTurn: '<|im_end|>' },
  // Mistral Nemo Instruct 2407: [INST]…[/INST], the system message inside the last user turn.
  mistral: { file: 'mistral.jinja', controlTokens: ['[INST]', '[/INST]'], endOfTurn: '</s>' },
  // Gemma 2 2B it: no system role (it raises), <start_of_turn>user / model.
  gemma: { file: 'gemma.jinja', controlTokens: ['<start_of_turn>', '<end_of_turn>'], endOfTurn: '<end_of_turn>' },
  // Phi-3.5 mini instruct: <|system|> <|user|> <|assistant|> <|end|>.
  phi3: { file: 'phi3.jinja', controlTokens: ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>', '<|endoftext|>'], endOfTurn: '<|end|>' },
} as const;

export type ChatTemplateName = keyof typeof FIXTURES;
export const CHAT_TEMPLATE_NAMES = Object.keys(FIXTURES) as ChatTemplateName[];

export function chatTemplateFixture(name: string): ChatTemplateFixture {
  const fixture = (FIXTURES as Record<string, (typeof FIXTURES)[ChatTemplateName]>)[name];
  if (!fixture) throw new RangeError(`unknown chat template "${name}" (one of ${CHAT_TEMPLATE_NAMES.join(', ')})`);
  return {
    template: readFileSync(new URL(`./${fixture.file}`, import.meta.url), 'utf8'),
    controlTokens: [...fixture.controlTokens],
    endOfTurn: fixture.endOfTurn,
  };
}
