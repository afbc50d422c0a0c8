// The KV-cache-type part of the bench: per type (f16, q8_0, q4_0), on the 8B-class KV layout, the
// stored blob bytes per token, the GPU-tier tokens per GiB, time to first token and decode speed of the
// tiered engine, and the needle model's accuracy under a small budget. Ratios are against f16 measured
// in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvCacheType } from '../../preload/api.ts';
import { Catalog } from '../catalog/Catalog.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { TieredEngine } from '../engine/tiered/TieredEngine.ts';
import { ensureBenchModel } from './benchModels.ts';

export interface KvTypeRun {
  kvCacheType: KvCacheType;
  documentTokens: number;
  blobBytesPerToken: number;
  gpuTierTokensPerGiB: number;
  firstQuestionTtftMs: number;
  repeatedQuestionTtftMs: number;
  decodeTokensPerSecond: number;
  needleAccuracy: number;
}

const TYPES: KvCacheType[] = ['f16', 'q8_0', 'q4_0'];

async function withTiered<T>(settings: Partial<typeof DEFAULT_SETTINGS>, run: (engine: TieredEngine, catalog: Catalog) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-kv-'));
  const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, ...settings }) });
  try {
    return await run(engine, catalog);
  } finally {
    await engine.dispose();
    catalog.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function addDocument(catalog: Catalog, name: string, text: string) {
  return catalog.addDocument({ sha256: name, fileName: `${name}.txt`, kind: 'txt', sizeBytes: text.length, text, tokenCount: null, tokenCountModelId: null });
}

export async function runKvTypesBench(quick: boolean, decodeTokens: number): Promise<KvTypeRun[]> {
  const random = await ensureBenchModel();
  const words = ['contract', 'party', 'shall', 'notice', 'term', 'payment', 'clause', 'section', 'agreement', 'liability', 'the', 'of', 'and', 'to', 'in'];
  let text = '';
  for (let i = 0; text.length < (quick ? 4000 : 10000); i++) text += `${words[(i * 7) % words.length]} ${words[(i * 3 + 5) % words.length]}${i % 9 === 8 ? '.\n\n' : i % 3 === 2 ? '. ' : ' '}`;
  const haystack = makeHaystack({ wordCount: quick ? 2000 : 4000, seed: 98, needles: [0.1, 0.3, 0.5, 0.7, 0.9].map((depth) => ({ depth })) });
  const needlePath = await ensureTestModel('needle');
  const runs: KvTypeRun[] = [];
  for (const kvCacheType of TYPES) {
    console.error(`bench: KV cache type ${kvCacheType}…`);
    const shape = await withTiered({ gpuBudgetTokens: 1024, kvCacheType }, async (engine, catalog) => {
      const model = await engine.openModel(random.path);
      const conversation = model.createConversation();
      conversation.setDocuments([{ id: addDocument(catalog, 'contract', text).id, text }]);
      const ask = (question: string, maxTokens: number) => {
        conversation.setHistory([]);
        return conversation.ask(question, { maxTokens });
      };
      const first = await ask('who pays the notice?', 2);
      const repeated = await ask('when does the term end?', 2);
      const decode = await ask('who pays the notice?', decodeTokens);
      await model.dispose();
      return { first, repeated, decode };
    });
    const accuracy = await withTiered({ gpuBudgetTokens: 512, kvCacheType }, async (engine, catalog) => {
      const model = await engine.openModel(needlePath);
      const conversation = model.createConversation();
      conversation.setDocuments([{ id: addDocument(catalog, 'needles', haystack.text).id, text: haystack.text }]);
      let right = 0;
      for (const needle of haystack.needles) {
        conversation.setHistory([]);
        if ((await conversation.ask(needleQuestion(needle.key), { maxTokens: 2 })).text.trim() === needle.values.join(' ')) right++;
      }
      await model.dispose();
      return right / haystack.needles.length;
    });
    const tiered = shape.first.metrics.tiered!;
    runs.push({
      kvCacheType,
      documentTokens: shape.first.metrics.promptTokens,
      blobBytesPerToken: tiered.blobBytesPerToken,
      gpuTierTokensPerGiB: tiered.gpuTierTokensPerGiB,
      firstQuestionTtftMs: shape.first.metrics.timeToFirstTokenMs,
      repeatedQuestionTtftMs: shape.repeated.metrics.timeToFirstTokenMs,
      decodeTokensPerSecond: shape.decode.metrics.decodeTokensPerSecond,
      needleAccuracy: accuracy,
    });
  }
  return runs;
}

export function renderKvTypesMarkdown(runs: KvTypeRun[], model: string): string[] {
  const base = runs.find((r) => r.kvCacheType === 'f16')!;
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
  const lines = [
    '## KV cache types (tiered engine)',
    '',
    `${model}; ${base.documentTokens}-token prompt, GPU budget 1,024 tokens. Needle accuracy: needle model, 5 needles, GPU budget 512. Ratios are against f16 from this run.`,
    '',
    '| type | blob bytes / token | GPU-tier tokens / GiB | first TTFT | repeated TTFT | decode tok/s | needle accuracy |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.kvCacheType} | ${r.blobBytesPerToken.toFixed(0)} (${ratio(r.blobBytesPerToken, base.blobBytesPerToken)}) | ${r.gpuTierTokensPerGiB} (${ratio(r.gpuTierTokensPerGiB, base.gpuTierTokensPerGiB)}) | ${r.firstQuestionTtftMs.toFixed(0)} ms (${ratio(r.firstQuestionTtftMs, base.firstQuestionTtftMs)}) | ${r.repeatedQuestionTtftMs.toFixed(0)} ms (${ratio(r.repeatedQuestionTtftMs, base.repeatedQuestionTtftMs)}) | ${r.decodeTokensPerSecond.toFixed(1)} (${ratio(r.decodeTokensPerSecond, base.decodeTokensPerSecond)}) | ${(r.needleAccuracy * 100).toFixed(0)}% |`,
    );
  }
  lines.push('');
  return lines;
}
