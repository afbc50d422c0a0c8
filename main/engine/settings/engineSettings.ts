// Engine settings: defaults, and validation that names the setting, the value and the allowed range,
// so a bad value from the UI, the CLI or a hand-edited catalog is refused before it reaches the engine.
import type { EngineSettings } from '../engineTypes.ts';
import { StrataError } from '../errors.ts';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

export const DEFAULT_SETTINGS: EngineSettings = {
  engine: 'tiered',
  gpuBudgetTokens: null,
  cpuTierBytes: 2 * GIB,
  diskBudgetBytes: 64 * GIB,
  chunkMinTokens: null,
  chunkMaxTokens: null,
  scoringLayers: null,
  reselectEveryTokens: 32,
  // The library: each document read once, any combination composed from it (issue 12; chosen from
  // main/engine/tiered/library/fidelity.test.ts: needle accuracy equal to the exact mode's, and 5%
  // of each document's first tokens recomputed brings a random model's logits 17% closer to a whole
  // evaluation of the same prompt at a cost of at most a chunk per document and set).
  kvReuse: 'library',
  recomputePercent: 5,
  kvCacheType: 'f16',
  answerMaxTokens: null,
  temperature: 0,
  systemPrompt: null,
};


export const KV_CACHE_TYPES = ['f16', 'q8_0', 'q4_0'] as const;

/** A budget the engine cannot work with, or a setting out of range. */
export class SettingsError extends StrataError {
  constructor(message: string) {
    super('INVALID_SETTING', message);
    this.name = 'SettingsError';
  }
}

const MIN_GPU_BUDGET_TOKENS = 256;
const MAX_TOKENS = 1 << 20;
/** Instructions are evaluated with every question (they follow the stored documents): keep them short. */
const MAX_SYSTEM_PROMPT_CHARS = 8_000;

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** Applies a partial update to `current` and returns the validated whole; throws SettingsError. */
export function mergeSettings(current: EngineSettings, patch: Partial<EngineSettings>): EngineSettings {
  if (patch === null || typeof patch !== 'object') throw new SettingsError('Settings must be an object.');
  for (const key of Object.keys(patch)) {
    if (!Object.hasOwn(DEFAULT_SETTINGS, key)) throw new SettingsError(`Unknown setting: ${key}.`);
  }
  const next: EngineSettings = { ...current, ...patch };
  if (next.engine !== 'standard' && next.engine !== 'tiered') throw new SettingsError(`engine must be "standard" or "tiered", got ${JSON.stringify(next.engine)}.`);
  if (next.gpuBudgetTokens !== null) integerIn('gpuBudgetTokens', next.gpuBudgetTokens, MIN_GPU_BUDGET_TOKENS, MAX_TOKENS);
  integerIn('cpuTierBytes', next.cpuTierBytes, 0, Number.MAX_SAFE_INTEGER);
  integerIn('diskBudgetBytes', next.diskBudgetBytes, MIB, Number.MAX_SAFE_INTEGER);
  if (next.chunkMinTokens !== null) integerIn('chunkMinTokens', next.chunkMinTokens, 1, 65536);
  if (next.chunkMaxTokens !== null) integerIn('chunkMaxTokens', next.chunkMaxTokens, next.chunkMinTokens ?? 1, 65536);
  integerIn('reselectEveryTokens', next.reselectEveryTokens, 0, 65536);
  if (next.kvReuse !== 'library' && next.kvReuse !== 'exact') throw new SettingsError(`kvReuse must be "library" or "exact", got ${JSON.stringify(next.kvReuse)}.`);
  if (typeof next.recomputePercent !== 'number' || !Number.isFinite(next.recomputePercent) || next.recomputePercent < 0 || next.recomputePercent > 100) {
    throw new SettingsError(`recomputePercent must be a number from 0 to 100, got ${JSON.stringify(next.recomputePercent)}.`);
  }
  if (next.answerMaxTokens !== null) integerIn('answerMaxTokens', next.answerMaxTokens, 1, 65536);
  if (typeof next.temperature !== 'number' || !Number.isFinite(next.temperature) || next.temperature < 0 || next.temperature > 2) {
    throw new SettingsError(`temperature must be a number from 0 (greedy) to 2, got ${JSON.stringify(next.temperature)}.`);
  }
  if (next.systemPrompt !== null) {
    if (typeof next.systemPrompt !== 'string') throw new SettingsError(`systemPrompt must be text or null (none), got ${JSON.stringify(next.systemPrompt)}.`);
    if (next.systemPrompt.length > MAX_SYSTEM_PROMPT_CHARS) throw new SettingsError(`systemPrompt is ${next.systemPrompt.length.toLocaleString('en-US')} characters; at most ${MAX_SYSTEM_PROMPT_CHARS.toLocaleString('en-US')} (add longer text as a document).`);
    if (next.systemPrompt.trim() === '') next.systemPrompt = null;
  }
  if (!(KV_CACHE_TYPES as readonly string[]).includes(next.kvCacheType)) {
    throw new SettingsError(`kvCacheType must be one of ${KV_CACHE_TYPES.join(', ')}, got ${JSON.stringify(next.kvCacheType)}.`);
  }
  if (next.scoringLayers !== null) {
    if (!Array.isArray(next.scoringLayers) || next.scoringLayers.length === 0) throw new SettingsError('scoringLayers must be null (automatic) or a non-empty list of layer numbers.');
    next.scoringLayers.forEach((layer, i) => integerIn(`scoringLayers[${i}]`, layer, 0, 4095));
    next.scoringLayers = [...new Set(next.scoringLayers)].sort((a, b) => a - b);
  }
  if (next.gpuBudgetTokens !== null && next.chunkMaxTokens !== null && next.gpuBudgetTokens < 4 * next.chunkMaxTokens) {
    throw new SettingsError(
      `gpuBudgetTokens (${next.gpuBudgetTokens}) must hold at least 4 chunks of chunkMaxTokens (${next.chunkMaxTokens}): the sink, the most recent chunk, a selected one and the question. Raise the budget or lower chunkMaxTokens.`,
    );
  }
  return next;
}

/** Settings with the chunk bounds made concrete for one GPU budget. */
export type ResolvedSettings = EngineSettings & { chunkMinTokens: number; chunkMaxTokens: number };

/**
 * Chunk bounds follow the GPU budget unless set: chunks of about a sixteenth of it (16 to 256 tokens),
 * so a 256-token budget still holds the sink, the question, the answer and several chunks, and the
 * CPU machine's 4,096-token default keeps 32–256. Throws SettingsError when explicit bounds do not fit.
 */
export function resolveChunkBounds(settings: EngineSettings, gpuBudgetTokens: number): ResolvedSettings {
  const autoMax = Math.max(16, Math.min(256, Math.floor(gpuBudgetTokens / 16)));
  const chunkMaxTokens = settings.chunkMaxTokens ?? Math.max(autoMax, settings.chunkMinTokens ?? 0);
  const chunkMinTokens = settings.chunkMinTokens ?? Math.max(4, Math.min(32, Math.floor(chunkMaxTokens / 8)));
  if (gpuBudgetTokens < 4 * chunkMaxTokens) {
    throw new SettingsError(
      `The GPU budget of ${gpuBudgetTokens} tokens must hold at least 4 chunks of chunkMaxTokens (${chunkMaxTokens}): the sink, the most recent chunk, a selected one and the question. Raise the budget or lower chunkMaxTokens (or leave it automatic).`,
    );
  }
  return { ...settings, chunkMinTokens, chunkMaxTokens };
}
