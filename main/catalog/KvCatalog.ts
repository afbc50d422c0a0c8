// The tiered engine's tables in the catalog (migration 2): one kv_ingests row per (document, model,
// configuration) and one kv_chunks row per chunk whose KV blob is safely on disk. The rows are the
// source of truth about the disk tier: a chunk exists once its row does, and bytes in the segment files
// past the last row are garbage from an interrupted ingest (DiskTier.truncateTo drops them).
//
// Resume protocol for the engine:
//   const ingest = kv.startIngest({...});                 // creates, resumes, or finds it complete
//   const last = kv.lastChunk(ingest.id);
//   const end = last ? blobEnd(last.ref) : { segment: 0, offset: 0 };
//   await disk.truncateTo(ingest.id, end.segment, end.offset);  // drop what a crash left unrecorded
//   for each new chunk: ref = await disk.append(ingest.id, blob); kv.addChunk(ingest.id, {...chunk, ref, abstract});
//   kv.completeIngest(ingest.id);
// The disk tier's document key is the ingest id, so deleting an ingest is deleteIngest + disk.removeDocument.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ErrorPayload } from '../engine/engineTypes.ts';
import { StrataError } from '../engine/errors.ts';
import type { BlobRef } from '../engine/tiered/tiers/DiskTier.ts';

export type KvIngestState = 'running' | 'complete' | 'failed';

export interface KvIngestKey {
  documentId: string;
  modelId: string;
  /** Everything that changes the blobs or abstracts: model, flash attention, KV types, scoring layers, chunk bounds. */
  configFingerprint: string;
}

/** A document set's prefix read whole ('set', the exact mode) or one document read alone ('document', the library). */
export type KvIngestKind = 'set' | 'document';

/** What the Documents tab shows per document for the open model: its library KV. */
export interface DocumentKvRow {
  ingestId: string;
  documentId: string;
  state: KvIngestState;
  tokenCount: number;
  tokensDone: number;
  bytes: number;
}

export interface KvIngest extends KvIngestKey {
  /** Also the ingest's document key in the disk tier. */
  id: string;
  state: KvIngestState;
  tokenCount: number;
  /** Tokens covered by committed chunks. */
  tokensDone: number;
  chunkCount: number;
  error: ErrorPayload | null;
  createdAt: number;
  updatedAt: number;
}

export interface KvChunk {
  index: number;
  /** Token range `[tokenStart, tokenEnd)`. */
  tokenStart: number;
  tokenEnd: number;
  /** KV position range `[posStart, posEnd)`: where the chunk must be spliced back. */
  posStart: number;
  posEnd: number;
  /** Character range `[charStart, charEnd)` in the document text. */
  charStart: number;
  charEnd: number;
  ref: BlobRef;
  /** [layer][kvHead][min|max][dim], see computeAbstract.ts. */
  abstract: Float32Array;
}

type Row = Record<string, unknown>;

/** A document set's prefix as one model renders it: tokens, and where each document's text starts in the prefix text. */
export interface PrefixRender {
  tokens: number[];
  documentStarts: { id: string; start: number; length: number }[];
  /** Whether an ask may compose its prompt after the prefix with stand-ins (null: not checked yet). */
  standInsOk: boolean | null;
}

export class KvCatalog {
  private readonly db: Database.Database;

  /** `db` is the catalog's connection (`catalog.database`), migrated to version 2 or later. */
  constructor(db: Database.Database) {
    this.db = db;
  }

  findIngest(key: KvIngestKey): KvIngest | null {
    const row = this.db
      .prepare(`${INGEST_SELECT} WHERE i.document_id = ? AND i.model_id = ? AND i.config_fingerprint = ?`)
      .get(key.documentId, key.modelId, key.configFingerprint) as Row | undefined;
    return row ? toIngest(row) : null;
  }

  getIngest(id: string): KvIngest | null {
    const row = this.db.prepare(`${INGEST_SELECT} WHERE i.id = ?`).get(id) as Row | undefined;
    return row ? toIngest(row) : null;
  }

  listIngests(filter: { documentId?: string } = {}): KvIngest[] {
    const rows =
      filter.documentId === undefined
        ? (this.db.prepare(`${INGEST_SELECT} ORDER BY i.created_at, i.rowid`).all() as Row[])
        : (this.db.prepare(`${INGEST_SELECT} WHERE i.document_id = ? ORDER BY i.created_at, i.rowid`).all(filter.documentId) as Row[]);
    return rows.map(toIngest);
  }

