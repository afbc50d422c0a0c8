// Defaults the tiered engine derives per model and machine when the user left them automatic.
import type { Llama } from 'node-llama-cpp';
import type { KvCacheType } from '../engineTypes.ts';

/** Bytes per stored value of each KV cache type (ggml blocks: q8_0 is 34 bytes per 32, q4_0 18 per 32). */
const BYTES_PER_VALUE: Record<KvCacheType, number> = { f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 };

/** Bytes one KV cell costs across all layers (K and V of `type`, f16 unless given), plus llama.cpp's per-cell bookkeeping. */
export function kvBytesPerToken(shape: { layers: number; kvHeads: number; headDimK: number; headDimV: number }, type: KvCacheType = 'f16'): number {
  const CELL_OVERHEAD_BYTES = 13;
  return Math.ceil(shape.layers * shape.kvHeads * (shape.headDimK + shape.headDimV) * BYTES_PER_VALUE[type]) + CELL_OVERHEAD_BYTES;
}

export const CPU_DEFAULT_GPU_BUDGET_TOKENS = 4096;
const MIN_AUTO_BUDGET_TOKENS = 1024;
const MAX_AUTO_BUDGET_TOKENS = 131072;
/** Share of free VRAM given to the KV tier; the rest stays for compute buffers and other apps. */
const VRAM_SHARE = 0.5;

/**
 * The GPU tier's size when the user chose "automatic": half the free VRAM after the model is loaded,
 * in KV cells. On a CPU-only machine there is no VRAM to protect, so a fixed size keeps attention cheap.
 */
export async function defaultGpuBudgetTokens(llama: Llama, bytesPerToken: number): Promise<number> {
  if (llama.gpu === false) return CPU_DEFAULT_GPU_BUDGET_TOKENS;
  const { free } = await llama.getVramState();
  const tokens = Math.floor((free * VRAM_SHARE) / bytesPerToken);
  return Math.max(MIN_AUTO_BUDGET_TOKENS, Math.min(MAX_AUTO_BUDGET_TOKENS, Math.floor(tokens / 256) * 256));
}

/**
 * Layers whose keys are abstracted. Middle-to-late layers carry most retrieval heads in llama-family
 * models; two layers keep capture cheap. A 2-layer model (the needle model) scores on its last layer,
 * where its induction head lives.
 */
export function defaultScoringLayers(layerCount: number): number[] {
  if (layerCount <= 2) return [layerCount - 1];
  return [...new Set([Math.floor(layerCount / 2), Math.floor((3 * layerCount) / 4)])];
}
