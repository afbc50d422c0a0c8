// Helpers for the tiered engine's fault tests: a document row, a damaged blob, and an ingest killed
// with SIGKILL half-way (a real crash, not a polite cancel).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { DocumentInfo } from '../../../preload/api.ts';
import type { EngineSettings } from '../engineTypes.ts';
import type { Catalog } from '../../catalog/Catalog.ts';

export function documentRow(catalog: Catalog, text: string): DocumentInfo {
  return catalog.addDocument({ sha256: `test-${text.length}-${Math.random()}`, fileName: 'haystack.txt', kind: 'txt', sizeBytes: text.length, text, tokenCount: null, tokenCountModelId: null });
}

/**
 * Flips one byte in the middle of the last chunk's blob: the most recent chunk, which every question
 * loads in both modes (a library document's first chunk may be recomputed instead of loaded).
 */
export async function corruptLastBlob(dataDir: string): Promise<void> {
  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  const row = db.prepare('SELECT ingest_id, segment, offset, length FROM kv_chunks ORDER BY chunk_index DESC LIMIT 1').get() as { ingest_id: string; segment: number; offset: number; length: number };
  db.close();
  const segment = join(dataDir, 'kv', row.ingest_id, readdirSync(join(dataDir, 'kv', row.ingest_id)).sort()[row.segment]);
  const bytes = readFileSync(segment);
  bytes[row.offset + Math.floor(row.length / 2)] ^= 0xff;
  writeFileSync(segment, bytes);
}

export interface KilledIngest {
  documentId: string;
  chunks: number;
  tokensDone: number;
  tokenCount: number;
  state: string;
}

const CHILD = fileURLToPath(new URL('./testIngestChild.ts', import.meta.url));

/** Starts an ingest in a child process and SIGKILLs it once `killAfterChunks` chunks are committed. */
export async function runKilledIngest(input: { dataDir: string; modelPath: string; text: string; settings: Partial<EngineSettings>; killAfterChunks: number }): Promise<KilledIngest> {
  const textPath = join(input.dataDir, 'document.txt');
  writeFileSync(textPath, input.text);
  const child = spawn(process.execPath, [CHILD, input.dataDir, input.modelPath, textPath, JSON.stringify(input.settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const documentId = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (code) => reject(new Error(`the ingest child exited (${code}) before starting: ${stderr}`)));
  });
  const db = new Database(join(input.dataDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const row = db.prepare('SELECT COUNT(*) AS n FROM kv_chunks').get() as { n: number };
      if (row.n >= input.killAfterChunks) break;
      if (child.exitCode !== null) throw new Error(`the ingest child finished before it could be killed: ${stderr}`);
      if (Date.now() > deadline) throw new Error('the ingest made no progress');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const ingest = db.prepare('SELECT * FROM kv_ingests WHERE document_id = ?').get(documentId) as { id: string; state: string; token_count: number; tokens_done: number };
    const chunks = (db.prepare('SELECT COUNT(*) AS n FROM kv_chunks WHERE ingest_id = ?').get(ingest.id) as { n: number }).n;
    return { documentId, chunks, tokensDone: ingest.tokens_done, tokenCount: ingest.token_count, state: ingest.state };
  } finally {
    db.close();
  }
}
