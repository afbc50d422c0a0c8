// The disk tier: every chunk's KV blob, written once into per-document append-only segment files
// (`<root>/<documentKey>/<n>.seg`, n = 0, 1, …). SQLite holds each blob's BlobRef and is the source of
// truth: a blob exists once its catalog row does. Hence the ordering rule this class keeps: `append`
// resolves only after the bytes (and, for a new file, its directory entry) are fsynced, so a row
// written after it never points at bytes a power cut can lose; bytes past the last committed row
// (an interrupted ingest) are garbage, dropped with `truncateTo`.
import { SerialQueue } from '../../SerialQueue.ts';
import { mkdir, open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DisposedError, StrataError } from '../../errors.ts';

/** Where one blob lives: `length` bytes at `offset` of segment file `<segment>.seg`, with their CRC-32. */
export interface BlobRef {
  segment: number;
  offset: number;
  length: number;
  crc32: number;
}

export interface DiskTierOptions {
  /** Folder holding one subfolder per document key. Created if missing. */
  root: string;
  /** Refuse appends that would take the sum of all segment files past this. Default: no limit. */
  budgetBytes?: number | null;
  /** Start a new segment file when the current one would grow past this. Default 256 MiB. */
  segmentBytes?: number;
  /**
   * Writes a blob at the end of an open segment file (the caller fsyncs once after a batch). A seam for
   * fault tests (a disk that fills up or fails half-way); the default is the real write.
   */
  writeBlob?: (handle: FileHandle, blob: Uint8Array) => Promise<void>;
}

/** Writing a blob failed (disk full, I/O error). Nothing of it was kept; every earlier blob is intact. */
export class DiskWriteError extends StrataError {
  readonly errno: string;
  constructor(root: string, cause: unknown) {
    const errno = String((cause as NodeJS.ErrnoException)?.code ?? 'EIO');
    const full = errno === 'ENOSPC' || errno === 'EDQUOT';
    super(
      full ? 'DISK_FULL' : 'DISK_WRITE_FAILED',
      full
        ? `The disk holding Strata's KV cache (${root}) is full (${errno}). Nothing was lost: free some space or lower the disk budget in Settings, then ask again.`
        : `Writing Strata's KV cache to ${root} failed (${errno}: ${(cause as Error)?.message ?? String(cause)}). Nothing was lost; check the disk and ask again.`,
      { cause },
    );
    this.name = 'DiskWriteError';
    this.errno = errno;
  }
}

async function writeBlobToFile(handle: FileHandle, blob: Uint8Array): Promise<void> {
  let written = 0;
  while (written < blob.byteLength) written += (await handle.write(blob, written, blob.byteLength - written, null)).bytesWritten;
}

/** A blob failed its length or checksum check, or its segment file is missing or short. */
export class BlobCorruptError extends StrataError {
  readonly documentKey: string;
  readonly ref: BlobRef;
  constructor(documentKey: string, ref: BlobRef, detail: string) {
    super(
      'BLOB_CORRUPT',
      `The stored KV cache of ${documentKey} is damaged (segment ${ref.segment}, offset ${ref.offset}, ${ref.length} bytes): ${detail}. ` +
        'Strata will have to read the document again to rebuild it.',
    );
    this.name = 'BlobCorruptError';
    this.documentKey = documentKey;
    this.ref = ref;
  }
}

/** An append would take the disk tier past its byte budget. Nothing was written. */
export class DiskBudgetError extends StrataError {
  readonly requestedBytes: number;
  readonly usedBytes: number;
  readonly budgetBytes: number;
  constructor(requestedBytes: number, usedBytes: number, budgetBytes: number) {
    super(
      'DISK_BUDGET_EXCEEDED',
      `Storing ${formatBytes(requestedBytes)} more of KV cache would take the disk cache to ${formatBytes(usedBytes + requestedBytes)}, ` +
        `over its budget of ${formatBytes(budgetBytes)} (${formatBytes(usedBytes)} in use). ` +
        'Remove documents you no longer chat with, or raise the disk cache budget in Settings.',
    );
    this.name = 'DiskBudgetError';
    this.requestedBytes = requestedBytes;
    this.usedBytes = usedBytes;
    this.budgetBytes = budgetBytes;
  }
}

/** The position just past a blob: what `truncateTo` takes to keep everything up to and including it. */
export function blobEnd(ref: BlobRef): { segment: number; offset: number } {
  return { segment: ref.segment, offset: ref.offset + ref.length };
}

