import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export type SidePanelTab = 'documents' | 'models' | 'memory' | 'latency' | 'settings';

/** The document view: which document, and the chunk to scroll to (nonce: scroll again on a repeat click). */
export interface DocumentViewTarget {
  documentId: string;
  chunkIndex: number | null;
  nonce: number;
}

export type DocumentTextState = { state: 'loading' } | { state: 'ready'; text: string } | { state: 'failed'; message: string };

export interface ViewSlice {
  sidePanelTab: SidePanelTab;
  documentView: DocumentViewTarget | null;
  documentTexts: Record<string, DocumentTextState>;

  setSidePanelTab(tab: SidePanelTab): void;
  openDocumentView(documentId: string, chunkIndex?: number | null): void;
  closeDocumentView(): void;
}

let nextNonce = 1;

export const createViewSlice: SliceCreator<ViewSlice> = (set, get) => ({
  sidePanelTab: 'documents',
  documentView: null,
  documentTexts: {},

  setSidePanelTab(tab) {
    set({ sidePanelTab: tab });
  },

  openDocumentView(documentId, chunkIndex = null) {
    set({ documentView: { documentId, chunkIndex, nonce: nextNonce++ } });
    const known = get().documentTexts[documentId];
    if (known && known.state !== 'failed') return;
    set((s) => ({ documentTexts: { ...s.documentTexts, [documentId]: { state: 'loading' } } }));
    getStrataClient()
      .api.documents.getText({ id: documentId })
      .then(
        ({ text }) => set((s) => ({ documentTexts: { ...s.documentTexts, [documentId]: { state: 'ready', text } } })),
        (err: unknown) =>
          set((s) => ({ documentTexts: { ...s.documentTexts, [documentId]: { state: 'failed', message: toErrorPayload(err).message } } })),
      );
  },

  closeDocumentView() {
    set({ documentView: null });
  },
});
