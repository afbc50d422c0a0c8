// The CPU tier: chunk KV blobs in RAM, least recently used first out, within a byte budget. A miss
// costs a disk read (DiskTier), so this only has to be a cache: it never owns the only copy.
import { DisposedError } from '../../errors.ts';

export interface CpuTierStats {
  bytes: number;
  budgetBytes: number;
  entries: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class CpuTier {
  // A Map iterates in insertion order: the first key is the least recently used one.
  private entries: Map<string, Uint8Array> | null = new Map();
  private bytes = 0;
  private budgetBytes: number;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(options: { budgetBytes: number }) {
    this.budgetBytes = checkBudget(options.budgetBytes);
  }

  /** The blob, refreshed as most recently used; undefined on a miss. Do not mutate it: it is shared. */
  get(key: string): Uint8Array | undefined {
    const entries = this.map;
    const blob = entries.get(key);
    if (blob === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    entries.delete(key);
    entries.set(key, blob);
    return blob;
  }

  /**
   * Caches `blob` (by reference, not copied) as the most recently used entry, evicting least recently
   * used ones until it fits. A blob larger than the whole budget is not cached (and any older blob
   * under that key is dropped): returns false.
   */
  put(key: string, blob: Uint8Array): boolean {
    const entries = this.map;
    this.remove(key);
    if (blob.byteLength > this.budgetBytes) return false;
    this.evictDownTo(this.budgetBytes - blob.byteLength);
    entries.set(key, blob);
    this.bytes += blob.byteLength;
    return true;
  }

  /** Whether the key is cached; does not count as a hit or refresh recency. */
  has(key: string): boolean {
    return this.map.has(key);
  }

  delete(key: string): boolean {
    return this.remove(key);
  }

  /** Drops every entry; the counters are kept. */
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  /** Changes the budget, evicting least recently used entries down to it. */
  setBudget(budgetBytes: number): void {
    if (this.entries === null) throw new DisposedError('CpuTier');
    this.budgetBytes = checkBudget(budgetBytes);
    this.evictDownTo(this.budgetBytes);
  }

  stats(): CpuTierStats {
    return {
      bytes: this.bytes,
      budgetBytes: this.budgetBytes,
      entries: this.map.size,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
    };
  }

  dispose(): void {
    this.entries?.clear();
    this.entries = null;
    this.bytes = 0;
  }

  private get map(): Map<string, Uint8Array> {
    if (this.entries === null) throw new DisposedError('CpuTier');
    return this.entries;
  }

  private remove(key: string): boolean {
    const entries = this.map;
    const old = entries.get(key);
    if (old === undefined) return false;
    entries.delete(key);
    this.bytes -= old.byteLength;
    return true;
  }

  private evictDownTo(targetBytes: number): void {
    const entries = this.map;
    for (const [key, blob] of entries) {
      if (this.bytes <= targetBytes) break;
      entries.delete(key);
      this.bytes -= blob.byteLength;
      this.evictions++;
    }
  }
}

function checkBudget(budgetBytes: number): number {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) throw new RangeError(`budgetBytes must be a non-negative integer, got ${budgetBytes}`);
  return budgetBytes;
}