const DEFAULT_SEGMENT_BYTES = 256 * 2 ** 20;
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SEGMENT_PATTERN = /^(0|[1-9][0-9]{0,8})\.seg$/;

interface DocumentFiles {
  /** Size in bytes of each segment file, by segment number. */
  sizes: Map<number, number>;
  last: number;
}

export class DiskTier {
  readonly root: string;
  private readonly segmentBytes: number;
  private readonly writeBlob: (handle: FileHandle, blob: Uint8Array) => Promise<void>;
  private budget: number | null;
  private readonly documents: Map<string, DocumentFiles>;
  private used: number;
  private disposed = false;
  // Appends, truncations and removals run one at a time: offsets and the budget check depend on the
  // sizes the previous one left. Reads of committed blobs do not wait.
  private readonly queue = new SerialQueue();

  private constructor(root: string, options: DiskTierOptions, documents: Map<string, DocumentFiles>) {
    this.root = root;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.writeBlob = options.writeBlob ?? writeBlobToFile;
    this.budget = options.budgetBytes ?? null;
    this.documents = documents;
    this.used = 0;
    for (const doc of documents.values()) for (const size of doc.sizes.values()) this.used += size;
  }

  /** Opens (creating if needed) the tier at `options.root` and measures what is already there. */
  static async open(options: DiskTierOptions): Promise<DiskTier> {
    if (options.segmentBytes !== undefined && (!Number.isSafeInteger(options.segmentBytes) || options.segmentBytes < 1)) {
      throw new RangeError(`segmentBytes must be a positive integer, got ${options.segmentBytes}`);
    }
    if (options.budgetBytes != null) checkBudget(options.budgetBytes);
    await mkdir(options.root, { recursive: true });
    const documents = new Map<string, DocumentFiles>();
    for (const entry of await readdir(options.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !KEY_PATTERN.test(entry.name)) continue;
      documents.set(entry.name, await scanDocument(join(options.root, entry.name)));
    }
    return new DiskTier(options.root, options, documents);
  }

  /** Bytes in all segment files (including any garbage not yet truncated away). */
  usedBytes(): number {
    this.assertOpen();
    return this.used;
  }

  documentBytes(documentKey: string): number {
    this.assertOpen();
    let total = 0;
    for (const size of this.documents.get(checkKey(documentKey))?.sizes.values() ?? []) total += size;
    return total;
  }

  /** Keys of the documents with a folder here: for sweeping ones the catalog no longer knows. */
  listDocuments(): string[] {
    this.assertOpen();
    return [...this.documents.keys()];
  }

  get budgetBytes(): number | null {
    return this.budget;
  }

  /** Changes the budget for later appends (null: no limit). Never deletes anything. */
  setBudget(budgetBytes: number | null): void {
    this.assertOpen();
    this.budget = budgetBytes === null ? null : checkBudget(budgetBytes);
  }

  /**
   * Appends `blob` to the document's current segment (a new one when it would outgrow `segmentBytes`)
   * and resolves once the bytes are fsynced. Throws DiskBudgetError before writing anything when the
   * budget would be exceeded.
   */
  append(documentKey: string, blob: Uint8Array): Promise<BlobRef> {
    return this.appendMany(documentKey, [blob]).then((refs) => refs[0]);
  }

