// One bench workload on the tiered engine: read the document (the first question), ask again warm, time
// a longer answer, check the needles, sample the process's resident memory, and, where asked, repeat a
// question from a new process. The caller gets the stored chunks' blobs for the full-KV baseline before
// the data folder is removed.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Catalog } from '../catalog/Catalog.ts';
import { KvCatalog } from '../catalog/KvCatalog.ts';
import type { IngestBreakdown, KvCacheType, TieredAskMetrics } from '../engine/engineTypes.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { DiskTier } from '../engine/tiered/tiers/DiskTier.ts';
import { TieredEngine } from '../engine/tiered/TieredEngine.ts';

export interface BenchQuestion {
  text: string;
  /** The exact answer (needles), or null where none is known (random weights). */
  expected: string | null;
}

export interface TieredWorkload {
  name: string;
  modelPath: string;
  text: string;
  questions: BenchQuestion[];
  gpuBudgetTokens: number;
  kvCacheType: KvCacheType;
  decodeTokens: number;
  /** Times the greedy decode is run; the fastest counts. */
  decodeRepeats: number;
  /** Also time the read's throughput up to this many tokens (the 8B-shaped 16K point of a 32K read). */
  markTokens?: number;
  /** Ask the second question again from a new process. */
  coldAsk?: boolean;
}

export type RepeatedAsk = Pick<TieredAskMetrics, 'probeMs' | 'selectMs' | 'spliceMs' | 'loadHiddenMs' | 'prefetchedChunks' | 'bytesFromCpu' | 'bytesFromDisk'> & { ttftMs: number };

export interface TieredResult {
  documentTokens: number;
  ingest: IngestBreakdown;
  ingestTokensPerSecond: number;
  /** Throughput of the read up to markTokens (null when not asked for). */
  markTokensPerSecond: number | null;
  firstTtftMs: number;
  repeated: RepeatedAsk;
  decodeTokensPerSecond: number;
  generatedTokens: number;
  needleAccuracy: number | null;
  /** Peak resident memory of the process through the read and the questions. */
  peakRssBytes: number;
  blobBytesPerToken: number;
  diskBytes: number;
  cold: (RepeatedAsk & { openMs: number; processMs: number }) | null;
}

/** Everything the baselines need from the stored read: its chunks' blobs in position order. */
export interface StoredRead {
  tokens: number;
  blobs(): AsyncIterable<Uint8Array>;
}

const COLD_CHILD = fileURLToPath(new URL('./coldAskChild.ts', import.meta.url));

