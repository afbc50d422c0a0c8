// "Fits this machine", computed with node-llama-cpp's GgufInsights from the model's GGUF header (read
// from the file, or over the network from the Hub: only the header's bytes are fetched) for this GPU and
// the current engine settings: the tiered engine's context is the GPU budget, in the chosen KV type.
import { freemem, totalmem } from 'node:os';
import { GgmlType, GgufInsights, readGgufFileInfo, type GgufFileInfo, type Llama } from 'node-llama-cpp';
import type { EngineSettings, KvCacheType, ModelFit } from '../../../preload/api.ts';
import { errorPayload } from '../../engine/errors.ts';

/** The GPU tier a fit is judged for when the budget is automatic. */
export const FIT_DEFAULT_BUDGET_TOKENS = 4096;

const KV_GGML: Record<KvCacheType, GgmlType> = { f16: GgmlType.F16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 };
/** Tokenizer arrays are the bulk of a header and say nothing about memory. */
const IGNORED_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges'];

const headers = new Map<string, Promise<GgufFileInfo>>();

/** The GGUF header of a local path or an hf: URI, read once per process. */
export function readModelHeader(source: string, endpoint: string, signal?: AbortSignal): Promise<GgufFileInfo> {
  const key = `${endpoint} ${source}`;
  let pending = headers.get(key);
  if (!pending) {
    pending = readGgufFileInfo(source, { endpoints: { huggingFace: endpoint }, ignoreKeys: IGNORED_KEYS, logWarnings: false, signal, fetchRetryOptions: { retries: 1 } });
    headers.set(key, pending);
    pending.catch(() => headers.delete(key));
  }
  return pending;
}

export async function estimateFit(request: { uri: string; source: string; endpoint: string; llama: Llama; settings: EngineSettings; signal?: AbortSignal }): Promise<ModelFit> {
  const contextTokens = request.settings.gpuBudgetTokens ?? FIT_DEFAULT_BUDGET_TOKENS;
  const base = { uri: request.uri, contextTokens, gpuLayers: 0, totalLayers: 0, vramBytes: 0, ramBytes: 0 };
  let insights: GgufInsights;
  try {
    insights = await GgufInsights.from(await readModelHeader(request.source, request.endpoint, request.signal), request.llama);
  } catch (error) {
    return { ...base, verdict: 'unknown', summary: `Not checked: ${errorPayload(error).message}` };
  }
  const kv = KV_GGML[request.settings.kvCacheType];
  const flashAttention = request.settings.kvCacheType !== 'f16';
  const totalLayers = insights.totalLayers;
  const onGpu = request.llama.gpu !== false;
  const context = `a ${contextTokens.toLocaleString('en-US')}-token GPU tier (${request.settings.kvCacheType} KV)`;
  try {
    if (!onGpu) {
      const model = await insights.estimateModelResourceRequirementsV2({ gpuLayers: 0 });
      const ctx = await insights.estimateContextResourceRequirementsV2({ contextSize: contextTokens, modelGpuLayers: 0, flashAttention, kvCacheKeyType: kv, kvCacheValueType: kv });
      const ramBytes = model.cpuRam + ctx.cpuRam;
      const fits = ramBytes <= Math.max(freemem(), totalmem() * 0.7);
      return {
        ...base,
        totalLayers,
        ramBytes,
        verdict: fits ? 'cpu' : 'too-large',
        summary: fits
          ? `No GPU here: runs on the CPU (slowly) with ${gib(ramBytes)} of RAM for the weights and ${context}.`
          : `Needs about ${gib(ramBytes)} of RAM with ${context}; this machine has ${gib(totalmem())}.`,
      };
    }
    const vram = await request.llama.getVramState();
    const full = await insights.configurationResolver.resolveAndScoreConfig({ targetGpuLayers: 'max', targetContextSize: contextTokens, flashAttention, kvCacheKeyType: kv, kvCacheValueType: kv });
    const vramBytes = full.resolvedValues.totalVramUsage;
    if (vramBytes <= vram.free) {
      return { ...base, totalLayers, gpuLayers: totalLayers, vramBytes, ramBytes: full.resolvedValues.totalRamUsage, verdict: 'fits', summary: `Fits the GPU: ${gib(vramBytes)} of ${gib(vram.free)} free, all ${totalLayers} layers, with ${context}.` };
    }
    const best = await insights.configurationResolver.resolveAndScoreConfig({ targetContextSize: contextTokens, flashAttention, kvCacheKeyType: kv, kvCacheValueType: kv });
    const gpuLayers = best.resolvedValues.gpuLayers;
    if (gpuLayers > 0 && best.resolvedValues.totalRamUsage <= totalmem() * 0.7) {
      return { ...base, totalLayers, gpuLayers, vramBytes: best.resolvedValues.totalVramUsage, ramBytes: best.resolvedValues.totalRamUsage, verdict: 'partial', summary: `Partly on the GPU: ${gpuLayers} of ${totalLayers} layers fit in ${gib(vram.free)} free with ${context}; the rest run on the CPU (slower).` };
    }
    return { ...base, totalLayers, vramBytes, verdict: 'too-large', summary: `Too large: needs about ${gib(vramBytes)} of GPU memory with ${context}; ${gib(vram.free)} are free.` };
  } catch (error) {
    return { ...base, totalLayers, verdict: 'unknown', summary: `Not checked: ${errorPayload(error).message}` };
  }
}

/** The model to offer first: of those that fit (GPU before partly before CPU), the largest one. */
export function pickRecommended<T extends { uri: string; sizeBytes: number; engine: string }>(models: readonly T[], fits: ReadonlyMap<string, ModelFit>): T | null {
  const rank: Record<ModelFit['verdict'], number> = { fits: 3, partial: 2, cpu: 1, 'too-large': 0, unknown: 0 };
  // Compared in order: how well it fits, whether the tiered engine runs it, then size — on a GPU the
  // largest that fits answers best, on a CPU a smaller model answers sooner.
  const key = (model: T, fit: ModelFit) => [rank[fit.verdict], model.engine === 'tiered' ? 1 : 0, fit.verdict === 'cpu' ? -model.sizeBytes : model.sizeBytes];
  const better = (a: number[], b: number[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i];
    return false;
  };
  let best: { model: T; key: number[] } | null = null;
  for (const model of models) {
    const fit = fits.get(model.uri);
    if (!fit || rank[fit.verdict] === 0) continue;
    const k = key(model, fit);
    if (best === null || better(k, best.key)) best = { model, key: k };
  }
  return best?.model ?? null;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}
