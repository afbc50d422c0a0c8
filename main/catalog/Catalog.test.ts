import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../test/tempDir.ts';
import { Catalog } from './Catalog.ts';
import { migrations } from './migrations.ts';

const doc = (sha256: string, fileName = 'a.txt') => ({
  sha256,
  fileName,
  kind: 'txt' as const,
  sizeBytes: 5,
  text: 'hello',
  tokenCount: null,
  tokenCountModelId: null,
});

test('a new catalog is at the newest schema version and uses WAL', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  const catalog = new Catalog(path);
  assert.equal(catalog.schemaVersion, Math.max(...migrations.map((m) => m.version)));
  catalog.dispose();
  const raw = new Database(path);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
});

test('migrations run once, in order, and only the new ones on the next open', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  new Catalog(path).dispose();
  const extra = [...migrations, { version: 99, name: 'extra', sql: 'CREATE TABLE extra (x INTEGER);' }];
  const catalog = new Catalog(path, { migrations: extra });
  assert.equal(catalog.schemaVersion, 99);
  catalog.dispose();
  // Reopening with the same list must not re-run (CREATE TABLE would throw if it did).
  new Catalog(path, { migrations: extra }).dispose();
});

test('a catalog from a newer Strata is refused with a clear error, not rewritten', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  new Catalog(path, { migrations: [...migrations, { version: 50, name: 'future', sql: 'SELECT 1;' }] }).dispose();
  assert.throws(() => new Catalog(path), (error: Error & { code?: string }) => error.code === 'CATALOG_UNREADABLE' && /newer Strata/.test(error.message));
});

test('everything survives closing and reopening the catalog', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  let catalog = new Catalog(path);
  const model = catalog.upsertModel({ path: '/m.gguf', name: 'M', architecture: 'llama', sizeBytes: 10, hasChatTemplate: false, trainContextTokens: 4096 });
  const d = catalog.addDocument(doc('h1'));
  const conversation = catalog.createConversation('Talk', [d.id]);
  catalog.addMessage({ conversationId: conversation.id, role: 'user', text: 'q?', status: 'complete' });
  catalog.addMessage({
    conversationId: conversation.id,
    role: 'assistant',
    text: 'a.',
    status: 'stopped',
    metrics: { engine: 'standard', promptTokens: 3, evaluatedPromptTokens: 3, generatedTokens: 1, prefillMs: 1, timeToFirstTokenMs: 1, decodeTokensPerSecond: 0, totalMs: 2, contextTokens: 256, maxPositionUsed: 3, maxAttentionDistance: 3 },
  });
  catalog.dispose();

  catalog = new Catalog(path);
  assert.deepEqual(catalog.listRecentModels().map((m) => m.id), [model.id]);
  assert.deepEqual(catalog.listDocuments().map((x) => x.fileName), ['a.txt']);
  assert.equal(catalog.getDocumentText(d.id), 'hello');
  const [again] = catalog.listConversations();
  assert.deepEqual(again.documentIds, [d.id]);
  const messages = catalog.listMessages(conversation.id);
  assert.deepEqual(messages.map((m) => [m.role, m.text, m.status]), [['user', 'q?', 'complete'], ['assistant', 'a.', 'stopped']]);
  assert.equal(messages[1].metrics?.promptTokens, 3);
  catalog.dispose();
});

test('the same file content is one document; the hash is unique', (t) => {
  const catalog = new Catalog(join(tempDir(t), 'c.sqlite'));
  catalog.addDocument(doc('same'));
  assert.throws(() => catalog.addDocument(doc('same', 'b.txt')), /UNIQUE/);
  assert.equal(catalog.findDocumentByHash('same')?.fileName, 'a.txt');
  catalog.dispose();
});

test('reopening a model path updates it instead of adding a second one', (t) => {
  const catalog = new Catalog(join(tempDir(t), 'c.sqlite'));
  const first = catalog.upsertModel({ path: '/m.gguf', name: 'M', architecture: 'llama', sizeBytes: 10, hasChatTemplate: false, trainContextTokens: 4096 });
  const second = catalog.upsertModel({ path: '/m.gguf', name: 'M2', architecture: 'llama', sizeBytes: 11, hasChatTemplate: true, trainContextTokens: 8192 });
  assert.equal(second.id, first.id);
  assert.equal(catalog.listRecentModels().length, 1);
  assert.equal(catalog.listRecentModels()[0].name, 'M2');
  catalog.dispose();
});

test('deleting a conversation removes its messages but keeps its documents', (t) => {
  const catalog = new Catalog(join(tempDir(t), 'c.sqlite'));
  const d = catalog.addDocument(doc('h'));
  const c = catalog.createConversation('x', [d.id]);
  catalog.addMessage({ conversationId: c.id, role: 'user', text: 'q', status: 'complete' });
  catalog.deleteConversation(c.id);
  assert.equal(catalog.listConversations().length, 0);
  assert.equal(catalog.listMessages(c.id).length, 0);
  assert.equal(catalog.listDocuments().length, 1);
  catalog.dispose();
});

test('attaching an unknown document is refused and changes nothing', (t) => {
  const catalog = new Catalog(join(tempDir(t), 'c.sqlite'));
  const d = catalog.addDocument(doc('h'));
  const c = catalog.createConversation('x', [d.id]);
  assert.throws(() => catalog.setConversationDocuments(c.id, [d.id, 'nope']), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
  assert.deepEqual(catalog.getConversation(c.id).documentIds, [d.id]);
  catalog.dispose();
});

test('a disposed catalog throws DisposedError', (t) => {
  const catalog = new Catalog(join(tempDir(t), 'c.sqlite'));
  catalog.dispose();
  assert.throws(() => catalog.listDocuments(), (e: Error & { code?: string }) => e.code === 'DISPOSED');
});
