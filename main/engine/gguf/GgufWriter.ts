// GGUF v3 writer for the generated test models (no weights can be downloaded here; see docs/NEEDLE_MODEL.md).
// Tensors are streamed one by one, in chunks, so a model of several hundred MB never sits in memory;
// a tensor's data may be a function that yields its row-major values chunk by chunk.
// Assumes a little-endian host (x64, arm64): typed-array bytes are written as they lie in memory.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { f32ArrayToF16 } from './f32ToF16.ts';

export { f32ToF16, f32ArrayToF16, f16ToF32 } from './f32ToF16.ts';

export type GgufNumberType = 'u32' | 'i32' | 'f32';

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: GgufNumberType; values: ArrayLike<number> }
  | { type: 'array'; itemType: 'bool'; values: readonly boolean[] }
  | { type: 'array'; itemType: 'string'; values: readonly string[] };

/** Constructors that keep metadata literals short: `meta.u32(2)`, `meta.strings(tokens)`. */
export const meta = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  u32s: (values: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'u32', values }),
  i32s: (values: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'i32', values }),
  f32s: (values: ArrayLike<number>): GgufValue => ({ type: 'array', itemType: 'f32', values }),
  bools: (values: readonly boolean[]): GgufValue => ({ type: 'array', itemType: 'bool', values }),
  strings: (values: readonly string[]): GgufValue => ({ type: 'array', itemType: 'string', values }),
};

export type GgufTensorType = 'f32' | 'f16';

export interface GgufTensor {
  name: string;
  /** Row-major shape, outermost first: a weight that maps n_embd to n_out is `[n_out, n_embd]`. */
  shape: readonly number[];
  type: GgufTensorType;
  /** All values in row-major order, or a function yielding them in consecutive chunks (called once). */
  data: Float32Array | (() => Iterable<Float32Array>);
}

export interface GgufModel {
  /** Written in insertion order; `general.alignment` is added (it must be 32 if given). */
  metadata: Readonly<Record<string, GgufValue>>;
  tensors: readonly GgufTensor[];
}

export const GGUF_ALIGNMENT_BYTES = 32;

const valueTypeIds = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
const tensorTypeIds: Record<GgufTensorType, number> = { f32: 0, f16: 1 };
const tensorElementBytes: Record<GgufTensorType, number> = { f32: 4, f16: 2 };
const flushThresholdBytes = 4 << 20;

/** Writes `model` to `path` (replacing it) and returns the file size. */
export async function writeGguf(path: string, model: GgufModel): Promise<{ sizeBytes: number }> {
  const metadata = withAlignment(model.metadata);
  const infos = model.tensors.map(checkTensor);

  const header = new ByteBuilder();
  header.raw(Buffer.from('GGUF', 'ascii'));
  header.u32(3);
  header.u64(infos.length);
  header.u64(Object.keys(metadata).length);
  for (const [key, value] of Object.entries(metadata)) {
    header.string(key);
    writeValue(header, key, value);
  }
  let dataOffsetBytes = 0;
  for (const info of infos) {
    header.string(info.tensor.name);
    header.u32(info.tensor.shape.length);
    // GGUF lists dimensions innermost first.
    for (const dim of [...info.tensor.shape].reverse()) header.u64(dim);
    header.u32(tensorTypeIds[info.tensor.type]);
    header.u64(dataOffsetBytes);
    dataOffsetBytes = alignUp(dataOffsetBytes + info.sizeBytes);
  }
  header.raw(Buffer.alloc(alignUp(header.length) - header.length));

  const file = await open(path, 'w');
  try {
    const out = new ChunkedFileWriter(file);
    await out.write(header.toBuffer());
    for (const info of infos) {
      await writeTensorData(out, info.tensor, info.elementCount);
      await out.write(Buffer.alloc(alignUp(info.sizeBytes) - info.sizeBytes));
    }
    await out.flush();
    return { sizeBytes: out.bytesWritten };
  } finally {
    await file.close();
  }
}

function withAlignment(metadata: Readonly<Record<string, GgufValue>>): Record<string, GgufValue> {
  const given = metadata['general.alignment'];
  if (given !== undefined && (given.type !== 'u32' || given.value !== GGUF_ALIGNMENT_BYTES)) {
    throw new RangeError(`general.alignment must be u32 ${GGUF_ALIGNMENT_BYTES} (the writer aligns to it)`);
  }
  return { ...metadata, 'general.alignment': meta.u32(GGUF_ALIGNMENT_BYTES) };
}

