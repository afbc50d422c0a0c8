import { create } from 'zustand';
import { createAppSlice } from './createAppSlice.ts';
import { createChatSlice } from './createChatSlice.ts';
import { createDocumentsSlice } from './createDocumentsSlice.ts';
import { createImportsSlice } from './createImportsSlice.ts';
import type { StrataState } from './StrataState.ts';

export const useStrata = create<StrataState>()((...a) => ({
  ...createAppSlice(...a),
  ...createDocumentsSlice(...a),
  ...createChatSlice(...a),
  ...createImportsSlice(...a),
}));
