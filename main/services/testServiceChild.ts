// Child process of the kill tests: a service on a data dir that reads a document and answers needle
// questions in a loop until it is killed. Prints a line per step so the parent knows how far it got.
import { readFileSync } from 'node:fs';
import { StrataService } from './StrataService.ts';

const [dataDir, modelPath, textPath, questionsJson] = process.argv.slice(2);
const questions = JSON.parse(questionsJson) as string[];
const service = new StrataService({ dataDir, host: 'browser', version: 'test' });
await service.whenReady?.();
await service.settings.update({ gpuBudgetTokens: 1024, chunkMaxTokens: 128 });
await service.models.open({ path: modelPath });
const doc = await service.documents.import({ requestId: 'doc', fileName: 'haystack.txt', bytes: readFileSync(textPath) });
const conversation = (await service.chat.listConversations())[0] ?? (await service.chat.createConversation({ documentIds: [doc.id] }));
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const message = await service.chat.ask({ requestId: `ask-${i}`, conversationId: conversation.id, question: questions[i % questions.length], maxTokens: 2 });
  process.stdout.write(`answer ${i} ${message.status} ${message.text}\n`);
}