  /**
   * Appends blobs in order, as `append` does for one, with one fsync per segment file touched: an
   * ingest's write-behind queue hands over everything that piled up while a block was evaluated. All
   * or nothing: DiskBudgetError before any byte when they would not all fit; on a write error every
   * blob of the call is removed again.
   */
  appendMany(documentKey: string, blobs: readonly Uint8Array[]): Promise<BlobRef[]> {
    this.assertOpen();
    checkKey(documentKey);
    for (const blob of blobs) if (!(blob instanceof Uint8Array)) throw new TypeError('blob must be a Uint8Array');
    return this.serial(async () => {
      this.assertOpen();
      const total = blobs.reduce((sum, blob) => sum + blob.byteLength, 0);
      if (this.budget !== null && this.used + total > this.budget) throw new DiskBudgetError(total, this.used, this.budget);
      const dir = join(this.root, documentKey);
      let doc = this.documents.get(documentKey);
      if (doc === undefined) {
        const created = await mkdir(dir, { recursive: true });
        if (created !== undefined) await syncDirectory(this.root);
        doc = { sizes: new Map(), last: 0 };
        this.documents.set(documentKey, doc);
      }
      const refs: BlobRef[] = [];
      // Where each touched segment started, to cut a failed call's bytes off again.
      const startSizes = new Map<number, number>();
      const current: { file: { segment: number; handle: FileHandle; size: number } | null } = { file: null };
      let newFile = false;
      const closeCurrent = async (sync: boolean) => {
        const file = current.file;
        if (!file) return;
        current.file = null;
        try {
          if (sync) await file.handle.sync();
        } finally {
          await file.handle.close();
        }
      };
      try {
        for (const blob of blobs) {
          const length = blob.byteLength;
          let segment = current.file?.segment ?? doc.last;
          const currentSize = current.file?.size ?? doc.sizes.get(segment) ?? 0;
          if (currentSize > 0 && currentSize + length > this.segmentBytes) segment++;
          if (current.file?.segment !== segment) {
            await closeCurrent(true);
            if (!doc.sizes.has(segment)) newFile = true;
            const handle = await open(join(dir, `${segment}.seg`), 'a');
            // The file's real size, not the cached one: a crashed process may have left bytes we have not seen.
            const size = (await handle.stat()).size;
            this.used += size - (doc.sizes.get(segment) ?? 0);
            doc.sizes.set(segment, size);
            doc.last = segment;
            if (!startSizes.has(segment)) startSizes.set(segment, size);
            current.file = { segment, handle, size };
          }
          const at = current.file!;
          await this.writeBlob(at.handle, blob);
          refs.push({ segment, offset: at.size, length, crc32: crc32(blob) });
          at.size += length;
          doc.sizes.set(segment, at.size);
          this.used += length;
        }
        await closeCurrent(true);
      } catch (error) {
        // Disk full or I/O error: leave no blob of this call behind.
        await closeCurrent(false).catch(() => {});
        for (const [segment, size] of startSizes) {
          const now = doc.sizes.get(segment) ?? size;
          await truncateFile(join(dir, `${segment}.seg`), size).catch(() => {});
          doc.sizes.set(segment, size);
          this.used -= now - size;
        }
        throw new DiskWriteError(this.root, error);
      }
      if (newFile) await syncDirectory(dir);
      return refs;
    });
  }