  /**
   * The ingest for `key`, marked running: a new one, or the existing one to resume from its committed
   * chunks (a failed one too). A complete one is returned as it is. An existing one made for a different
   * token count (the document was tokenized differently) starts over with no chunks.
   */
  startIngest(key: KvIngestKey & { tokenCount: number; documentIds?: readonly string[]; kind?: KvIngestKind; layout?: string }): KvIngest {
    checkCount('tokenCount', key.tokenCount);
    const now = Date.now();
    return this.db.transaction(() => {
      const existing = this.findIngest(key);
      if (existing === null) {
        const id = randomUUID();
        this.db
          .prepare(
            `INSERT INTO kv_ingests (id, document_id, model_id, config_fingerprint, state, token_count, tokens_done, created_at, updated_at, last_used_at, kind, layout)
             VALUES (?, ?, ?, ?, 'running', ?, 0, ?, ?, ?, ?, ?)`,
          )
          .run(id, key.documentId, key.modelId, key.configFingerprint, key.tokenCount, now, now, now, key.kind ?? 'set', key.layout ?? null);
        const owner = this.db.prepare('INSERT OR IGNORE INTO kv_ingest_documents (ingest_id, document_id) VALUES (?, ?)');
        for (const documentId of new Set([key.documentId, ...(key.documentIds ?? [])])) owner.run(id, documentId);
        return this.getIngest(id)!;
      }
      this.db.prepare('UPDATE kv_ingests SET last_used_at = ? WHERE id = ?').run(now, existing.id);
      if (existing.tokenCount !== key.tokenCount) {
        this.db.prepare('DELETE FROM kv_chunks WHERE ingest_id = ?').run(existing.id);
        this.db
          .prepare(`UPDATE kv_ingests SET state = 'running', token_count = ?, tokens_done = 0, error_json = NULL, updated_at = ? WHERE id = ?`)
          .run(key.tokenCount, now, existing.id);
      } else if (existing.state !== 'complete') {
        this.db.prepare(`UPDATE kv_ingests SET state = 'running', error_json = NULL, updated_at = ? WHERE id = ?`).run(now, existing.id);
      }
      return this.getIngest(existing.id)!;
    })();
  }

  /**
   * Records one chunk whose blob is already fsynced (DiskTier.append resolved), together with the
   * ingest's progress, in one transaction. Chunks must come in index order (0, 1, 2, …).
   */
  addChunk(ingestId: string, chunk: KvChunk): void {
    this.addChunks(ingestId, [chunk]);
  }

