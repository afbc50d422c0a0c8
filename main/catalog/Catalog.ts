// The SQLite catalog: models, documents, conversations and messages. WAL so a reader (the UI asking for
// messages) never waits behind a writer (an import), and foreign keys so deleting a conversation cannot
// leave orphans.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AskMetrics,
  ConversationInfo,
  DocumentInfo,
  DocumentKind,
  ErrorPayload,
  MessageInfo,
  MessageRole,
  MessageStatus,
  ModelInfo,
} from '../../preload/api.ts';
import { DisposedError, RequestError, StrataError } from '../engine/errors.ts';
import { migrations, type Migration } from './migrations.ts';

type Row = Record<string, unknown>;

export interface NewDocument {
  sha256: string;
  fileName: string;
  kind: DocumentKind;
  sizeBytes: number;
  text: string;
  tokenCount: number | null;
  tokenCountModelId: string | null;
}

export interface NewModel {
  path: string;
  name: string;
  architecture: string;
  sizeBytes: number;
  hasChatTemplate: boolean;
  trainContextTokens: number;
}

export class Catalog {
  private db: Database.Database | null;

  constructor(path: string, options: { migrations?: Migration[] } = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      this.db = new Database(path);
      // Documents' text is private: only this account reads the catalog (its -wal/-shm follow the umask
      // the hosts set). A new catalog gives freed pages back in steps (reclaimSpace).
      if (path !== ':memory:' && process.platform !== 'win32') chmodSync(path, 0o600);
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.migrate(options.migrations ?? migrations);
    } catch (error) {
      throw new StrataError('CATALOG_UNREADABLE', `The catalog at ${path} cannot be opened: ${(error as Error).message}`, { cause: error });
    }
  }

  get schemaVersion(): number {
    return (this.conn.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  private migrate(list: Migration[]): void {
    const db = this.conn;
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const current = this.schemaVersion;
    const newest = list.reduce((max, m) => Math.max(max, m.version), 0);
    if (current > newest) {
      throw new Error(`it was written by a newer Strata (schema ${current}, this build knows ${newest}). Update Strata.`);
    }
    for (const migration of [...list].sort((a, b) => a.version - b.version)) {
      if (migration.version <= current) continue;
      db.transaction(() => {
        db.exec(migration.sql);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
      })();
    }
  }

  /** The open connection, for stores that keep their own tables in this catalog (KvCatalog). */
  get database(): Database.Database {
    return this.conn;
  }

  private get conn(): Database.Database {
    if (this.db === null) throw new DisposedError('Catalog');
    return this.db;
  }

  // Models

  upsertModel(model: NewModel): ModelInfo {
    const now = Date.now();
    const existing = this.conn.prepare('SELECT id FROM models WHERE path = ?').get(model.path) as { id: string } | undefined;
    const id = existing?.id ?? randomUUID();
    this.conn
      .prepare(
        `INSERT INTO models (id, path, name, architecture, size_bytes, has_chat_template, train_context_tokens, last_opened_at)
         VALUES (@id, @path, @name, @architecture, @sizeBytes, @hasChatTemplate, @trainContextTokens, @now)
         ON CONFLICT(path) DO UPDATE SET name = @name, architecture = @architecture, size_bytes = @sizeBytes,
           has_chat_template = @hasChatTemplate, train_context_tokens = @trainContextTokens, last_opened_at = @now`,
      )
      .run({ ...model, id, hasChatTemplate: model.hasChatTemplate ? 1 : 0, now });
    return this.getModel(id)!;
  }

  getModel(id: string): ModelInfo | null {
    const row = this.conn.prepare('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
    return row ? toModel(row) : null;
  }

  listRecentModels(limit = 10): ModelInfo[] {
    return (this.conn.prepare('SELECT * FROM models ORDER BY last_opened_at DESC LIMIT ?').all(limit) as Row[]).map(toModel);
  }

  forgetModel(id: string): void {
    this.conn.prepare('DELETE FROM models WHERE id = ?').run(id);
  }

  // Documents

  findDocumentByHash(sha256: string): DocumentInfo | null {
    const row = this.conn.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE sha256 = ?`).get(sha256) as Row | undefined;
    return row ? toDocument(row) : null;
  }

  addDocument(doc: NewDocument): DocumentInfo {
    const id = randomUUID();
    this.conn
      .prepare(
        `INSERT INTO documents (id, sha256, file_name, kind, size_bytes, text, char_count, token_count, token_count_model_id, imported_at)
         VALUES (@id, @sha256, @fileName, @kind, @sizeBytes, @text, @charCount, @tokenCount, @tokenCountModelId, @importedAt)`,
      )
      .run({ ...doc, id, charCount: doc.text.length, importedAt: Date.now() });
    return this.getDocument(id)!;
  }

  getDocument(id: string): DocumentInfo | null {
    const row = this.conn.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE id = ?`).get(id) as Row | undefined;
    return row ? toDocument(row) : null;
  }

  getDocumentText(id: string): string {
    const row = this.conn.prepare('SELECT text FROM documents WHERE id = ?').get(id) as { text: string } | undefined;
    if (!row) throw new RequestError('NOT_FOUND', `No document with id ${id}`);
    return row.text;
  }

  listDocuments(): DocumentInfo[] {
    return (this.conn.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents ORDER BY imported_at, rowid`).all() as Row[]).map(toDocument);
  }

  /**
   * Shows the counts already made for this model (document_token_counts) and returns the ids of the
   * documents it has not counted yet. No text is read: opening a model never re-tokenizes the library.
   */
  useTokenCountsOf(modelId: string): string[] {
    this.conn
      .prepare(
        `UPDATE documents SET token_count = (SELECT token_count FROM document_token_counts c WHERE c.document_id = documents.id AND c.model_id = ?), token_count_model_id = ?
         WHERE EXISTS (SELECT 1 FROM document_token_counts c WHERE c.document_id = documents.id AND c.model_id = ?)`,
      )
      .run(modelId, modelId, modelId);
    return (
      this.conn
        .prepare('SELECT id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM document_token_counts c WHERE c.document_id = d.id AND c.model_id = ?) ORDER BY imported_at, rowid')
        .all(modelId) as { id: string }[]
    ).map((row) => row.id);
  }

  setDocumentTokenCount(id: string, tokenCount: number, modelId: string): void {
    this.conn.transaction(() => {
      if (!this.conn.prepare('SELECT 1 FROM documents WHERE id = ?').get(id)) return;
      this.conn.prepare('UPDATE documents SET token_count = ?, token_count_model_id = ? WHERE id = ?').run(tokenCount, modelId, id);
      this.conn
        .prepare('INSERT INTO document_token_counts (document_id, model_id, token_count) VALUES (?, ?, ?) ON CONFLICT(document_id, model_id) DO UPDATE SET token_count = excluded.token_count')
        .run(id, modelId, tokenCount);
    })();
  }

  /**
   * Gives the pages of deleted rows back to the file system once there are more than `minBytes` of
   * them, a few MiB at a time so other calls are served in between. Returns the bytes given back.
   */
  async reclaimSpace(minBytes = 8 * 2 ** 20): Promise<number> {
    const pageSize = Number(this.conn.pragma('page_size', { simple: true }));
    const freePages = () => Number(this.conn.pragma('freelist_count', { simple: true }));
    const before = freePages();
    if (before * pageSize < minBytes) return 0;
    if (Number(this.conn.pragma('auto_vacuum', { simple: true })) !== 2) {
      // A catalog made before incremental vacuum: one full VACUUM switches it over.
      this.conn.pragma('auto_vacuum = INCREMENTAL');
      this.conn.exec('VACUUM');
    } else {
      while (freePages() > 0 && this.db !== null) {
        this.conn.pragma('incremental_vacuum(1024)');
        await nextTurn();
      }
    }
    if (this.db === null) return 0;
    this.conn.pragma('wal_checkpoint(TRUNCATE)');
    return (before - freePages()) * pageSize;
  }

  removeDocument(id: string): void {
    this.conn.prepare('DELETE FROM documents WHERE id = ?').run(id);
  }

  // Conversations

  createConversation(title: string, documentIds: string[]): ConversationInfo {
    const id = randomUUID();
    const now = Date.now();
    this.conn.transaction(() => {
      this.conn.prepare('INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)').run(id, title, now, now);
      this.writeConversationDocuments(id, documentIds);
    })();
    return this.getConversation(id);
  }

  getConversation(id: string): ConversationInfo {
    const row = this.conn.prepare('SELECT * FROM conversations WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new RequestError('NOT_FOUND', `No conversation with id ${id}`);
    return toConversation(row, this.conversationDocumentIds(id));
  }

  listConversations(): ConversationInfo[] {
    const rows = this.conn.prepare('SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC').all() as Row[];
    return rows.map((row) => toConversation(row, this.conversationDocumentIds(String(row.id))));
  }

  setConversationDocuments(id: string, documentIds: string[]): ConversationInfo {
    this.getConversation(id);
    this.conn.transaction(() => {
      this.conn.prepare('DELETE FROM conversation_documents WHERE conversation_id = ?').run(id);
      this.writeConversationDocuments(id, documentIds);
      this.touchConversation(id);
    })();
    return this.getConversation(id);
  }

  renameConversation(id: string, title: string): ConversationInfo {
    this.getConversation(id);
    this.conn.prepare('UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?').run(title, Date.now(), id);
    return this.getConversation(id);
  }

  deleteConversation(id: string): void {
    this.conn.prepare('DELETE FROM conversations WHERE id = ?').run(id);
  }

  private conversationDocumentIds(id: string): string[] {
    return (this.conn.prepare('SELECT document_id FROM conversation_documents WHERE conversation_id = ? ORDER BY position').all(id) as { document_id: string }[]).map(
      (row) => row.document_id,
    );
  }

  private writeConversationDocuments(id: string, documentIds: string[]): void {
    const insert = this.conn.prepare('INSERT INTO conversation_documents (conversation_id, document_id, position) VALUES (?, ?, ?)');
    [...new Set(documentIds)].forEach((documentId, position) => {
      if (!this.getDocument(documentId)) throw new RequestError('NOT_FOUND', `No document with id ${documentId}`);
      insert.run(id, documentId, position);
    });
  }

  private touchConversation(id: string): void {
    this.conn.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(Date.now(), id);
  }

  // Messages

  addMessage(message: {
    conversationId: string;
    role: MessageRole;
    text: string;
    status: MessageStatus;
    metrics?: AskMetrics | null;
    error?: ErrorPayload | null;
  }): MessageInfo {
    const id = randomUUID();
    const now = Date.now();
    this.conn.transaction(() => {
      const seq = (this.conn.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS s FROM messages WHERE conversation_id = ?').get(message.conversationId) as { s: number }).s;
      this.conn
        .prepare(
          `INSERT INTO messages (id, conversation_id, role, text, status, metrics_json, error_json, created_at, seq)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          message.conversationId,
          message.role,
          message.text,
          message.status,
          message.metrics ? JSON.stringify(message.metrics) : null,
          message.error ? JSON.stringify(message.error) : null,
          now,
          seq,
        );
      this.touchConversation(message.conversationId);
    })();
    return this.getMessage(id)!;
  }

  deleteMessages(ids: readonly string[]): void {
    const remove = this.conn.prepare('DELETE FROM messages WHERE id = ?');
    this.conn.transaction(() => ids.forEach((id) => remove.run(id)))();
  }

  getMessage(id: string): MessageInfo | null {
    const row = this.conn.prepare('SELECT * FROM messages WHERE id = ?').get(id) as Row | undefined;
    return row ? toMessage(row) : null;
  }

  /**
   * Conversations whose last message is a question without an answer: the process answering it
   * died (a killed engine, a crash). Each gets an error reply, so the history says what happened.
   * Returns how many were closed.
   */
  closeInterruptedAnswers(error: ErrorPayload): number {
    const orphans = this.conn
      .prepare(
        `SELECT m.conversation_id AS id FROM messages m
         WHERE m.role = 'user' AND m.seq = (SELECT MAX(seq) FROM messages WHERE conversation_id = m.conversation_id)`,
      )
      .all() as Array<{ id: string }>;
    for (const { id } of orphans) this.addMessage({ conversationId: id, role: 'assistant', text: '', status: 'error', error });
    return orphans.length;
  }

  listMessages(conversationId: string): MessageInfo[] {
    return (this.conn.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq').all(conversationId) as Row[]).map(toMessage);
  }

  // Settings

  getSetting<T>(key: string): T | null {
    const row = this.conn.prepare('SELECT value_json FROM settings WHERE key = ?').get(key) as { value_json: string } | undefined;
    return row ? (JSON.parse(row.value_json) as T) : null;
  }

  setSetting(key: string, value: unknown): void {
    this.conn.prepare('INSERT INTO settings (key, value_json) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json').run(key, JSON.stringify(value));
  }

  dispose(): void {
    this.db?.close();
    this.db = null;
  }
}

