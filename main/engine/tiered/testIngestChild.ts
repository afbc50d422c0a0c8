// Child process of the killed-ingest test: reads a document into the tiers until it is killed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../../catalog/Catalog.ts';
import { DEFAULT_SETTINGS } from '../settings/engineSettings.ts';
import { documentRow } from './testSupport.ts';
import { TieredEngine } from './TieredEngine.ts';

const [dataDir, modelPath, textPath, settingsJson] = process.argv.slice(2);
const catalog = new Catalog(join(dataDir, 'catalog.sqlite'));
const text = readFileSync(textPath, 'utf8');
const document = documentRow(catalog, text);
const engine = new TieredEngine({ dataDir, catalog, settings: () => ({ ...DEFAULT_SETTINGS, ...(JSON.parse(settingsJson) as object) }) });
const model = await engine.openModel(modelPath);
const conversation = model.createConversation();
conversation.setDocuments([{ id: document.id, text }]);
process.stdout.write(`${document.id}\n`);
await conversation.ask('? K00 :', { maxTokens: 1 });
