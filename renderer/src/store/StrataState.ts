// The renderer's one store, composed from slices. The engine owns the truth (it lives in main); these
// slices hold what the UI last heard and push calls through the api.
import type { AppSlice } from './createAppSlice.ts';
import type { ChatSlice } from './createChatSlice.ts';
import type { DocumentKvSlice } from './createDocumentKvSlice.ts';
import type { DocumentsSlice } from './createDocumentsSlice.ts';
import type { ImportsSlice } from './createImportsSlice.ts';
import type { IngestSlice } from './createIngestSlice.ts';
import type { LatencySlice } from './createLatencySlice.ts';
import type { MemorySlice } from './createMemorySlice.ts';
import type { ModelLibrarySlice } from './createModelLibrarySlice.ts';
import type { SettingsSlice } from './createSettingsSlice.ts';
import type { ViewSlice } from './createViewSlice.ts';
import type { StateCreator } from 'zustand';

export type StrataState = AppSlice &
  DocumentsSlice &
  DocumentKvSlice &
  ChatSlice &
  ImportsSlice &
  MemorySlice &
  LatencySlice &
  IngestSlice &
  SettingsSlice &
  ModelLibrarySlice &
  ViewSlice;

export type SliceCreator<Slice> = StateCreator<StrataState, [], [], Slice>;