  /** Reads one blob, checking its length and CRC-32. Throws BlobCorruptError when either is wrong. */
  async read(documentKey: string, ref: BlobRef): Promise<Uint8Array> {
    this.assertOpen();
    checkKey(documentKey);
    checkRef(ref);
    let handle: FileHandle;
    try {
      handle = await open(join(this.root, documentKey, `${ref.segment}.seg`), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobCorruptError(documentKey, ref, 'its segment file is missing');
      throw error;
    }
    try {
      const out = new Uint8Array(ref.length);
      let got = 0;
      while (got < ref.length) {
        const { bytesRead } = await handle.read(out, got, ref.length - got, ref.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < ref.length) throw new BlobCorruptError(documentKey, ref, `only ${got} of its ${ref.length} bytes are in the segment file (it was cut short)`);
      const crc = crc32(out);
      if (crc !== ref.crc32) throw new BlobCorruptError(documentKey, ref, `checksum ${hex(crc)} does not match the recorded ${hex(ref.crc32)}`);
      return out;
    } finally {
      await handle.close();
    }
  }

  /**
   * Drops every byte after `offset` in `segment` and every later segment: what an interrupted ingest
   * appended after its last committed blob. Pass `blobEnd(lastCommittedRef)`, or (0, 0) when nothing
   * was committed. Throws BlobCorruptError when the files are shorter than that (committed bytes lost).
   */
  truncateTo(documentKey: string, segment: number, offset: number): Promise<void> {
    this.assertOpen();
    checkKey(documentKey);
    if (!Number.isSafeInteger(segment) || segment < 0 || !Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`segment and offset must be non-negative integers, got ${segment}, ${offset}`);
    }
    return this.serial(async () => {
      this.assertOpen();
      await this.truncateNow(documentKey, segment, offset);
    });
  }

  private async truncateNow(documentKey: string, segment: number, offset: number): Promise<void> {
    const dir = join(this.root, documentKey);
    const doc = this.documents.get(documentKey);
    const kept = doc?.sizes.get(segment);
    if (offset > 0 && (kept === undefined || kept < offset)) {
      throw new BlobCorruptError(documentKey, { segment, offset, length: 0, crc32: 0 }, `the segment file holds only ${kept ?? 0} bytes, not the ${offset} the catalog has committed`);
    }
    if (doc === undefined) return;
    let removed = false;
    for (const [n, size] of [...doc.sizes]) {
      if (n <= segment) continue;
      await unlink(join(dir, `${n}.seg`));
      doc.sizes.delete(n);
      this.used -= size;
      removed = true;
    }
    if (kept !== undefined && kept > offset) {
      const handle = await open(join(dir, `${segment}.seg`), 'r+');
      try {
        await handle.truncate(offset);
        await handle.sync();
      } finally {
        await handle.close();
      }
      doc.sizes.set(segment, offset);
      this.used -= kept - offset;
    }
    if (removed) await syncDirectory(dir);
    doc.last = Math.max(0, ...doc.sizes.keys());
  }

  /** Deletes the document's folder and everything in it. */
  removeDocument(documentKey: string): Promise<void> {
    this.assertOpen();
    checkKey(documentKey);
    return this.serial(async () => {
      this.assertOpen();
      await rm(join(this.root, documentKey), { recursive: true, force: true });
      for (const size of this.documents.get(documentKey)?.sizes.values() ?? []) this.used -= size;
      this.documents.delete(documentKey);
    });
  }

  /**
   * The start-up sweep: deletes every document folder `owned` does not name, and in the owned ones the
   * bytes past the end of their last committed blob (null: nothing committed) and any file that is not
   * a segment. Committed bytes are never touched; a folder shorter than its rows is left for read-time
   * checks (BlobCorruptError) to find. Returns what was freed.
   */
  sweep(owned: ReadonlyMap<string, { segment: number; offset: number } | null>): Promise<{ removedKeys: string[]; freedBytes: number }> {
    this.assertOpen();
    return this.serial(async () => {
      const before = this.used;
      const removedKeys: string[] = [];
      for (const entry of await readdir(this.root, { withFileTypes: true })) {
        const path = join(this.root, entry.name);
        if (entry.isDirectory() && KEY_PATTERN.test(entry.name) && owned.has(entry.name)) {
          for (const name of await readdir(path)) if (!SEGMENT_PATTERN.test(name)) await rm(join(path, name), { recursive: true, force: true });
          continue;
        }
        await rm(path, { recursive: true, force: true });
        for (const size of this.documents.get(entry.name)?.sizes.values() ?? []) this.used -= size;
        this.documents.delete(entry.name);
        removedKeys.push(entry.name);
      }
      for (const [key, end] of owned) {
        const doc = this.documents.get(key);
        if (!doc) continue;
        const target = end ?? { segment: 0, offset: 0 };
        const kept = doc.sizes.get(target.segment) ?? 0;
        if (target.offset > kept) continue;
        await this.truncateNow(key, target.segment, target.offset);
      }
      return { removedKeys, freedBytes: before - this.used };
    });
  }

  /** Idempotent. Operations already queued finish; new calls throw DisposedError. */
  dispose(): void {
    this.disposed = true;
  }

  private assertOpen(): void {
    if (this.disposed) throw new DisposedError('DiskTier');
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    return this.queue.run(operation);
  }
}

async function truncateFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

async function scanDocument(dir: string): Promise<DocumentFiles> {
  const doc: DocumentFiles = { sizes: new Map(), last: 0 };
  for (const name of await readdir(dir)) {
    const match = SEGMENT_PATTERN.exec(name);
    if (!match) continue;
    const n = Number(match[1]);
    doc.sizes.set(n, (await stat(join(dir, name))).size);
    doc.last = Math.max(doc.last, n);
  }
  return doc;
}

/** Makes a new directory entry durable. Windows cannot open a directory for fsync; NTFS journals it. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function checkKey(documentKey: string): string {
  if (typeof documentKey !== 'string' || !KEY_PATTERN.test(documentKey)) {
    throw new RangeError(`A document key must be 1-128 letters, digits, '.', '_' or '-', not starting with '.', '_' or '-'; got ${JSON.stringify(documentKey)}`);
  }
  return documentKey;
}

function checkRef(ref: BlobRef): void {
  const ok =
    Number.isSafeInteger(ref?.segment) &&
    ref.segment >= 0 &&
    Number.isSafeInteger(ref.offset) &&
    ref.offset >= 0 &&
    Number.isSafeInteger(ref.length) &&
    ref.length >= 0 &&
    Number.isInteger(ref.crc32) &&
    ref.crc32 >= 0 &&
    ref.crc32 < 2 ** 32;
  if (!ok) throw new RangeError(`Not a valid blob reference: ${JSON.stringify(ref)}`);
}

function checkBudget(budgetBytes: number): number {
  if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 0) throw new RangeError(`budgetBytes must be a non-negative integer, got ${budgetBytes}`);
  return budgetBytes;
}

function hex(crc: number): string {
  return `0x${crc.toString(16).padStart(8, '0')}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 2 ** 20) return `${bytes} bytes`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
