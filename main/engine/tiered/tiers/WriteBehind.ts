// An ingest's disk writes, behind its decode. Chunks queue here while the next block is evaluated; one
// flush appends every queued blob (DiskTier.appendMany: one fsync) and only then commits their catalog
// rows, so a row never points at bytes a power cut can lose, and an ingest killed half-way resumes from
// its last committed chunk as before. The queue is bounded in bytes: past that the producer waits, so a
// disk slower than the decode slows the read down instead of filling RAM.
import type { KvChunk } from '../../../catalog/KvCatalog.ts';
import type { BlobRef, DiskTier } from './DiskTier.ts';

/** A chunk whose blob is queued or being written: its `ref` is filled in once the blob is durable. */
export type PendingChunk = Omit<KvChunk, 'ref'> & { ref: BlobRef | null };

interface Queued {
  key: string;
  chunk: PendingChunk;
  blob: Uint8Array;
}

export interface WriteBehindOptions {
  disk: DiskTier;
  documentKey: string;
  maxQueuedBytes: number;
  /** Writes the catalog rows of chunks whose blobs are durable, in order, in one transaction. */
  commit: (chunks: KvChunk[]) => void;
}

export class WriteBehind {
  private readonly options: WriteBehindOptions;
  private queued: Queued[] = [];
  /** Blobs not yet durable (queued or in flight), by chunk key: a splice may need one before its row exists. */
  private readonly undurable = new Map<string, Uint8Array>();
  private undurableBytes = 0;
  private flushing: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  /** Wall time of the flushes (mostly hidden behind decodes) and the time the producer waited for them. */
  writeMs = 0;
  waitMs = 0;

  constructor(options: WriteBehindOptions) {
    this.options = options;
  }

  /** The blob of a chunk whose write has not landed yet. */
  blobOf(key: string): Uint8Array | undefined {
    return this.undurable.get(key);
  }

  /** Queues a chunk; waits only while more than maxQueuedBytes are not yet durable. Throws an earlier flush's error. */
  async add(key: string, chunk: PendingChunk, blob: Uint8Array): Promise<void> {
    this.throwIfFailed();
    this.queued.push({ key, chunk, blob });
    this.undurable.set(key, blob);
    this.undurableBytes += blob.byteLength;
    this.kick();
    const started = performance.now();
    while (this.undurableBytes > this.options.maxQueuedBytes && this.flushing) await this.flushing;
    this.waitMs += performance.now() - started;
    this.throwIfFailed();
  }

  /** Waits until everything queued is durable and committed; throws the first write or commit error. */
  async drain(): Promise<void> {
    const started = performance.now();
    while (this.flushing) await this.flushing;
    this.waitMs += performance.now() - started;
    this.throwIfFailed();
  }

  private kick(): void {
    if (this.flushing || this.queued.length === 0 || this.failure) return;
    const batch = this.queued;
    this.queued = [];
    this.flushing = this.flush(batch).finally(() => {
      this.flushing = null;
      this.kick();
    });
  }

  private async flush(batch: Queued[]): Promise<void> {
    const started = performance.now();
    try {
      const refs = await this.options.disk.appendMany(
        this.options.documentKey,
        batch.map((q) => q.blob),
      );
      batch.forEach((q, i) => (q.chunk.ref = refs[i]));
      this.options.commit(batch.map((q) => q.chunk as KvChunk));
    } catch (error) {
      // Nothing after a failed flush is written: the ingest stops and resumes from its committed chunks.
      this.failure ??= { error };
      batch.push(...this.queued);
      this.queued = [];
    } finally {
      for (const q of batch) {
        if (this.undurable.delete(q.key)) this.undurableBytes -= q.blob.byteLength;
      }
      this.writeMs += performance.now() - started;
    }
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
