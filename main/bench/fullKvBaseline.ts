// llama.cpp with the whole KV cache in one context: the baseline the tiered engine's ratios are taken
// against. Same llama.cpp build, threads, flash attention, ubatch and KV type as the tiered engine's
// context, no capture hook, greedy argmax in C++: the strictest "standard" to compare with.
import type { KvCacheType } from '../engine/engineTypes.ts';
import type { NativeTierContext, NativeTierModel } from '../engine/tiered/native/NativeAddon.ts';

export interface FullKvOptions {
  /** One-token decodes' threads and batches' threads, as the tiered engine sets them (decodeThreads). */
  threads: number;
  batchThreads: number;
  kvCacheType: KvCacheType;
  ubatchSize?: number;
  /** false: the KV cache in host memory (llama.cpp's offload_kqv = false). */
  offloadKqv?: boolean;
}

const UBATCH = 512;

async function openContext(native: NativeTierModel, cells: number, options: FullKvOptions): Promise<NativeTierContext> {
  const ubatch = options.ubatchSize ?? UBATCH;
  return native.createContext({
    contextSize: cells,
    flashAttention: true,
    batchSize: ubatch,
    ubatchSize: ubatch,
    threads: options.threads,
    batchThreads: options.batchThreads,
    typeK: options.kvCacheType,
    typeV: options.kvCacheType,
    offloadKqv: options.offloadKqv ?? true,
    captureEnabled: false,
  });
}

/** Evaluates tokens[from, to) at their positions, one ubatch per call; returns the wall time. */
async function prefill(context: NativeTierContext, tokens: readonly number[], from: number, to: number, ubatch: number): Promise<number> {
  const started = performance.now();
  for (let start = from; start < to; start += ubatch) {
    const end = Math.min(to, start + ubatch);
    const slice = tokens.slice(start, end);
    await context.decode({ tokens: slice, positions: slice.map((_, i) => start + i), logits: 'none' });
  }
  return performance.now() - started;
}

/**
 * Prefill throughput for tokens whose context is B tokens long: B tokens evaluated on top of B already
 * in context (the difference of prefills of 2B and B tokens), the work per token of a tiered read
 * under a B-token budget.
 */
export async function marginalPrefill(native: NativeTierModel, tokens: readonly number[], budget: number, options: FullKvOptions): Promise<{ tokensPerSecond: number; ms: number }> {
  if (tokens.length < 2 * budget) throw new RangeError(`a marginal prefill of ${budget} tokens needs ${2 * budget}, got ${tokens.length}`);
  const context = await openContext(native, 2 * budget + 256, options);
  try {
    const ubatch = options.ubatchSize ?? UBATCH;
    await prefill(context, tokens, 0, budget, ubatch);
    const ms = await prefill(context, tokens, budget, 2 * budget, ubatch);
    return { tokensPerSecond: budget / (ms / 1000), ms };
  } finally {
    await context.dispose();
  }
}

/**
 * Greedy decode speed with the whole document in the KV cache: the document's stored chunk blobs are
 * spliced into one context (the same cells a full prefill leaves), then `count` tokens are generated.
 */
export async function fullKvDecode(
  native: NativeTierModel,
  blobs: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  documentTokens: number,
  firstToken: number,
  count: number,
  options: FullKvOptions,
): Promise<{ tokensPerSecond: number; contextTokens: number }> {
  const context = await openContext(native, documentTokens + count + 256, options);
  try {
    for await (const blob of blobs) await context.spliceChunk(blob);
    let position = (await context.positionRange()).max + 1;
    let token = firstToken;
    // The first step evaluates the prompt's last token (not timed, as a tiered answer's prefill is not).
    let result = await context.decode({ tokens: [token], positions: [position++], logits: 'argmax' });
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      token = result.argmax!;
      result = await context.decode({ tokens: [token], positions: [position++], logits: 'argmax' });
    }
    return { tokensPerSecond: count / ((performance.now() - started) / 1000), contextTokens: position };
  } finally {
    await context.dispose();
  }
}
