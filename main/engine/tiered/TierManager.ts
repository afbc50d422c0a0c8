// The only place that changes the GPU tier's KV cells (STYLE: KV state changes in one place). It knows
// which chunks are resident and which loose cells (the question, the answer being generated) sit after
// them, refuses anything that would exceed the GPU budget, and splices in position order so a fully
// resident document is bit-identical to a full-context run.
//
// Compact positions (documents longer than the model's trained context): `makeResidentCompact`
// splices the chosen chunks in position order and moves each one down (llama_memory_seq_add) to sit
// right after the one before, so the question follows at most a budget's worth of positions later.
// Chunks keep their stored positions in `posStart`/`posEnd`; `shift` is where they sit now minus that.
import type { AddonDecodeResult, AddonGreedyResult, LogitsMode, NativeTierContext } from './native/NativeAddon.ts';
import { StrataError } from '../errors.ts';

export interface ResidentChunk {
  key: string;
  /** KV positions [posStart, posEnd). */
  posStart: number;
  posEnd: number;
}

interface PlacedChunk extends ResidentChunk {
  /** Compact positions: current position minus posStart (0 unless compacted; a library placement is already in posStart). */
  shift: number;
}

export interface SpliceSource extends ResidentChunk {
  /**
   * A document read alone and placed in a composed prompt (the library): the blob's cells move by
   * `shift` and its first `trim` cells are left out (recomputed in place), so [posStart, posEnd) is
   * where the rest lands. Distinct from compact positions' moves, which are per answer.
   */
  placement?: { shift: number; trim: number };
  /** The chunk's blob, from the CPU tier or the disk tier; `from` says which, for the metrics. */
  load(): Promise<{ blob: Uint8Array; from: 'cpu' | 'disk' }>;
  /** The error to raise when llama.cpp cannot parse the blob (a blob from another build): treated as damaged. */
  unreadable?(detail: string): Error;
}

export interface SpliceStats {
  spliceMs: number;
  bytesFromCpu: number;
  bytesFromDisk: number;
  splicedFromCpu: number;
  splicedFromDisk: number;
  spliced: number;
  /** Chunks of the target that were already resident. */
  kept: number;
  evicted: number;
  /** Sum of the blob loads' own times, and how long splicing waited for them: the difference was hidden. */
  loadMs: number;
  loadWaitMs: number;
  /** Chunks whose blob read started before the splice asked for it (TierManager.prefetch, during the probe). */
  prefetched: number;
}

type Loaded = { blob: Uint8Array; from: 'cpu' | 'disk' };

/** A read started by TierManager.prefetch, and its own duration once it has ended. */
interface Prefetch {
  load: Promise<Loaded>;
  ms: number | null;
}

/** Blob loads kept this many ahead of the splice: disk reads run on libuv's thread pool while llama.cpp splices. */
const LOADS_AHEAD = 8;

/** Loads blobs in splice order, up to LOADS_AHEAD ahead of the one being spliced; reads already started by a prefetch are taken over. */
class LoadAhead {
  private readonly started: Array<Promise<Loaded>> = [];
  private readonly sources: readonly SpliceSource[];
  private readonly stats: SpliceStats;
  private readonly early: (key: string) => Prefetch | undefined;

  constructor(sources: readonly SpliceSource[], stats: SpliceStats, early: (key: string) => Prefetch | undefined) {
    this.sources = sources;
    this.stats = stats;
    this.early = early;
  }

  async take(index: number): Promise<Loaded> {
    while (this.started.length < Math.min(this.sources.length, index + 1 + LOADS_AHEAD)) this.start(this.started.length);
    const waited = performance.now();
    try {
      return await this.started[index];
    } finally {
      this.stats.loadWaitMs += performance.now() - waited;
    }
  }

  private start(index: number): void {
    const source = this.sources[index];
    const prefetch = this.early(source.key);
    if (prefetch) {
      this.stats.prefetched++;
      const counted = prefetch.load.finally(() => (this.stats.loadMs += prefetch.ms ?? 0));
      counted.catch(() => {});
      this.started.push(counted);
      return;
    }
    const began = performance.now();
    const load = source.load().finally(() => (this.stats.loadMs += performance.now() - began));
    // A load that fails after an earlier splice failed is never awaited: keep it from going unhandled.
    load.catch(() => {});
    this.started.push(load);
  }
}

