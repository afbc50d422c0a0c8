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
import { ensureBenchModel } from './benchModels.ts';
import { GPU_BUDGET_TOKENS, RANDOM_CHARS_PER_TOKEN } from './benchWorkloads.ts';

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
  /** Whether the answer was the needle's values; null where no answer is known (random weights). */
  correct: boolean | null;
}

const COMBINATIONS = [
  ['C', 'A'],
  ['B', 'C', 'A'],
  ['B'],
] as const;

export async function libraryRows(quick: boolean): Promise<LibraryRow[]> {
  const needleTokens = quick ? 2000 : 8000;
  const haystacks = [0, 1, 2].map((d) => makeHaystack({ wordCount: needleTokens, seed: 120 + d, needles: [{ depth: 0.5, key: NEEDLE_KEYS[d] }] }));
  const needles = haystacks.map((h, i) => ({ id: 'ABC'[i], text: h.text, question: needleQuestion(h.needles[0].key), expected: h.needles[0].values.join(' ') }));
  // The 8B-shaped model: 128 KiB of KV per token, 32 layers of glue to evaluate (no known answers).
  const randomTokens = quick ? 600 : 2000;
  const random = ['contract', 'notice', 'payment'].map((word, i) => ({ id: 'ABC'[i], text: contractText(word, randomTokens), question: `what does the ${word} say?`, expected: null }));
  const rows: LibraryRow[] = [];
  for (const [workload, modelPath, documents] of [
    [`needle, 3 × ${needleTokens.toLocaleString('en-US')} tokens`, await ensureTestModel('needle'), needles],
    [`8B-shaped random, 3 × ${randomTokens.toLocaleString('en-US')} tokens`, (await ensureBenchModel()).path, random],
  ] as const) {
    const byMode = new Map<KvReuse, LibraryAsk[]>();
    for (const kvReuse of ['exact', 'library'] as const) byMode.set(kvReuse, await run(modelPath, kvReuse, documents));
    rows.push(...COMBINATIONS.map((set, i) => ({ workload, combination: `[${set.join(', ')}]`, exact: byMode.get('exact')![i], library: byMode.get('library')![i] })));
  }
  return rows;
}

/** Contract-like text of about `tokens` tokens of the random model's vocabulary, one per document. */
function contractText(lead: string, tokens: number): string {
  const words = [lead, 'party', 'shall', 'term', 'clause', 'section', 'agreement', 'liability', 'the', 'of', 'and', 'to', 'in'];
  let text = '';
  for (let i = 0; text.length < tokens * RANDOM_CHARS_PER_TOKEN; i++) text += `${words[(i * 7) % words.length]} ${words[(i * 3 + 5) % words.length]}${i % 3 === 2 ? '. ' : ' '}`;
  return text.trim();
}

type BenchDocument = EngineDocument & { question: string; expected: string | null };

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
      return { ttftMs: result.metrics.timeToFirstTokenMs, documentTokensEvaluated: tiered.documentTokensEvaluated, composedTokensEvaluated: tiered.composedTokensEvaluated, correct: target.expected === null ? null : result.text.trim() === target.expected };
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

function answer(correct: boolean | null): string {
  return correct === null ? 'n/a' : correct ? 'yes' : 'no';
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
      `| ${row.workload} | ${row.combination} | ${row.exact.ttftMs.toFixed(0)} ms | ${row.library.ttftMs.toFixed(0)} ms | ${ratio.toFixed(1)}× | ${row.exact.documentTokensEvaluated.toLocaleString('en-US')} / ${row.library.documentTokensEvaluated.toLocaleString('en-US')} | ${row.library.composedTokensEvaluated} | ${answer(row.exact.correct)} / ${answer(row.library.correct)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
