import type { MemorySnapshot, ResidencySnapshot } from '../../../preload/api.ts';
import { getStrataClient } from '../bridge/getStrataClient.ts';
import type { SliceCreator } from './StrataState.ts';
import { toErrorPayload } from './toErrorPayload.ts';

export interface MemorySlice {
  /** The engine's last memory snapshot (pushed by engine.onMemory, or fetched when a panel opens). */
  memory: MemorySnapshot | null;
  /** Why the memory snapshot could not be fetched (e.g. an engine process without the channel). */
  memoryError: string | null;
  /** Residency maps by conversation; null: its documents are not in the tiers (yet). */
  residencyByConversation: Record<string, ResidencySnapshot | null>;
  residencyError: string | null;

  refreshMemory(): Promise<void>;
  refreshResidency(conversationId: string): Promise<void>;
  applyMemory(snapshot: MemorySnapshot): void;
  applyResidency(snapshot: ResidencySnapshot): void;
}

export const createMemorySlice: SliceCreator<MemorySlice> = (set) => ({
  memory: null,
  memoryError: null,
  residencyByConversation: {},
  residencyError: null,

  async refreshMemory() {
    try {
      const memory = await getStrataClient().api.engine.memory();
      // A pushed snapshot newer than this reply wins.
      set((s) => (s.memory && s.memory.at > memory.at ? { memoryError: null } : { memory, memoryError: null }));
    } catch (err) {
      set({ memoryError: toErrorPayload(err).message });
    }
  },

  async refreshResidency(conversationId) {
    try {
      const snapshot = await getStrataClient().api.engine.residency({ conversationId });
      set((s) => ({ residencyByConversation: { ...s.residencyByConversation, [conversationId]: snapshot }, residencyError: null }));
    } catch (err) {
      set({ residencyError: toErrorPayload(err).message });
    }
  },

  applyMemory(snapshot) {
    set({ memory: snapshot, memoryError: null });
  },

  applyResidency(snapshot) {
    set((s) => ({
      residencyByConversation: { ...s.residencyByConversation, [snapshot.conversationId]: snapshot },
      residencyError: null,
    }));
  },
});