/** The GPU tier would exceed its budget: a bug in the planner, never a user error. */
export class BudgetViolationError extends StrataError {
  constructor(message: string) {
    super('GPU_BUDGET_VIOLATION', message);
    this.name = 'BudgetViolationError';
  }
}

export class TierManager {
  readonly budgetTokens: number;
  private readonly context: NativeTierContext;
  private readonly chunks = new Map<string, PlacedChunk>();
  /** The highest position any cell held since the last `resetPositionStats`, and the lowest. */
  private highestPosition = -1;
  private lowestPosition = Number.POSITIVE_INFINITY;
  /** Loose cells [start, end): evaluated tokens that belong to no chunk yet, always after every chunk. */
  private loose: { start: number; end: number } | null = null;
  private peak = 0;
  private readonly onChange: (residentTokens: number) => void;
  /** Blob reads started ahead of the splice that will want them, by chunk key. */
  private readonly prefetches = new Map<string, Prefetch>();

  constructor(context: NativeTierContext, budgetTokens: number, onChange: (residentTokens: number) => void = () => undefined) {
    this.context = context;
    this.budgetTokens = budgetTokens;
    this.onChange = onChange;
  }

  get residentTokens(): number {
    let total = this.loose ? this.loose.end - this.loose.start : 0;
    for (const chunk of this.chunks.values()) total += chunk.posEnd - chunk.posStart;
    return total;
  }

  get peakResidentTokens(): number {
    return this.peak;
  }

  isResident(key: string): boolean {
    return this.chunks.has(key);
  }

  residentKeys(): string[] {
    return [...this.chunks.values()].sort((a, b) => a.posStart - b.posStart).map((c) => c.key);
  }

  /** One past the highest resident position: where the next decode must start. */
  get nextPosition(): number {
    let max = this.loose?.end ?? 0;
    for (const chunk of this.chunks.values()) max = Math.max(max, chunk.posEnd + chunk.shift);
    return max;
  }

  /** Whether any resident chunk sits away from its stored positions. */
  get compacted(): boolean {
    return [...this.chunks.values()].some((c) => c.shift !== 0);
  }

  /** Where the cells were since `resetPositionStats`: the farthest a query attended is highest − lowest. */
  positionStats(): { highest: number; lowest: number } {
    return { highest: this.highestPosition, lowest: Number.isFinite(this.lowestPosition) ? this.lowestPosition : 0 };
  }

  resetPositionStats(): void {
    this.highestPosition = -1;
    this.lowestPosition = Number.POSITIVE_INFINITY;
    for (const chunk of this.chunks.values()) this.sawCells(chunk.posStart + chunk.shift, chunk.posEnd + chunk.shift);
    if (this.loose) this.sawCells(this.loose.start, this.loose.end);
  }

  /** Evaluates tokens at the next positions as loose cells. */
  async decode(tokens: readonly number[], logits: LogitsMode, capture?: { layers: readonly number[]; keys?: boolean; queries?: boolean; stopAfterLastLayer?: boolean }): Promise<AddonDecodeResult> {
    const start = this.nextPosition;
    this.reserve(tokens.length, 'decode');
    const positions = tokens.map((_, i) => start + i);
    const result = await this.context.decode({ tokens, positions, logits, capture });
    this.addLoose(start, start + tokens.length);
    return result;
  }

  /**
   * Greedy generation as loose cells: decodes `token` and each argmax after it, up to `maxSteps`
   * decodes (NativeTierContext.decodeGreedy); one cell per produced token.
   */
  async decodeGreedy(token: number, maxSteps: number, capture?: { layers: readonly number[]; keys?: boolean; queries?: boolean }): Promise<AddonGreedyResult> {
    const start = this.nextPosition;
    this.reserve(maxSteps, 'decode');
    const result = await this.context.decodeGreedy({ token, position: start, maxSteps, capture });
    this.addLoose(start, start + result.tokens.length);
    return result;
  }