function checkTensor(tensor: GgufTensor): { tensor: GgufTensor; elementCount: number; sizeBytes: number } {
  if (tensor.name.length === 0) throw new RangeError('tensor name is empty');
  if (tensor.shape.length < 1 || tensor.shape.length > 4) {
    throw new RangeError(`tensor ${tensor.name}: ${tensor.shape.length} dimensions (GGUF allows 1 to 4)`);
  }
  for (const dim of tensor.shape) {
    if (!Number.isSafeInteger(dim) || dim < 1) throw new RangeError(`tensor ${tensor.name}: bad dimension ${dim}`);
  }
  if (!(tensor.type in tensorTypeIds)) throw new RangeError(`tensor ${tensor.name}: unknown type ${tensor.type}`);
  const elementCount = tensor.shape.reduce((a, b) => a * b, 1);
  if (tensor.data instanceof Float32Array && tensor.data.length !== elementCount) {
    throw new RangeError(`tensor ${tensor.name}: ${tensor.data.length} values for shape [${tensor.shape}]`);
  }
  return { tensor, elementCount, sizeBytes: elementCount * tensorElementBytes[tensor.type] };
}

async function writeTensorData(out: ChunkedFileWriter, tensor: GgufTensor, elementCount: number): Promise<void> {
  const chunks = tensor.data instanceof Float32Array ? [tensor.data] : tensor.data();
  let written = 0;
  for (const chunk of chunks) {
    written += chunk.length;
    if (written > elementCount) break;
    // f32 chunks are copied: the producer may reuse its buffer for the next chunk.
    const bytes = tensor.type === 'f16'
      ? Buffer.from(f32ArrayToF16(chunk).buffer)
      : Buffer.from(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    await out.write(bytes);
  }
  if (written !== elementCount) {
    throw new RangeError(`tensor ${tensor.name}: data yielded ${written}+ values for shape [${tensor.shape}]`);
  }
}

function writeValue(out: ByteBuilder, key: string, value: GgufValue): void {
  out.u32(valueTypeIds[value.type]);
  if (value.type === 'array') {
    out.u32(valueTypeIds[value.itemType]);
    out.u64(value.values.length);
    for (let i = 0; i < value.values.length; i++) {
      writeScalar(out, key, value.itemType, value.values[i]!);
    }
  } else {
    writeScalar(out, key, value.type, value.value);
  }
}

function writeScalar(out: ByteBuilder, key: string, type: GgufNumberType | 'bool' | 'string', value: unknown): void {
  if (type === 'string') {
    if (typeof value !== 'string') throw new TypeError(`${key}: expected a string`);
    out.string(value);
  } else if (type === 'bool') {
    if (typeof value !== 'boolean') throw new TypeError(`${key}: expected a boolean`);
    out.u8(value ? 1 : 0);
  } else {
    if (typeof value !== 'number') throw new TypeError(`${key}: expected a number`);
    if (type === 'f32') {
      out.f32(value);
    } else {
      const [min, max] = type === 'u32' ? [0, 0xffffffff] : [-0x80000000, 0x7fffffff];
      if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${key}: ${value} is not a ${type}`);
      if (type === 'u32') out.u32(value);
      else out.i32(value);
    }
  }
}

function alignUp(offset: number): number {
  return Math.ceil(offset / GGUF_ALIGNMENT_BYTES) * GGUF_ALIGNMENT_BYTES;
}

/** Growable little-endian byte buffer for the header (metadata can hold a whole vocabulary). */
class ByteBuilder {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): number {
    if (this.length + bytes > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  // Reserve before touching this.buffer: reserving may replace it.
  u8(value: number): void { const at = this.reserve(1); this.buffer.writeUInt8(value, at); }
  u32(value: number): void { const at = this.reserve(4); this.buffer.writeUInt32LE(value, at); }
  i32(value: number): void { const at = this.reserve(4); this.buffer.writeInt32LE(value, at); }
  f32(value: number): void { const at = this.reserve(4); this.buffer.writeFloatLE(value, at); }
  u64(value: number): void { const at = this.reserve(8); this.buffer.writeBigUInt64LE(BigInt(value), at); }
  raw(bytes: Uint8Array): void { const at = this.reserve(bytes.length); this.buffer.set(bytes, at); }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.raw(bytes);
  }
  toBuffer(): Buffer { return this.buffer.subarray(0, this.length); }
}

/** Coalesces small writes (1-D tensors, padding) into large ones. */
class ChunkedFileWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytesWritten = 0;
  private readonly file: FileHandle;

  constructor(file: FileHandle) {
    this.file = file;
  }

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= flushThresholdBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.length - done, this.bytesWritten);
      done += bytesWritten;
      this.bytesWritten += bytesWritten;
    }
  }
}
