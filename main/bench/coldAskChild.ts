// The bench's cold question: a new process opens the catalog and the model and asks once about a
// document read by an earlier process. Prints one JSON line: the answer's tiered metrics, its time to
// first token and how long opening the model took (not part of the answer's time).
// Usage: coldAskChild.ts DATA_DIR MODEL_PATH DOCUMENT_ID GPU_BUDGET KV_TYPE QUESTION
import { join } from 'node:path';
import { Catalog } from '../catalog/Catalog.ts';
import type { KvCacheType } from '../engine/engineTypes.ts';
import { DEFAULT_SETTINGS } from '../engine/settings/engineSettings.ts';
import { TieredEngine } from '../engine/tiered/TieredEngine.ts';

const [dataDir, modelPath, documentId, budget, kvCacheType, question] = process.argv.slice(2);
const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
// The single-document workloads compare one prefix read against llama.cpp reading it whole: the exact mode's layout.
const settings = { ...DEFAULT_SETTINGS, kvReuse: 'exact' as const, gpuBudgetTokens: Number(budget), kvCacheType: kvCacheType as KvCacheType };
const engine = new TieredEngine({ dataDir, catalog, settings: () => settings });
try {
  const opening = performance.now();
  const model = await engine.openModel(modelPath);
  const openMs = performance.now() - opening;
  const document = catalog.getDocument(documentId);
  if (!document) throw new Error(`no document ${documentId}`);
  const conversation = model.createConversation();
  conversation.setDocuments([{ id: document.id, text: catalog.getDocumentText(document.id), sha256: document.sha256 }]);
  const answer = await conversation.ask(question, { maxTokens: 2 });
  if (answer.metrics.tiered?.documentTokensEvaluated !== 0) throw new Error('the cold question read the document again');
  console.log(JSON.stringify({ metrics: answer.metrics.tiered, ttftMs: answer.metrics.timeToFirstTokenMs, openMs }));
  await model.dispose();
} finally {
  await engine.dispose();
  catalog.dispose();
}
