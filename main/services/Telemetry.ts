// What the Memory and Latency dashboards hear without asking: memory snapshots when the tiers change
// (at most every TIER_SAMPLE_INTERVAL_MS) and every MEMORY_PUSH_MS while an answer runs, and the
// residency map of a conversation when its working set changes.
import type { ResidencySnapshot } from '../../preload/api.ts';
import type { EngineConversation, EngineModel } from '../engine/Engine.ts';
import type { EngineKind, MemorySnapshot } from '../engine/engineTypes.ts';
import type { EventSink } from './StrataService.ts';

const TIER_SAMPLE_INTERVAL_MS = 100;
const MEMORY_PUSH_MS = 200;

export interface TelemetrySources {
  emit: EventSink;
  openModel: () => { model: EngineModel; engine: EngineKind | undefined } | null;
  conversation: (id: string) => EngineConversation | undefined;
}

export class Telemetry {
  private readonly sources: TelemetrySources;
  private lastTierSampleAt = 0;

  constructor(sources: TelemetrySources) {
    this.sources = sources;
  }

  /** A tier changed: the memory dashboard hears of it, at most every TIER_SAMPLE_INTERVAL_MS. */
  tierChanged(): void {
    const now = performance.now();
    if (now - this.lastTierSampleAt < TIER_SAMPLE_INTERVAL_MS) return;
    this.lastTierSampleAt = now;
    this.pushMemory();
  }

  /** While a question runs, a snapshot every MEMORY_PUSH_MS; call the returned function when it ends. */
  startMemoryPush(): () => void {
    this.pushMemory();
    const timer = setInterval(() => this.pushMemory(), MEMORY_PUSH_MS);
    return () => {
      clearInterval(timer);
      this.pushMemory();
    };
  }

  residency(conversationId: string): ResidencySnapshot | null {
    const chunks = this.sources.conversation(conversationId)?.residency?.() ?? null;
    return chunks ? { conversationId, chunks } : null;
  }

  emitResidency(conversationId: string): void {
    const snapshot = this.residency(conversationId);
    if (snapshot) this.sources.emit('engine.onResidency', snapshot);
  }

  async memorySnapshot(): Promise<MemorySnapshot> {
    const open = this.sources.openModel();
    const base = open?.model.memory ? await open.model.memory() : null;
    return {
      at: Date.now(),
      engine: open?.engine ?? null,
      ...(base ?? {
        tiers: { gpu: { bytes: 0, budgetBytes: null }, cpu: { bytes: 0, budgetBytes: null }, disk: { bytes: 0, budgetBytes: null } },
        gpuResidentTokens: 0,
        gpuBudgetTokens: 0,
        vram: null,
        hits: { gpu: 0, cpu: 0, disk: 0 },
        loadedBytes: { cpu: 0, disk: 0 },
      }),
    };
  }

  private pushMemory(): void {
    void this.memorySnapshot().then((snapshot) => this.sources.emit('engine.onMemory', snapshot), () => undefined);
  }
}