  /** Newly decoded cells [start, end) join the loose cells. */
  private addLoose(start: number, end: number): void {
    this.loose = { start: this.loose?.start ?? start, end };
    this.sawCells(start, end);
    this.changed();
  }

  /** Turns the loose cells [posStart, posEnd) into a chunk's cells and returns its blob. */
  async captureLoose(key: string, posStart: number, posEnd: number): Promise<Uint8Array> {
    if (!this.loose || posStart !== this.loose.start || posEnd > this.loose.end || posEnd <= posStart) {
      throw new RangeError(`[${posStart}, ${posEnd}) is not the start of the loose cells ${JSON.stringify(this.loose)}`);
    }
    if (this.chunks.has(key)) throw new RangeError(`chunk ${key} is already resident`);
    // Cells at compact positions would be stored where they sat in one answer only.
    if (this.compacted) throw new RangeError('loose cells after compacted chunks are not stored');
    const { blob } = await this.context.captureChunk(posStart, posEnd);
    this.chunks.set(key, { key, posStart, posEnd, shift: 0 });
    this.loose = posEnd === this.loose.end ? null : { start: posEnd, end: this.loose.end };
    return blob;
  }

  /** Drops loose cells (a probe's, or an answer that will be re-evaluated). */
  async dropLoose(): Promise<void> {
    if (!this.loose) return;
    await this.context.removeRange(this.loose.start, this.loose.end);
    this.loose = null;
    this.changed();
  }

  async evict(key: string): Promise<void> {
    const chunk = this.chunks.get(key);
    if (!chunk) return;
    await this.context.removeRange(chunk.posStart + chunk.shift, chunk.posEnd + chunk.shift);
    this.chunks.delete(key);
    this.changed();
  }

  /**
   * Starts reading these chunks' blobs (disk into the CPU tier) now, while llama.cpp does something
   * else (a probe): the next makeResident takes over the reads instead of starting them. Resident
   * chunks are skipped; guesses from an earlier call that no splice took are dropped (their blobs stay
   * in the CPU tier).
   */
  prefetch(sources: readonly SpliceSource[]): void {
    this.prefetches.clear();
    for (const source of sources) {
      if (this.chunks.has(source.key) || this.prefetches.has(source.key)) continue;
      const began = performance.now();
      const prefetch: Prefetch = { load: source.load(), ms: null };
      // Handles a failure too, so a read no splice takes never goes unhandled.
      const ended = () => (prefetch.ms = performance.now() - began);
      prefetch.load.then(ended, ended);
      this.prefetches.set(source.key, prefetch);
    }
  }

  private takePrefetch(key: string): Prefetch | undefined {
    const prefetch = this.prefetches.get(key);
    this.prefetches.delete(key);
    return prefetch;
  }

  /**
   * Makes exactly `target` resident (plus the loose cells): evicts the others, then splices the
   * missing ones in position order. The most recent chunk must stay resident for decoding to continue,
   * so callers keep it in `target`.
   */
  async makeResident(target: readonly SpliceSource[]): Promise<SpliceStats> {
    const started = performance.now();
    // Splicing at stored positions next to moved chunks could overlap them: start again from the blobs.
    if (this.compacted) await this.clear();
    const wanted = new Set(target.map((c) => c.key));
    let evicted = 0;
    for (const key of [...this.chunks.keys()]) {
      if (!wanted.has(key)) {
        await this.evict(key);
        evicted++;
      }
    }
    const stats: SpliceStats = { spliceMs: 0, bytesFromCpu: 0, bytesFromDisk: 0, splicedFromCpu: 0, splicedFromDisk: 0, spliced: 0, kept: 0, evicted, loadMs: 0, loadWaitMs: 0, prefetched: 0 };
    const missing: SpliceSource[] = [];
    for (const source of [...target].sort((a, b) => a.posStart - b.posStart)) {
      if (this.chunks.has(source.key)) stats.kept++;
      else missing.push(source);
    }
    const loads = new LoadAhead(missing, stats, (key) => this.takePrefetch(key));
    for (let i = 0; i < missing.length; i++) await this.splice(missing[i], stats, await loads.take(i));
    stats.spliceMs = performance.now() - started;
    return stats;
  }

