// The bench's workloads: the needle model (2 layers, exact answers known) at 2K, 32K and 128K tokens and
// the 8B-KV-shaped random model at 2K and 32K, each under a 2,048-token GPU budget, f16 KV; the needle
// sizes again with q8_0 and q4_0 for memory and disk per token. --quick shrinks every size for a smoke run.
import type { KvCacheType } from '../engine/engineTypes.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { ensureBenchModel } from './benchModels.ts';
import type { TieredWorkload } from './tieredRun.ts';

export interface WorkloadSpec {
  name: string;
  family: 'needle' | 'random-8b';
  /** Approximate document tokens. */
  tokens: number;
  kvCacheType: KvCacheType;
  /** Baseline prefill of B tokens on top of B (B = the GPU budget): only for documents past 2B. */
  ingestRatio: boolean;
  coldAsk?: boolean;
  markTokens?: number;
  /** Greedy decodes timed, tiered and baseline each, the fastest kept (a 64-token answer at fit lasts ~70 ms on the needle model: one run is noise). */
  decodeRepeats?: number;
}

export const GPU_BUDGET_TOKENS = 2048;

export function workloadSpecs(quick: boolean): WorkloadSpec[] {
  const size = (full: number, small: number) => (quick ? small : full);
  const specs: WorkloadSpec[] = [
    { name: 'needle-2k', family: 'needle', tokens: 1800, kvCacheType: 'f16', ingestRatio: false, decodeRepeats: 5 },
    { name: 'needle-32k', family: 'needle', tokens: size(32000, 6000), kvCacheType: 'f16', ingestRatio: true },
    { name: 'needle-128k', family: 'needle', tokens: size(128000, 12000), kvCacheType: 'f16', ingestRatio: true, coldAsk: true },
    { name: 'random-8b-2k', family: 'random-8b', tokens: 1800, kvCacheType: 'f16', ingestRatio: false, decodeRepeats: 3 },
    { name: 'random-8b-32k', family: 'random-8b', tokens: size(32000, 5000), kvCacheType: 'f16', ingestRatio: true, markTokens: size(16384, 4096) },
  ];
  const needles = specs.filter((s) => s.family === 'needle');
  for (const kvCacheType of ['q8_0', 'q4_0'] as const) {
    for (const spec of needles) specs.push({ ...spec, name: `${spec.name}-${kvCacheType}`, kvCacheType, ingestRatio: false, coldAsk: false });
  }
  return specs;
}

const CONTRACT_WORDS = ['contract', 'party', 'shall', 'notice', 'term', 'payment', 'clause', 'section', 'agreement', 'liability', 'the', 'of', 'and', 'to', 'in'];
/** Characters per token of the contract text with the random model's vocabulary (measured: 8,384 tokens from 14,000 characters). */
export const RANDOM_CHARS_PER_TOKEN = 1.67;

export async function buildWorkload(spec: WorkloadSpec, decodeTokens: number): Promise<TieredWorkload & { description: string }> {
  const base = { name: spec.name, gpuBudgetTokens: GPU_BUDGET_TOKENS, kvCacheType: spec.kvCacheType, decodeTokens, decodeRepeats: spec.decodeRepeats ?? 1, coldAsk: spec.coldAsk, markTokens: spec.markTokens };
  if (spec.family === 'needle') {
    const depths = [0.05, 0.17, 0.29, 0.41, 0.53, 0.65, 0.77, 0.89];
    const haystack = makeHaystack({ wordCount: spec.tokens, seed: 99, needles: depths.map((depth) => ({ depth })) });
    return {
      ...base,
      modelPath: await ensureTestModel('needle'),
      description: 'needle model (2 layers, 1 KV head × 256, hand-set weights)',
      text: haystack.text,
      questions: haystack.needles.map((n) => ({ text: needleQuestion(n.key), expected: n.values.join(' ') })),
    };
  }
  const random = await ensureBenchModel();
  let text = '';
  for (let i = 0; text.length < spec.tokens * RANDOM_CHARS_PER_TOKEN; i++) {
    text += `${CONTRACT_WORDS[(i * 7) % CONTRACT_WORDS.length]} ${CONTRACT_WORDS[(i * 3 + 5) % CONTRACT_WORDS.length]}${i % 9 === 8 ? '.\n\n' : i % 3 === 2 ? '. ' : ' '}`;
  }
  return {
    ...base,
    modelPath: random.path,
    description: random.description,
    text: text.trim(),
    questions: ['who pays the notice?', 'when does the term end?'].map((q) => ({ text: q, expected: null })),
  };
}