const DOCUMENT_COLUMNS = 'id, sha256, file_name, kind, size_bytes, char_count, token_count, token_count_model_id, imported_at';

function toModel(row: Row): ModelInfo {
  return {
    id: String(row.id),
    path: String(row.path),
    name: String(row.name),
    architecture: String(row.architecture),
    sizeBytes: Number(row.size_bytes),
    hasChatTemplate: row.has_chat_template === 1,
    trainContextTokens: Number(row.train_context_tokens),
    lastOpenedAt: Number(row.last_opened_at),
  };
}

function toDocument(row: Row): DocumentInfo {
  return {
    id: String(row.id),
    sha256: String(row.sha256),
    fileName: String(row.file_name),
    kind: row.kind as DocumentKind,
    sizeBytes: Number(row.size_bytes),
    charCount: Number(row.char_count),
    tokenCount: row.token_count === null ? null : Number(row.token_count),
    tokenCountModelId: row.token_count_model_id === null ? null : String(row.token_count_model_id),
    importedAt: Number(row.imported_at),
  };
}

function toConversation(row: Row, documentIds: string[]): ConversationInfo {
  return {
    id: String(row.id),
    title: String(row.title),
    documentIds,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toMessage(row: Row): MessageInfo {
  return {
    id: String(row.id),
    conversationId: String(row.conversation_id),
    role: row.role as MessageRole,
    text: String(row.text),
    status: row.status as MessageStatus,
    createdAt: Number(row.created_at),
    metrics: row.metrics_json ? (JSON.parse(String(row.metrics_json)) as AskMetrics) : null,
    error: row.error_json ? (JSON.parse(String(row.error_json)) as ErrorPayload) : null,
  };
}