  /**
   * Makes exactly `target` resident at compact positions: in stored-position order, each chunk moved
   * down to follow the one before (the first stays at 0 when it starts there). A chunk is spliced at
   * its stored positions, which lie at or above everything packed so far, so the move touches it alone.
   * Loose cells must be gone (the question is evaluated after). Every chunk is spliced anew from its
   * blob, so each is rotated once, never by shift after shift.
   */
  async makeResidentCompact(target: readonly SpliceSource[]): Promise<SpliceStats> {
    const started = performance.now();
    if (this.loose) throw new RangeError('drop the loose cells before compacting');
    const evicted = this.chunks.size;
    await this.clear();
    const stats: SpliceStats = { spliceMs: 0, bytesFromCpu: 0, bytesFromDisk: 0, splicedFromCpu: 0, splicedFromDisk: 0, spliced: 0, kept: 0, evicted, loadMs: 0, loadWaitMs: 0, prefetched: 0 };
    let packed = 0;
    const ordered = [...target].sort((a, b) => a.posStart - b.posStart);
    const loads = new LoadAhead(ordered, stats, (key) => this.takePrefetch(key));
    for (const [i, source] of ordered.entries()) {
      await this.splice(source, stats, await loads.take(i));
      const shift = packed - source.posStart;
      if (shift > 0) throw new RangeError(`chunk ${source.key} overlaps the chunks before it`);
      if (shift !== 0) {
        await this.context.shiftRange(source.posStart, source.posEnd, shift);
        this.chunks.get(source.key)!.shift = shift;
      }
      packed += source.posEnd - source.posStart;
    }
    this.resetPositionStats();
    stats.spliceMs = performance.now() - started;
    return stats;
  }

  private async splice(source: SpliceSource, stats: SpliceStats, loaded: { blob: Uint8Array; from: 'cpu' | 'disk' }): Promise<void> {
    this.reserve(source.posEnd - source.posStart, `splice of ${source.key}`);
    const { blob, from } = loaded;
    let info: { posMin: number; posMax: number };
    try {
      info = await this.context.spliceChunk(blob, source.placement?.shift ?? 0, source.placement?.trim ?? 0);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'BAD_BLOB' && source.unreadable) throw source.unreadable((error as Error).message);
      throw error;
    }
    if (info.posMin !== source.posStart || info.posMax !== source.posEnd - 1) {
      await this.context.removeRange(info.posMin, info.posMax + 1);
      throw new StrataError('BLOB_MISMATCH', `The blob of ${source.key} holds positions [${info.posMin}, ${info.posMax}] instead of [${source.posStart}, ${source.posEnd - 1}].`);
    }
    this.chunks.set(source.key, { key: source.key, posStart: source.posStart, posEnd: source.posEnd, shift: 0 });
    this.sawCells(source.posStart, source.posEnd);
    this.changed();
    if (from === 'cpu') {
      stats.bytesFromCpu += blob.byteLength;
      stats.splicedFromCpu++;
    } else {
      stats.bytesFromDisk += blob.byteLength;
      stats.splicedFromDisk++;
    }
    stats.spliced++;
  }

  private sawCells(start: number, end: number): void {
    this.highestPosition = Math.max(this.highestPosition, end - 1);
    this.lowestPosition = Math.min(this.lowestPosition, start);
  }

  /** Empties the GPU tier (a new conversation or document set). */
  async clear(): Promise<void> {
    const { min, max } = await this.context.positionRange();
    if (max >= 0) await this.context.removeRange(Math.max(0, min), max + 1);
    this.chunks.clear();
    this.loose = null;
    this.changed();
  }

  private reserve(tokens: number, what: string): void {
    const after = this.residentTokens + tokens;
    if (after > this.budgetTokens) {
      throw new BudgetViolationError(`${what} would hold ${after} KV cells on the GPU tier, over its budget of ${this.budgetTokens}.`);
    }
  }

  private changed(): void {
    const resident = this.residentTokens;
    this.peak = Math.max(this.peak, resident);
    this.onChange(resident);
  }
}
