// The document library's bench (issue 12): three documents are read in one conversation, then asked
// in new combinations (reordered, a subset). The time to the first token of each new combination is
// measured in the library mode (composes: only the text between documents and their first tokens are
// evaluated) and in the exact mode (reads the new set whole), on the same machine in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../catalog/Catalog.ts';
import type { EngineDocument } from '../engine/Engine.ts';
import type { KvReuse } from '../engine/engineTypes.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { ensureTestModel } from '../engine/testModels/cli.ts';
import { makeHaystack, needleQuestion } from '../engine/testModels/haystack.ts';
import { NEEDLE_KEYS } from '../engine/testModels/needleVocabulary.ts';
import { TieredEngine } from '../engine/tiered/TieredEngine.ts';
import { GPU_BUDGET_TOKENS } from './benchWorkloads.ts';

export interface LibraryRow {
  workload: string;
  /** The set asked, as letters of the documents read first (A, B, C). */
  combination: string;
  exact: LibraryAsk;
  library: LibraryAsk;
}

export interface LibraryAsk {
  ttftMs: number;
  documentTokensEvaluated: number;
  composedTokensEvaluated: number;
  correct: boolean;
}

const COMBINATIONS = [
  ['C', 'A'],
  ['B', 'C', 'A'],
  ['B'],
] as const;

export async function libraryRows(quick: boolean): Promise<LibraryRow[]> {
  const tokens = quick ? 2000 : 8000;
  const haystacks = [0, 1, 2].map((d) => makeHaystack({ wordCount: tokens, seed: 120 + d, needles: [{ depth: 0.5, key: NEEDLE_KEYS[d] }] }));
  const documents = haystacks.map((h, i) => ({ id: 'ABC'[i], text: h.text, question: needleQuestion(h.needles[0].key), expected: h.needles[0].values.join(' ') }));
  const modelPath = await ensureTestModel('needle');
  const byMode = new Map<KvReuse, LibraryAsk[]>();
  for (const kvReuse of ['exact', 'library'] as const) byMode.set(kvReuse, await run(modelPath, kvReuse, documents));
  const workload = `needle, 3 × ${tokens.toLocaleString('en-US')} tokens`;
  return COMBINATIONS.map((set, i) => ({ workload, combination: `[${set.join(', ')}]`, exact: byMode.get('exact')![i], library: byMode.get('library')![i] }));
}

type BenchDocument = EngineDocument & { question: string; expected: string };

async function run(modelPath: string, kvReuse: KvReuse, documents: BenchDocument[]): Promise<LibraryAsk[]> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-library-'));
  const catalog = new Catalog(join(dir, 'catalog.sqlite'));
  const engine = new TieredEngine({ dataDir: dir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, kvReuse, gpuBudgetTokens: GPU_BUDGET_TOKENS }) });
  try {
    const rows = documents.map((doc) => ({ ...doc, id: catalog.addDocument({ sha256: `bench-${doc.id}-${doc.text.length}`, fileName: `${doc.id}.txt`, kind: 'txt', sizeBytes: doc.text.length, text: doc.text, tokenCount: null, tokenCountModelId: null }).id }));
    const model = await engine.openModel(modelPath);
    const ask = async (set: BenchDocument[]) => {
      const conversation = model.createConversation();
      conversation.setDocuments(set.map(({ id, text }) => ({ id, text })));
      // The last document's needle: the question every set can answer.
      const target = set.at(-1)!;
      const result = await conversation.ask(target.question, { maxTokens: 2 });
      await conversation.dispose();
      const tiered = result.metrics.tiered!;
      return { ttftMs: result.metrics.timeToFirstTokenMs, documentTokensEvaluated: tiered.documentTokensEvaluated, composedTokensEvaluated: tiered.composedTokensEvaluated, correct: result.text.trim() === target.expected };
    };
    await ask(rows);
    const asks: LibraryAsk[] = [];
    for (const set of COMBINATIONS) asks.push(await ask(set.map((letter) => rows['ABC'.indexOf(letter)])));
    await model.dispose();
    return asks;
  } finally {
    await engine.dispose();
    catalog.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderLibraryMarkdown(rows: readonly LibraryRow[], date: string): string {
  const lines = [
    '# Strata bench: the document library',
    '',
    `Run ${date}. Three documents are read in one conversation ([A, B, C]); then each new combination is asked`,
    'once. Exact mode reads every new combination whole; the library composes it from the documents read',
    `alone (main/bench/libraryRun.ts; GPU budget ${GPU_BUDGET_TOKENS.toLocaleString('en-US')} tokens, f16 KV).`,
    '',
    '| workload | set | exact: first token | library: first token | exact / library | document tokens read (exact / library) | tokens composed (library) | answers right (exact / library) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const ratio = row.exact.ttftMs / Math.max(row.library.ttftMs, 1e-3);
    lines.push(
      `| ${row.workload} | ${row.combination} | ${row.exact.ttftMs.toFixed(0)} ms | ${row.library.ttftMs.toFixed(0)} ms | ${ratio.toFixed(1)}× | ${row.exact.documentTokensEvaluated.toLocaleString('en-US')} / ${row.library.documentTokensEvaluated.toLocaleString('en-US')} | ${row.library.composedTokensEvaluated} | ${row.exact.correct ? 'yes' : 'no'} / ${row.library.correct ? 'yes' : 'no'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