  /** addChunk for several chunks in one transaction (an ingest's write-behind flush): all or none. */
  addChunks(ingestId: string, chunks: readonly KvChunk[]): void {
    chunks.forEach(checkChunk);
    this.db.transaction(() => {
      const ingest = this.getIngest(ingestId);
      if (ingest === null) throw new StrataError('NOT_FOUND', `No KV ingest with id ${ingestId}`);
      if (ingest.state !== 'running') throw new StrataError('KV_INGEST_NOT_RUNNING', `KV ingest ${ingestId} is ${ingest.state}; start it again before adding chunks`);
      let tokensDone = ingest.tokensDone;
      let expected = ingest.chunkCount;
      const insert = this.db.prepare(
        `INSERT INTO kv_chunks (ingest_id, chunk_index, token_start, token_end, pos_start, pos_end, char_start, char_end, segment, offset, length, crc32, abstract)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const chunk of chunks) {
        if (chunk.index !== expected) {
          throw new StrataError('KV_CHUNK_OUT_OF_ORDER', `KV ingest ${ingestId} expects chunk ${expected} next, not chunk ${chunk.index}`);
        }
        tokensDone += chunk.tokenEnd - chunk.tokenStart;
        if (tokensDone > ingest.tokenCount) {
          throw new StrataError('KV_CHUNK_OUT_OF_RANGE', `Chunk ${chunk.index} takes KV ingest ${ingestId} to ${tokensDone} tokens, past its ${ingest.tokenCount}`);
        }
        insert.run(
          ingestId,
          chunk.index,
          chunk.tokenStart,
          chunk.tokenEnd,
          chunk.posStart,
          chunk.posEnd,
          chunk.charStart,
          chunk.charEnd,
          chunk.ref.segment,
          chunk.ref.offset,
          chunk.ref.length,
          chunk.ref.crc32,
          Buffer.from(chunk.abstract.buffer, chunk.abstract.byteOffset, chunk.abstract.byteLength),
        );
        expected++;
      }
      this.db.prepare('UPDATE kv_ingests SET tokens_done = ?, updated_at = ? WHERE id = ?').run(tokensDone, Date.now(), ingestId);
    })();
  }

  /** A document set's stored prefix render for a model (see migration 4), or null. */
  findPrefixRender(setKey: string, modelId: string): PrefixRender | null {
    const row = this.db.prepare('SELECT tokens, document_starts, stand_ins_ok FROM kv_prefix_renders WHERE set_key = ? AND model_id = ?').get(setKey, modelId) as
      | { tokens: Buffer; document_starts: string; stand_ins_ok: number | null }
      | undefined;
    if (!row) return null;
    const tokens = new Int32Array(row.tokens.buffer.slice(row.tokens.byteOffset, row.tokens.byteOffset + row.tokens.byteLength));
    return { tokens: Array.from(tokens), documentStarts: JSON.parse(row.document_starts) as PrefixRender['documentStarts'], standInsOk: row.stand_ins_ok === null ? null : row.stand_ins_ok === 1 };
  }

  savePrefixRender(setKey: string, modelId: string, documentId: string, render: PrefixRender): void {
    const tokens = Int32Array.from(render.tokens);
    this.db
      .prepare(
        `INSERT INTO kv_prefix_renders (set_key, model_id, document_id, tokens, document_starts, stand_ins_ok) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (set_key, model_id) DO UPDATE SET tokens = excluded.tokens, document_starts = excluded.document_starts, stand_ins_ok = excluded.stand_ins_ok`,
      )
      .run(setKey, modelId, documentId, Buffer.from(tokens.buffer), JSON.stringify(render.documentStarts), render.standInsOk === null ? null : render.standInsOk ? 1 : 0);
  }

  /** Records whether prompts may be composed after a stored prefix render (TailRenderer's check). */
  setPrefixStandInsOk(setKey: string, modelId: string, ok: boolean): void {
    this.db.prepare('UPDATE kv_prefix_renders SET stand_ins_ok = ? WHERE set_key = ? AND model_id = ?').run(ok ? 1 : 0, setKey, modelId);
  }

  /** Marks a running ingest complete; every token must be covered by a committed chunk. */
  completeIngest(ingestId: string): KvIngest {
    return this.db.transaction(() => {
      const ingest = this.getIngest(ingestId);
      if (ingest === null) throw new StrataError('NOT_FOUND', `No KV ingest with id ${ingestId}`);
      if (ingest.state === 'complete') return ingest;
      if (ingest.state !== 'running') throw new StrataError('KV_INGEST_NOT_RUNNING', `KV ingest ${ingestId} is ${ingest.state}; it cannot be completed`);
      if (ingest.tokensDone !== ingest.tokenCount) {
        throw new StrataError('KV_INGEST_INCOMPLETE', `KV ingest ${ingestId} has ${ingest.tokensDone} of its ${ingest.tokenCount} tokens in chunks`);
      }
      this.db.prepare(`UPDATE kv_ingests SET state = 'complete', updated_at = ? WHERE id = ?`).run(Date.now(), ingestId);
      return this.getIngest(ingestId)!;
    })();
  }

  /** Marks an ingest failed, keeping its committed chunks so a later startIngest resumes from them. */
  failIngest(ingestId: string, error: ErrorPayload): KvIngest {
    const result = this.db
      .prepare(`UPDATE kv_ingests SET state = 'failed', error_json = ?, updated_at = ? WHERE id = ?`)
      .run(JSON.stringify({ code: error.code, message: error.message }), Date.now(), ingestId);
    if (result.changes === 0) throw new StrataError('NOT_FOUND', `No KV ingest with id ${ingestId}`);
    return this.getIngest(ingestId)!;
  }

  /** The committed chunks in index order, abstracts included. */
  listChunks(ingestId: string): KvChunk[] {
    return (this.db.prepare('SELECT * FROM kv_chunks WHERE ingest_id = ? ORDER BY chunk_index').all(ingestId) as Row[]).map(toChunk);
  }

  /** The last committed chunk (its ref's end is where the disk tier must be truncated to on resume). */
  lastChunk(ingestId: string): KvChunk | null {
    const row = this.db.prepare('SELECT * FROM kv_chunks WHERE ingest_id = ? ORDER BY chunk_index DESC LIMIT 1').get(ingestId) as Row | undefined;
    return row ? toChunk(row) : null;
  }

  /** Every committed chunk's abstract, packed in index order for scoreChunks. */
  packedAbstracts(ingestId: string): Float32Array {
    const rows = this.db.prepare('SELECT abstract FROM kv_chunks WHERE ingest_id = ? ORDER BY chunk_index').all(ingestId) as { abstract: Uint8Array }[];
    const out = new Float32Array(rows.reduce((sum, row) => sum + row.abstract.byteLength, 0) / 4);
    const bytes = new Uint8Array(out.buffer);
    let at = 0;
    for (const row of rows) {
      bytes.set(row.abstract, at);
      at += row.abstract.byteLength;
    }
    return out;
  }

  /** Deletes the ingest and its chunk rows. Remove its disk-tier files (key = ingest id) afterwards. */
  deleteIngest(ingestId: string): void {
    this.db.prepare('DELETE FROM kv_ingests WHERE id = ?').run(ingestId);
  }

  // Lifecycle: owners, use and bytes (migration 3)

  /** Marks an ingest used now: the disk budget evicts the least recently used first. */
  /** The chunk indices the last question on this ingest chose (migration 5), or [] before any. */
  lastSelection(ingestId: string): number[] {
    const row = this.db.prepare('SELECT last_selection FROM kv_ingests WHERE id = ?').get(ingestId) as { last_selection: string | null } | undefined;
    return row?.last_selection ? (JSON.parse(row.last_selection) as number[]) : [];
  }

  setLastSelection(ingestId: string, chunkIndices: readonly number[]): void {
    this.db.prepare('UPDATE kv_ingests SET last_selection = ? WHERE id = ?').run(JSON.stringify(chunkIndices), ingestId);
  }

  touchIngest(ingestId: string): void {
    this.db.prepare('UPDATE kv_ingests SET last_used_at = ? WHERE id = ?').run(Date.now(), ingestId);
  }

  /** Each document's library KV for this model and layout (kind 'document'); documents never read have no row. */
  documentKv(modelId: string, layout: string, kind: KvIngestKind = 'document'): DocumentKvRow[] {
    // A 'set' ingest counts for a document only when the set is that document alone.
    const rows = this.db
      .prepare(
        `SELECT i.id, i.document_id, i.state, i.token_count, i.tokens_done, COALESCE((SELECT SUM(length) FROM kv_chunks c WHERE c.ingest_id = i.id), 0) AS bytes
         FROM kv_ingests i WHERE i.kind = ? AND i.model_id = ? AND i.layout = ?
           AND (SELECT COUNT(*) FROM kv_ingest_documents o WHERE o.ingest_id = i.id) <= 1
         ORDER BY i.last_used_at DESC`,
      )
      .all(kind, modelId, layout) as Row[];
    const seen = new Set<string>();
    const out: DocumentKvRow[] = [];
    for (const row of rows) {
      const documentId = String(row.document_id);
      if (seen.has(documentId)) continue; // an older tokenization of the same text: the newest counts
      seen.add(documentId);
      out.push({ ingestId: String(row.id), documentId, state: row.state as KvIngestState, tokenCount: Number(row.token_count), tokensDone: Number(row.tokens_done), bytes: Number(row.bytes) });
    }
    return out;
  }

  /** Ingests read (partly) from this document: removing it frees all of them. */
  ingestIdsOfDocument(documentId: string): string[] {
    const rows = this.db
      .prepare('SELECT ingest_id AS id FROM kv_ingest_documents WHERE document_id = ? UNION SELECT id FROM kv_ingests WHERE document_id = ?')
      .all(documentId, documentId) as { id: string }[];
    return rows.map((row) => row.id);
  }

  documentIdsOfIngest(ingestId: string): string[] {
    return (this.db.prepare('SELECT document_id FROM kv_ingest_documents WHERE ingest_id = ? ORDER BY rowid').all(ingestId) as { document_id: string }[]).map((row) => row.document_id);
  }

  ingestIdsOfModel(modelId: string): string[] {
    return (this.db.prepare('SELECT id FROM kv_ingests WHERE model_id = ?').all(modelId) as { id: string }[]).map((row) => row.id);
  }

  /** Every ingest with its stored bytes, least recently used first. */
  ingestsByLastUse(): { id: string; state: KvIngestState; bytes: number; lastUsedAt: number }[] {
    const rows = this.db
      .prepare(
        `SELECT i.id, i.state, i.last_used_at, COALESCE((SELECT SUM(length) FROM kv_chunks c WHERE c.ingest_id = i.id), 0) AS bytes
         FROM kv_ingests i ORDER BY i.last_used_at, i.rowid`,
      )
      .all() as Row[];
    return rows.map((row) => ({ id: String(row.id), state: row.state as KvIngestState, bytes: Number(row.bytes), lastUsedAt: Number(row.last_used_at) }));
  }

  /**
   * What the catalog owns on disk: per disk-tier key (an ingest id, or turns-<conversation id>) the end
   * of its last committed blob, or null when it owns the key but has committed nothing yet.
   */
  ownedDiskKeys(): Map<string, { segment: number; offset: number } | null> {
    const owned = new Map<string, { segment: number; offset: number } | null>();
    for (const row of this.db.prepare('SELECT id FROM kv_ingests').all() as { id: string }[]) owned.set(row.id, null);
    const ends = this.db
      .prepare(
        `SELECT ingest_id AS key, segment, offset + length AS end FROM kv_chunks c
         WHERE chunk_index = (SELECT MAX(chunk_index) FROM kv_chunks d WHERE d.ingest_id = c.ingest_id)
         UNION ALL
         SELECT 'turns-' || conversation_id AS key, segment, offset + length AS end FROM kv_turns t
         WHERE chunk_index = (SELECT MAX(chunk_index) FROM kv_turns u WHERE u.conversation_id = t.conversation_id)`,
      )
      .all() as { key: string; segment: number; end: number }[];
    for (const row of ends) owned.set(row.key, { segment: Number(row.segment), offset: Number(row.end) });
    return owned;
  }

  /** Bytes of every committed blob the catalog points at (documents and turns). */
  accountedBytes(): number {
    const row = this.db
      .prepare('SELECT COALESCE((SELECT SUM(length) FROM kv_chunks), 0) + COALESCE((SELECT SUM(length) FROM kv_turns), 0) AS bytes')
      .get() as { bytes: number };
    return Number(row.bytes);
  }

  // Conversation turns

  listTurns(conversationId: string): KvTurn[] {
    return (this.db.prepare('SELECT * FROM kv_turns WHERE conversation_id = ? ORDER BY chunk_index').all(conversationId) as Row[]).map(toTurn);
  }

  /** Records one turn chunk whose blob is already fsynced; indices come in order from 0. */
  addTurn(conversationId: string, turn: KvTurn): void {
    checkCount('index', turn.index);
    this.db
      .prepare(
        `INSERT INTO kv_turns (conversation_id, chunk_index, prefix_key, pos_start, pos_end, tokens, segment, offset, length, crc32, abstract)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        conversationId,
        turn.index,
        turn.prefixKey,
        turn.posStart,
        turn.posEnd,
        Buffer.from(Int32Array.from(turn.tokens).buffer),
        turn.ref.segment,
        turn.ref.offset,
        turn.ref.length,
        turn.ref.crc32,
        Buffer.from(turn.abstract.buffer, turn.abstract.byteOffset, turn.abstract.byteLength),
      );
  }

  /**
   * Conversations whose stored turns follow one of these ingests (they go when the ingest goes): a set
   * ingest's id, or a composed prefix naming it (`lib:<ingest ids>|<composition>`, TieredModel).
   */
  conversationsWithTurnsAfter(ingestIds: readonly string[]): string[] {
    const found = new Set<string>();
    const select = this.db.prepare(`SELECT DISTINCT conversation_id FROM kv_turns WHERE prefix_key = ? OR (prefix_key LIKE 'lib:%' AND instr(prefix_key, ?) > 0)`);
    for (const id of ingestIds) for (const row of select.all(id, id) as { conversation_id: string }[]) found.add(row.conversation_id);
    return [...found];
  }

  /** Forgets the turn chunks from `index` on (all of them for 0). */
  deleteTurnsFrom(conversationId: string, index: number): void {
    this.db.prepare('DELETE FROM kv_turns WHERE conversation_id = ? AND chunk_index >= ?').run(conversationId, index);
  }

  // Token counts per (document, model)

  tokenCount(documentId: string, modelId: string): number | null {
    const row = this.db.prepare('SELECT token_count FROM document_token_counts WHERE document_id = ? AND model_id = ?').get(documentId, modelId) as { token_count: number } | undefined;
    return row ? Number(row.token_count) : null;
  }

  setTokenCount(documentId: string, modelId: string, tokenCount: number): void {
    checkCount('tokenCount', tokenCount);
    this.db
      .prepare('INSERT INTO document_token_counts (document_id, model_id, token_count) VALUES (?, ?, ?) ON CONFLICT(document_id, model_id) DO UPDATE SET token_count = excluded.token_count')
      .run(documentId, modelId, tokenCount);
  }
}

export interface KvTurn {
  index: number;
  /** The ingest id of the documents' prefix this turn follows ('none' without documents). */
  prefixKey: string;
  posStart: number;
  posEnd: number;
  /** The turn's tokens, [posStart, posEnd). */
  tokens: number[];
  ref: BlobRef;
  abstract: Float32Array;
}

function toTurn(row: Row): KvTurn {
  return {
    index: Number(row.chunk_index),
    prefixKey: String(row.prefix_key),
    posStart: Number(row.pos_start),
    posEnd: Number(row.pos_end),
    tokens: Array.from(copyInto(Int32Array, row.tokens as Uint8Array)),
    ref: toRef(row),
    abstract: copyInto(Float32Array, row.abstract as Uint8Array),
  };
}

/** Copies SQLite's bytes into a fresh typed array: they need not be 4-byte aligned for a view. */
function copyInto<T extends Float32Array | Int32Array>(Type: { new (length: number): T }, bytes: Uint8Array): T {
  const out = new Type(bytes.byteLength >>> 2);
  new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
  return out;
}

function toRef(row: Row): BlobRef {
  return { segment: Number(row.segment), offset: Number(row.offset), length: Number(row.length), crc32: Number(row.crc32) };
}

const INGEST_SELECT = `SELECT i.*, (SELECT COUNT(*) FROM kv_chunks c WHERE c.ingest_id = i.id) AS chunk_count FROM kv_ingests i`;

function toIngest(row: Row): KvIngest {
  return {
    id: String(row.id),
    documentId: String(row.document_id),
    modelId: String(row.model_id),
    configFingerprint: String(row.config_fingerprint),
    state: row.state as KvIngestState,
    tokenCount: Number(row.token_count),
    tokensDone: Number(row.tokens_done),
    chunkCount: Number(row.chunk_count),
    error: row.error_json ? (JSON.parse(String(row.error_json)) as ErrorPayload) : null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toChunk(row: Row): KvChunk {
  const abstract = copyInto(Float32Array, row.abstract as Uint8Array);
  return {
    index: Number(row.chunk_index),
    tokenStart: Number(row.token_start),
    tokenEnd: Number(row.token_end),
    posStart: Number(row.pos_start),
    posEnd: Number(row.pos_end),
    charStart: Number(row.char_start),
    charEnd: Number(row.char_end),
    ref: toRef(row),
    abstract,
  };
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

function checkChunk(chunk: KvChunk): void {
  for (const name of ['index', 'tokenStart', 'tokenEnd', 'posStart', 'posEnd', 'charStart', 'charEnd'] as const) checkCount(name, chunk[name]);
  for (const name of ['segment', 'offset', 'length', 'crc32'] as const) checkCount(`ref.${name}`, chunk.ref[name]);
  if (chunk.tokenEnd <= chunk.tokenStart || chunk.posEnd < chunk.posStart || chunk.charEnd < chunk.charStart) {
    throw new RangeError(`chunk ${chunk.index} has an empty or reversed range`);
  }
  if (!(chunk.abstract instanceof Float32Array)) throw new TypeError('chunk.abstract must be a Float32Array');
}
