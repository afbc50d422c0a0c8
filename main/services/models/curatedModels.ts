// The Models panel's catalog: popular instruct GGUFs with long trained contexts, one quantization each
// (Q4_K_M: the usual choice for an 8–12 GB GPU). Sizes are the repositories' file sizes, rounded; the
// exact size and SHA-256 come from the repository's file list when a download starts. Whether a model
// fits this machine is computed, not listed (modelFit.ts). STRATA_MODEL_CATALOG names a JSON file with
// entries of the same shape that replaces this list (an organisation's mirror; the tests' loopback Hub).
import { readFileSync } from 'node:fs';
import type { CatalogModel } from '../../../preload/api.ts';
import { StrataError } from '../../engine/errors.ts';
import { parseHfUri } from './hubClient.ts';

export type CuratedModel = Omit<CatalogModel, 'localPath' | 'download'>;

const GB = 1e9;

export const CURATED_MODELS: readonly CuratedModel[] = [
  { uri: 'hf:bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf', name: 'Llama 3.1 8B Instruct', sizeBytes: 4.92 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'llama', license: 'Llama 3.1 Community License', engine: 'tiered' },
  { uri: 'hf:bartowski/Llama-3.2-3B-Instruct-GGUF/Llama-3.2-3B-Instruct-Q4_K_M.gguf', name: 'Llama 3.2 3B Instruct', sizeBytes: 2.02 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'llama', license: 'Llama 3.2 Community License', engine: 'tiered' },
  { uri: 'hf:bartowski/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf', name: 'Qwen2.5 7B Instruct', sizeBytes: 4.68 * GB, quantization: 'Q4_K_M', trainContextTokens: 32_768, architecture: 'qwen2', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:bartowski/Qwen2.5-14B-Instruct-GGUF/Qwen2.5-14B-Instruct-Q4_K_M.gguf', name: 'Qwen2.5 14B Instruct', sizeBytes: 8.99 * GB, quantization: 'Q4_K_M', trainContextTokens: 32_768, architecture: 'qwen2', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf', name: 'Qwen3 8B (thinking)', sizeBytes: 5.03 * GB, quantization: 'Q4_K_M', trainContextTokens: 40_960, architecture: 'qwen3', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:Qwen/Qwen3-4B-GGUF/Qwen3-4B-Q4_K_M.gguf', name: 'Qwen3 4B (thinking)', sizeBytes: 2.5 * GB, quantization: 'Q4_K_M', trainContextTokens: 40_960, architecture: 'qwen3', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:bartowski/Mistral-Nemo-Instruct-2407-GGUF/Mistral-Nemo-Instruct-2407-Q4_K_M.gguf', name: 'Mistral Nemo 12B Instruct', sizeBytes: 7.48 * GB, quantization: 'Q4_K_M', trainContextTokens: 1_024_000, architecture: 'llama', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:bartowski/Phi-3.5-mini-instruct-GGUF/Phi-3.5-mini-instruct-Q4_K_M.gguf', name: 'Phi-3.5 mini Instruct', sizeBytes: 2.39 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'phi3', license: 'MIT', engine: 'tiered' },
  { uri: 'hf:bartowski/granite-3.1-8b-instruct-GGUF/granite-3.1-8b-instruct-Q4_K_M.gguf', name: 'Granite 3.1 8B Instruct', sizeBytes: 4.94 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'granite', license: 'Apache-2.0', engine: 'tiered' },
  { uri: 'hf:bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf', name: 'DeepSeek R1 Distill Qwen 7B', sizeBytes: 4.68 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'qwen2', license: 'MIT', engine: 'tiered' },
  { uri: 'hf:bartowski/google_gemma-3-12b-it-GGUF/google_gemma-3-12b-it-Q4_K_M.gguf', name: 'Gemma 3 12B Instruct', sizeBytes: 7.3 * GB, quantization: 'Q4_K_M', trainContextTokens: 131_072, architecture: 'gemma3', license: 'Gemma Terms of Use', engine: 'standard' },
  { uri: 'hf:bartowski/gemma-2-9b-it-GGUF/gemma-2-9b-it-Q4_K_M.gguf', name: 'Gemma 2 9B Instruct', sizeBytes: 5.76 * GB, quantization: 'Q4_K_M', trainContextTokens: 8_192, architecture: 'gemma2', license: 'Gemma Terms of Use', engine: 'standard' },
];

/** The catalog in effect: STRATA_MODEL_CATALOG's file when set (checked entry by entry), else the list above. */
export function curatedModels(env: NodeJS.ProcessEnv = process.env): readonly CuratedModel[] {
  const file = env.STRATA_MODEL_CATALOG?.trim();
  if (!file) return CURATED_MODELS;
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StrataError('BAD_MODEL_CATALOG', `STRATA_MODEL_CATALOG (${file}) could not be read as JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(entries)) throw new StrataError('BAD_MODEL_CATALOG', `STRATA_MODEL_CATALOG (${file}) must hold a JSON array of models.`);
  return entries.map((entry, i) => checkEntry(entry, `${file} entry ${i + 1}`));
}

function checkEntry(entry: unknown, where: string): CuratedModel {
  const e = entry as Partial<CuratedModel>;
  const text = (key: keyof CuratedModel) => {
    if (typeof e[key] !== 'string' || (e[key] as string).trim() === '') throw new StrataError('BAD_MODEL_CATALOG', `${where}: ${key} must be a non-empty string.`);
    return e[key] as string;
  };
  const count = (key: keyof CuratedModel) => {
    if (typeof e[key] !== 'number' || !Number.isFinite(e[key] as number) || (e[key] as number) <= 0) throw new StrataError('BAD_MODEL_CATALOG', `${where}: ${key} must be a positive number.`);
    return e[key] as number;
  };
  parseHfUri(text('uri'));
  const engine = e.engine === 'standard' ? 'standard' : 'tiered';
  return { uri: text('uri'), name: text('name'), sizeBytes: count('sizeBytes'), quantization: text('quantization'), trainContextTokens: count('trainContextTokens'), architecture: text('architecture'), license: text('license'), engine };
}
