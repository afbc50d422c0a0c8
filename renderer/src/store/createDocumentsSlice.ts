import type { DocumentInfo } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

/** One file to import: dropped or picked bytes, or (Electron) a path from the native dialog. */
export type ImportSource = { kind: 'file'; file: File } | { kind: 'path'; path: string };

export interface DocumentsSlice {
  documents: DocumentInfo[];

  refreshDocuments(): Promise<void>;
  /**
   * Imports one file at a time; each success is attached to the conversation that was active when
   * the batch began (or to a new one titled after the first document). A failure stays as an error
   * row and never stops the rest of the batch.
   */
  importDocuments(sources: ImportSource[]): Promise<void>;
  pickAndImportDocuments(): Promise<void>;
  removeDocument(id: string): Promise<void>;
  /** Ticks or unticks a document for the active conversation, creating one if none is active. */
  setDocumentInUse(id: string, inUse: boolean): Promise<void>;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/**
 * Adds an imported document unless the list already has it. In the browser host the import's reply
 * comes over HTTP while documents.onChanged and its list come over the WebSocket, so the list can be
 * newer than the reply (a token count made meanwhile); the reply must never overwrite it.
 */
function addIfMissing(documents: DocumentInfo[], doc: DocumentInfo): DocumentInfo[] {
  return documents.some((d) => d.id === doc.id) ? documents : [...documents, doc];
}

let creatingFromDraft = false;

export const createDocumentsSlice: SliceCreator<DocumentsSlice> = (set, get) => ({
  documents: [],

  async refreshDocuments() {
    try {
      set({ documents: await getStrataClient().api.documents.list() });
    } catch (err) {
      get().notify(`Could not list documents: ${toErrorPayload(err).message}`);
    }
  },

  async importDocuments(sources) {
    const { api } = getStrataClient();
    let conversationId = get().activeConversationId;
    const batch = sources.map((source) => {
      const requestId = crypto.randomUUID();
      get().queueImport(requestId, source.kind === 'file' ? source.file.name : baseName(source.path));
      return { source, requestId };
    });
    for (const { source, requestId } of batch) {
      if (!get().beginImport(requestId)) continue;
      const fileName = source.kind === 'file' ? source.file.name : baseName(source.path);
      let doc: DocumentInfo;
      try {
        doc =
          source.kind === 'file'
            ? await api.documents.import({ requestId, fileName, bytes: new Uint8Array(await source.file.arrayBuffer()) })
            : await api.documents.importPath({ requestId, path: source.path });
      } catch (err) {
        get().failImport(requestId, toErrorPayload(err));
        continue;
      }
      get().finishImport(requestId);
      set((s) => ({ documents: addIfMissing(s.documents, doc) }));
      conversationId = await get().attachDocument(conversationId, doc);
    }
  },

  async pickAndImportDocuments() {
    let paths: string[];
    try {
      paths = await getStrataClient().api.documents.pickFiles();
    } catch (err) {
      get().notify(`Could not show the file dialog: ${toErrorPayload(err).message}`);
      return;
    }
    await get().importDocuments(paths.map((path) => ({ kind: 'path', path })));
  },

  async removeDocument(id) {
    try {
      await getStrataClient().api.documents.remove({ id });
      set((s) => ({ documents: s.documents.filter((d) => d.id !== id) }));
    } catch (err) {
      get().notify(`Could not remove the document: ${toErrorPayload(err).message}`);
    }
    // The engine drops removed documents from conversations; pick up their new lists.
    await get().refreshConversations();
  },

  async setDocumentInUse(id, inUse) {
    const active = get().activeConversation();
    const current = active ? active.documentIds : get().draftDocumentIds;
    const documentIds = inUse ? (current.includes(id) ? current : [...current, id]) : current.filter((d) => d !== id);
    if (active) {
      await get().setConversationDocuments(active.id, documentIds);
      return;
    }
    set({ draftDocumentIds: documentIds });
    // Ticking a document with no conversation open starts one, titled after the document.
    if (inUse && !creatingFromDraft) {
      creatingFromDraft = true;
      try {
        const doc = get().documents.find((d) => d.id === id);
        const created = await get().createConversation({ title: doc?.fileName, documentIds });
        // Boxes ticked or unticked while it was being created still count.
        const ticked = get().draftDocumentIds;
        set({ draftDocumentIds: [] });
        const changed = ticked.length !== documentIds.length || ticked.some((d) => !documentIds.includes(d));
        if (created && changed) await get().setConversationDocuments(created.id, ticked);
      } finally {
        creatingFromDraft = false;
      }
    }
  },
});
