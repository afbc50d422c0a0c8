// Versioned schema. Append a migration; never edit one that has shipped: a user's catalog at version
// N runs exactly the migrations after N, each in its own transaction.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'catalog',
    sql: `
      CREATE TABLE models (
        id TEXT PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        architecture TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        has_chat_template INTEGER NOT NULL,
        train_context_tokens INTEGER NOT NULL,
        last_opened_at INTEGER NOT NULL
      );
      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        kind TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        text TEXT NOT NULL,
        char_count INTEGER NOT NULL,
        token_count INTEGER,
        token_count_model_id TEXT,
        imported_at INTEGER NOT NULL
      );
      CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE conversation_documents (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, document_id)
      );
      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        text TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('complete', 'stopped', 'error')),
        metrics_json TEXT,
        error_json TEXT,
        created_at INTEGER NOT NULL,
        seq INTEGER NOT NULL
      );
      CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'tiered kv cache',
    // One ingest per (document, model, configuration): its chunks' KV blobs live in the disk tier under
    // the ingest's id, and each chunk row is written only after its blob is fsynced, so the rows are the
    // truth about what is on disk. config_fingerprint covers everything that changes the blob layout or
    // the abstracts (model, flash attention, KV types, scoring layers, chunk bounds).
    sql: `
      CREATE TABLE kv_ingests (
        id TEXT PRIMARY KEY,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        config_fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
        token_count INTEGER NOT NULL,
        tokens_done INTEGER NOT NULL DEFAULT 0,
        error_json TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (document_id, model_id, config_fingerprint)
      );
      CREATE TABLE kv_chunks (
        ingest_id TEXT NOT NULL REFERENCES kv_ingests(id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        token_start INTEGER NOT NULL,
        token_end INTEGER NOT NULL,
        pos_start INTEGER NOT NULL,
        pos_end INTEGER NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        segment INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        length INTEGER NOT NULL,
        crc32 INTEGER NOT NULL,
        abstract BLOB NOT NULL,
        PRIMARY KEY (ingest_id, chunk_index)
      );
    `,
  },
  {
    version: 3,
    name: 'kv lifecycle',
    // Every byte of KV on disk has an owner row. kv_ingest_documents names every document a prefix was
    // read from (a multi-document prefix is owned by each of them, so removing any one frees it);
    // last_used_at orders whole ingests for the disk budget's least-recently-used eviction. kv_turns holds
    // a conversation's stored turns (disk key turns-<conversation id>), valid while prefix_key, the
    // ingest they follow, is the one the conversation reads. document_token_counts caches a count per
    // (document, model).
    sql: `
      ALTER TABLE kv_ingests ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
      UPDATE kv_ingests SET last_used_at = updated_at;
      CREATE TABLE kv_ingest_documents (
        ingest_id TEXT NOT NULL REFERENCES kv_ingests(id) ON DELETE CASCADE,
        document_id TEXT NOT NULL,
        PRIMARY KEY (ingest_id, document_id)
      );
      CREATE INDEX kv_ingest_documents_by_document ON kv_ingest_documents(document_id);
      INSERT INTO kv_ingest_documents (ingest_id, document_id) SELECT id, document_id FROM kv_ingests;
      CREATE TABLE kv_turns (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        chunk_index INTEGER NOT NULL,
        prefix_key TEXT NOT NULL,
        pos_start INTEGER NOT NULL,
        pos_end INTEGER NOT NULL,
        tokens BLOB NOT NULL,
        segment INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        length INTEGER NOT NULL,
        crc32 INTEGER NOT NULL,
        abstract BLOB NOT NULL,
        PRIMARY KEY (conversation_id, chunk_index)
      );
      CREATE TABLE document_token_counts (
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        token_count INTEGER NOT NULL,
        PRIMARY KEY (document_id, model_id)
      );
    `,
  },
  {
    version: 4,
    name: 'kv prefix renders',
    // A document set's rendered prefix for one model: its tokens and where each document's text starts
    // in the prefix text. A new process then finds the set's stored KV without tokenizing the documents
    // again (a 128K-token prefix took most of a second). Keyed by the set's content key; owned by its
    // first document. stand_ins_ok: whether prompts may be composed after the prefix (TailRenderer).
    sql: `
      CREATE TABLE kv_prefix_renders (
        set_key TEXT NOT NULL,
        model_id TEXT NOT NULL,
        document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        tokens BLOB NOT NULL,
        document_starts TEXT NOT NULL,
        stand_ins_ok INTEGER,
        PRIMARY KEY (set_key, model_id)
      );
    `,
  },
  {
    version: 5,
    name: 'kv last selection',
    // The chunks the last question on an ingest chose: the next question's probe, even in a new
    // process, runs while these are read from disk (follow-ups mostly need the same parts).
    sql: `ALTER TABLE kv_ingests ADD COLUMN last_selection TEXT;`,
  },
  {
    version: 6,
    name: 'kv document library',
    // kind 'document': one document read alone (the library), reused in any combination; 'set': a
    // document set's prefix read whole (the exact mode). layout: the fingerprint's settings part
    // (model build, KV types, chunk bounds…), so the Documents tab tells which documents are read for
    // the open model as it is configured now.
    sql: `
      ALTER TABLE kv_ingests ADD COLUMN kind TEXT NOT NULL DEFAULT 'set';
      ALTER TABLE kv_ingests ADD COLUMN layout TEXT;
    `,
  },
];
