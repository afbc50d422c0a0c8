import { create } from 'zustand';
import { createAppSlice } from './createAppSlice.ts';
import { createChatSlice } from './createChatSlice.ts';
import { createDocumentKvSlice } from './createDocumentKvSlice.ts';
import { createDocumentsSlice } from './createDocumentsSlice.ts';
import { createImportsSlice } from './createImportsSlice.ts';
import { createIngestSlice } from './createIngestSlice.ts';
import { createLatencySlice } from './createLatencySlice.ts';
import { createMemorySlice } from './createMemorySlice.ts';
import { createModelLibrarySlice } from './createModelLibrarySlice.ts';
import { createSettingsSlice } from './createSettingsSlice.ts';
import { createViewSlice } from './createViewSlice.ts';
import type { StrataState } from './StrataState.ts';

export const useStrata = create<StrataState>()((...a) => ({
  ...createAppSlice(...a),
  ...createDocumentsSlice(...a),
  ...createDocumentKvSlice(...a),
  ...createChatSlice(...a),
  ...createImportsSlice(...a),
  ...createMemorySlice(...a),
  ...createLatencySlice(...a),
  ...createIngestSlice(...a),
  ...createSettingsSlice(...a),
  ...createModelLibrarySlice(...a),
  ...createViewSlice(...a),
}));