export async function runTiered<T>(workload: TieredWorkload, withStored: (stored: StoredRead, result: TieredResult) => Promise<T>): Promise<{ result: TieredResult; extra: T }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'strata-bench-'));
  // One document's prefix against llama.cpp reading the same tokens whole: the exact mode's layout (the
  // library's own bench is libraryRun.ts).
  const settings = { ...DEFAULT_SETTINGS, kvReuse: 'exact' as const, gpuBudgetTokens: workload.gpuBudgetTokens, kvCacheType: workload.kvCacheType };
  let catalog: Catalog | null = new Catalog(join(dataDir, 'catalog.sqlite'));
  let engine: TieredEngine | null = new TieredEngine({ dataDir, catalog, settings: () => settings });
  try {
    const document = catalog.addDocument({ sha256: `bench-${workload.name}`, fileName: `${workload.name}.txt`, kind: 'txt', sizeBytes: workload.text.length, text: workload.text, tokenCount: null, tokenCountModelId: null });
    const model = await engine.openModel(workload.modelPath);
    const conversation = model.createConversation();
    conversation.setDocuments([{ id: document.id, text: workload.text, sha256: document.sha256 }]);
    const ask = (question: string, maxTokens: number, onIngestProgress?: (done: number) => void) => {
      conversation.setHistory([]);
      return conversation.ask(question, { maxTokens, onIngestProgress });
    };
    const readStarted = performance.now();
    let markMs: number | null = null;
    const first = await ask(workload.questions[0].text, 2, (done) => {
      if (workload.markTokens !== undefined && markMs === null && done >= workload.markTokens) markMs = performance.now() - readStarted;
    });
    const repeated = await ask(workload.questions[1 % workload.questions.length].text, 2);
    let decode = await ask(workload.questions[0].text, workload.decodeTokens);
    for (let i = 1; i < workload.decodeRepeats; i++) {
      const again = await ask(workload.questions[0].text, workload.decodeTokens);
      if (again.metrics.decodeTokensPerSecond > decode.metrics.decodeTokensPerSecond) decode = again;
    }
    let correct = 0;
    const known = workload.questions.filter((q) => q.expected !== null);
    for (const q of known) if ((await ask(q.text, 2)).text.trim() === q.expected) correct++;
    const tiered = first.metrics.tiered!;
    const ingest = tiered.ingest;
    if (!ingest) throw new Error(`${workload.name}: the first question read nothing`);
    const result: TieredResult = {
      documentTokens: ingest.tokens,
      ingest,
      ingestTokensPerSecond: ingest.tokens / (ingest.totalMs / 1000),
      markTokensPerSecond: markMs === null ? null : workload.markTokens! / ((markMs as number) / 1000),
      firstTtftMs: first.metrics.timeToFirstTokenMs,
      repeated: repeatedAsk(repeated.metrics.tiered!, repeated.metrics.timeToFirstTokenMs),
      decodeTokensPerSecond: decode.metrics.decodeTokensPerSecond,
      generatedTokens: decode.metrics.generatedTokens,
      needleAccuracy: known.length > 0 ? correct / known.length : null,
      // The kernel's peak for this process (the bench runs each workload in its own), before any baseline.
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      blobBytesPerToken: tiered.blobBytesPerToken,
      diskBytes: tiered.residentBytes.disk,
      cold: null,
    };
    await conversation.dispose();
    await model.dispose();
    await engine.dispose();
    engine = null;
    if (workload.coldAsk) result.cold = await coldAsk(dataDir, workload, document.id);
    const kv = new KvCatalog(catalog.database);
    const ingestRow = kv.listIngests({ documentId: document.id })[0];
    const chunks = kv.listChunks(ingestRow.id);
    const disk = await DiskTier.open({ root: join(dataDir, 'kv') });
    const stored: StoredRead = {
      tokens: ingest.tokens,
      async *blobs() {
        for (const chunk of chunks) yield await disk.read(ingestRow.id, chunk.ref);
      },
    };
    try {
      return { result, extra: await withStored(stored, result) };
    } finally {
      disk.dispose();
    }
  } finally {
    await engine?.dispose();
    catalog?.dispose();
    catalog = null;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function repeatedAsk(metrics: TieredAskMetrics, ttftMs: number): RepeatedAsk {
  const { probeMs, selectMs, spliceMs, loadHiddenMs, prefetchedChunks, bytesFromCpu, bytesFromDisk } = metrics;
  return { ttftMs, probeMs, selectMs, spliceMs, loadHiddenMs, prefetchedChunks, bytesFromCpu, bytesFromDisk };
}

/** The second question from a new Node process on the same data folder: nothing in RAM, blobs on disk. */
async function coldAsk(dataDir: string, workload: TieredWorkload, documentId: string): Promise<TieredResult['cold']> {
  const started = performance.now();
  const args = [COLD_CHILD, dataDir, workload.modelPath, documentId, String(workload.gpuBudgetTokens), workload.kvCacheType, workload.questions[1 % workload.questions.length].text];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 20 });
  const reply = JSON.parse(stdout.trim().split('\n').at(-1)!) as { metrics: TieredAskMetrics; ttftMs: number; openMs: number };
  return { ...repeatedAsk(reply.metrics, reply.ttftMs), openMs: reply.openMs, processMs: performance.now() - started };
}
