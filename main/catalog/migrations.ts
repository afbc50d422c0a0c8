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
];
