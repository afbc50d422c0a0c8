// Measures the addon on this machine: blob bytes per token, capture/splice throughput as TypeScript
// sees it (llama.cpp's copy plus the copy across N-API), and the cost of query/key capture.
// Run: node main/engine/tiered/native/benchNativeAddon.ts [--json]
// Models are generated into a temporary folder; nothing here is a test.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRandomModel } from '../../testModels/makeRandomModel.ts';
import type { NativeTierContext, NativeTierModel } from './NativeAddon.ts';
import { randomTokens, range, setUpNativeAddon, TEST_THREADS } from './nativeTestSupport.ts';

const json = process.argv.includes('--json');
const results: Record<string, unknown> = {};
const report = (key: string, value: unknown, text: string) => {
  results[key] = value;
  if (!json) console.log(text);
};

async function timeMs(run: () => Promise<unknown>, repeats: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

async function throughput(model: NativeTierModel, label: string, tokenCount: number, flashAttention: boolean): Promise<void> {
  const context = await model.createContext({ contextSize: tokenCount + 256, batchSize: 512, flashAttention, threads: TEST_THREADS });
  try {
    await context.decode({ tokens: randomTokens(tokenCount, model.info.vocabSize, 1), positions: range(0, tokenCount), logits: 'none' });
    let blob: Uint8Array = new Uint8Array();
    const capture = { totalMs: Infinity, llamaMs: Infinity };
    const splice = { totalMs: Infinity, llamaMs: Infinity };
    for (let i = 0; i < 6; i++) {
      let start = performance.now();
      const chunk = await context.captureChunk(0, tokenCount);
      capture.totalMs = Math.min(capture.totalMs, performance.now() - start);
      capture.llamaMs = Math.min(capture.llamaMs, chunk.elapsedMs);
      blob = chunk.blob;
      await context.removeRange(0, tokenCount);
      start = performance.now();
      const spliced = await context.spliceChunk(blob);
      splice.totalMs = Math.min(splice.totalMs, performance.now() - start);
      splice.llamaMs = Math.min(splice.llamaMs, spliced.elapsedMs);
    }
    const bytesPerToken = blob.byteLength / tokenCount;
    const gbps = (ms: number) => blob.byteLength / ms / 1e6;
    report(`${label}.fa${flashAttention ? 'On' : 'Off'}`, {
      tokenCount, blobBytes: blob.byteLength, bytesPerToken, capture, splice,
      captureGBps: { total: gbps(capture.totalMs), llama: gbps(capture.llamaMs) },
      spliceGBps: { total: gbps(splice.totalMs), llama: gbps(splice.llamaMs) },
    },
    `${label}, flash attention ${flashAttention ? 'on ' : 'off'}: ${tokenCount} tokens → blob ${(blob.byteLength / 1e6).toFixed(1)} MB (${bytesPerToken.toFixed(1)} B/token)\n` +
    `  capture ${capture.totalMs.toFixed(1)} ms from JS (${gbps(capture.totalMs).toFixed(1)} GB/s), ${capture.llamaMs.toFixed(1)} ms in llama.cpp (${gbps(capture.llamaMs).toFixed(1)} GB/s)\n` +
    `  splice  ${splice.totalMs.toFixed(1)} ms from JS (${gbps(splice.totalMs).toFixed(1)} GB/s), ${splice.llamaMs.toFixed(1)} ms in llama.cpp (${gbps(splice.llamaMs).toFixed(1)} GB/s)`);
  } finally {
    await context.dispose();
  }
}

async function captureCost(model: NativeTierModel, tokenCount: number, repeats: number): Promise<void> {
  const tokens = randomTokens(tokenCount, model.info.vocabSize, 2);
  const allLayers = Array.from({ length: model.info.layerCount }, (_, i) => i);
  const twoLayers = [allLayers.length >> 1, allLayers.length - 1];
  const variants: Array<{ name: string; captureEnabled: boolean; capture?: { layers: number[]; keys: boolean; queries: boolean } }> = [
    { name: 'no hook', captureEnabled: false },
    { name: 'hook, not armed', captureEnabled: true },
    { name: 'armed, 2 layers, keys', captureEnabled: true, capture: { layers: twoLayers, keys: true, queries: false } },
    { name: 'armed, 2 layers, keys+queries', captureEnabled: true, capture: { layers: twoLayers, keys: true, queries: true } },
    { name: 'armed, all layers, keys+queries', captureEnabled: true, capture: { layers: allLayers, keys: true, queries: true } },
  ];
  const contexts: NativeTierContext[] = [];
  for (const variant of variants) {
    contexts.push(await model.createContext({ contextSize: tokenCount + 64, batchSize: 512, flashAttention: false, threads: TEST_THREADS, captureEnabled: variant.captureEnabled }));
  }
  const best = variants.map(() => Infinity);
  try {
    // Round-robin so that warm-up and machine noise fall on every variant alike.
    for (let round = 0; round <= repeats; round++) {
      for (let v = 0; v < variants.length; v++) {
        const variant = variants[v]!;
        const start = performance.now();
        await contexts[v]!.decode({ tokens, positions: range(0, tokenCount), logits: 'last', ...(variant.capture ? { capture: variant.capture } : {}) });
        const ms = performance.now() - start;
        await contexts[v]!.removeRange(0, tokenCount);
        if (round > 0) best[v] = Math.min(best[v]!, ms);
      }
    }
  } finally {
    for (const context of contexts) await context.dispose();
  }
  const base = best[0]!;
  variants.forEach((variant, v) => {
    const ms = best[v]!;
    report(`captureCost.${variant.name}`, ms, `prefill ${tokenCount} tokens (${model.info.layerCount} layers), ${variant.name}: ${ms.toFixed(0)} ms (${((ms / base - 1) * 100).toFixed(1)}% vs no hook)`);
  });
}

const setup = await setUpNativeAddon();
if ('skip' in setup) {
  console.error(setup.skip);
  process.exit(1);
}
const dir = await mkdtemp(join(tmpdir(), 'strata-native-bench-'));
try {
  // KV of an 8B-class layout (32 layers, 8 KV heads × 128, f16 KV) with tiny weights elsewhere.
  const kvPath = join(dir, 'kv8b.gguf');
  await makeRandomModel(kvPath, { layers: 32, embd: 256, heads: 8, kvHeads: 8, headDim: 128, ffn: 64, vocab: 512, type: 'f16', seed: 1 });
  const kvModel = await setup.addon.loadModel(kvPath);
  for (const flashAttention of [false, true]) await throughput(kvModel, '8B-class KV (32 layers, 8×128)', 1024, flashAttention);
  await kvModel.dispose();

  const midPath = join(dir, 'mid.gguf');
  await makeRandomModel(midPath, { layers: 8, embd: 512, heads: 8, kvHeads: 4, headDim: 64, vocab: 2048, type: 'f16', seed: 2 });
  const midModel = await setup.addon.loadModel(midPath);
  await captureCost(midModel, 512, 4);
  await midModel.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (json) console.log(JSON.stringify(results, null, 2));
