import { getStrataClient } from '../bridge/getStrataClient.ts';
import { useStrata } from './useStrata.ts';

export function isModelFile(name: string): boolean {
  return name.toLowerCase().endsWith('.gguf');
}

/**
 * Files dropped on the window: .gguf files open as the model (Electron knows their path; a browser
 * cannot tell the engine where a dropped file lives), everything else is imported as a document.
 */
export async function dropFiles(files: File[]): Promise<void> {
  const store = useStrata.getState();
  const models = files.filter((f) => isModelFile(f.name));
  const documents = files.filter((f) => !isModelFile(f.name));
  const model = models[0];
  if (model) {
    const path = getStrataClient().bridge.getPathForFile(model);
    if (path) void store.openModel(path);
    else
      store.notify(
        `The browser host cannot open a dropped model (${model.name}): browsers do not reveal where a file lives. Type the model's path in the “Model file path” field and press Open model.`,
        'info',
      );
  }
  if (documents.length > 0) await store.importDocuments(documents.map((file) => ({ kind: 'file', file })));
}
