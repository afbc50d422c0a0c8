// One bench workload in its own process (so its peak resident memory is its own): the tiered engine,
// then the full-KV llama.cpp baselines on the same model. Prints one JSON line (WorkloadResult).
// Usage: benchWorkloadChild.ts NAME [--quick] [--decode-tokens N]
import { parseArgs } from 'node:util';
import { getLlamaRuntime } from '../engine/llamaRuntime.ts';
import { getLlamaBinsDir, loadNativeAddon } from '../engine/tiered/native/NativeAddon.ts';
import { buildWorkload, GPU_BUDGET_TOKENS, workloadSpecs } from './benchWorkloads.ts';
import { fullKvDecode, marginalPrefill } from './fullKvBaseline.ts';
import type { WorkloadResult } from './renderMarkdown.ts';
import { runTiered } from './tieredRun.ts';
import { decodeThreads } from '../engine/tiered/TieredEngine.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false }, 'decode-tokens': { type: 'string', default: '64' } } });
const spec = workloadSpecs(values.quick).find((s) => s.name === positionals[0]);
if (!spec) throw new Error(`no workload ${positionals[0]}`);
const decodeTokens = Number(values['decode-tokens']);
const workload = await buildWorkload(spec, decodeTokens);

const llama = await getLlamaRuntime();
const { result, extra } = await runTiered(workload, async (stored) => {
  const load = loadNativeAddon();
  if ('error' in load) throw new Error(load.error);
  if (load.addon.initInfo === null) await load.addon.initialize(await getLlamaBinsDir(llama));
  const native = await load.addon.loadModel(workload.modelPath, { gpuLayers: llama.gpu === false ? 0 : -1 });
  try {
    const options = { ...decodeThreads(llama.cpuMathCores), kvCacheType: spec.kvCacheType };
    let prefill: WorkloadResult['baseline']['marginalPrefill'] = null;
    if (spec.ingestRatio) {
      const vocab = await llama.loadModel({ modelPath: workload.modelPath, vocabOnly: true });
      const tokens = vocab.tokenize(workload.text.slice(0, GPU_BUDGET_TOKENS * 2 * 8));
      await vocab.dispose();
      prefill = await marginalPrefill(native, tokens, GPU_BUDGET_TOKENS, options);
    }
    let decode = await fullKvDecode(native, stored.blobs(), stored.tokens, 1, decodeTokens, options);
    for (let i = 1; i < workload.decodeRepeats; i++) {
      const again = await fullKvDecode(native, stored.blobs(), stored.tokens, 1, decodeTokens, options);
      if (again.tokensPerSecond > decode.tokensPerSecond) decode = again;
    }
    return { marginalPrefill: prefill, decode };
  } finally {
    await native.dispose();
  }
});
const out: WorkloadResult = { spec, description: workload.description, gpuBudgetTokens: GPU_BUDGET_TOKENS, tiered: result, baseline: extra };
console.log(JSON.stringify(out));
