import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { f16ToF32, f32ArrayToF16, f32ToF16, meta, writeGguf } from './GgufWriter.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-gguf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('f32ToF16', () => {
  test('known values, rounding to nearest even, overflow and subnormals', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff],
      [65519, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [2 ** -14, 0x0400],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [value, bits] of cases) assert.equal(f32ToF16(value), bits, `f32ToF16(${value})`);
    const nan = f32ToF16(NaN);
    assert.ok((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, 'NaN stays NaN');
  });

  test('every finite f16 survives f16 -> f32 -> f16', () => {
    const values = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) values[bits] = f16ToF32(bits);
    const back = f32ArrayToF16(values);
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue;
      assert.equal(back[bits], bits, `bits 0x${bits.toString(16)}`);
    }
  });
});

describe('writeGguf', () => {
  test('writes the exact GGUF v3 bytes for a tiny file', async () => {
    const path = join(dir, 'tiny.gguf');
    const { sizeBytes } = await writeGguf(path, {
      metadata: { a: meta.u32(7) },
      tensors: [{ name: 'w', shape: [3], type: 'f32', data: new Float32Array([1, 2, 3]) }],
    });
    const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
    const u64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
    const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
    const header = Buffer.concat([
      Buffer.from('GGUF'), u32(3), u64(1), u64(2),
      str('a'), u32(4), u32(7),
      str('general.alignment'), u32(4), u32(32),
      str('w'), u32(1), u64(3), u32(0), u64(0),
    ]);
    const padTo32 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((32 - (b.length % 32)) % 32)]);
    const expected = Buffer.concat([padTo32(header), padTo32(Buffer.from(new Float32Array([1, 2, 3]).buffer))]);
    const actual = await readFile(path);
    assert.equal(sizeBytes, expected.length);
    assert.deepEqual(actual, expected);
  });

  test('node-llama-cpp reads metadata of every type and aligned tensors streamed in chunks', async () => {
    const path = join(dir, 'types.gguf');
    const big = (): Iterable<Float32Array> => (function* () {
      // Reuses one buffer between chunks, as large generators do.
      const chunk = new Float32Array(1000);
      for (let c = 0; c < 6; c++) {
        for (let i = 0; i < chunk.length; i++) chunk[i] = c * 1000 + i;
        yield c < 5 ? chunk : chunk.subarray(0, 5);
      }
    })();
    await writeGguf(path, {
      metadata: {
        'general.architecture': meta.string('llama'),
        'test.u32': meta.u32(4000000000),
        'test.i32': meta.i32(-5),
        'test.f32': meta.f32(0.5),
        'test.bool': meta.bool(true),
        'test.strings': meta.strings(['▁x', 'é', '']),
        'test.i32s': meta.i32s(new Int32Array([1, -2, 3])),
        'test.f32s': meta.f32s([0.25, -1]),
        'test.bools': meta.bools([false, true]),
      },
      tensors: [
        { name: 'odd', shape: [1, 3], type: 'f16', data: new Float32Array([1, -2, 0.5]) },
        { name: 'big', shape: [5, 1001], type: 'f32', data: big },
        { name: 'half', shape: [2, 2], type: 'f16', data: new Float32Array([65504, 1e-8, -0, 3]) },
      ],
    });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    assert.equal(info.version, 3);
    const m = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.deepEqual(m['test'], {
      u32: 4000000000, i32: -5, f32: 0.5, bool: true, strings: ['▁x', 'é', ''], i32s: [1, -2, 3], f32s: [0.25, -1], bools: [false, true],
    });
    assert.equal(m['general']!['alignment'], 32);
    const tensors = info.tensorInfo ?? [];
    assert.deepEqual(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType]), [
      ['odd', [3, 1], 1], ['big', [1001, 5], 0], ['half', [2, 2], 1],
    ]);
    const bytes = await readFile(path);
    for (const t of tensors) assert.equal(Number(t.fileOffset) % 32, 0, `${t.name} is aligned`);
    const at = (name: string): number => Number(tensors.find((t) => t.name === name)!.fileOffset);
    assert.deepEqual([0, 1, 2].map((i) => f16ToF32(bytes.readUInt16LE(at('odd') + 2 * i))), [1, -2, 0.5]);
    const bigValues = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at('big'), bytes.byteOffset + at('big') + 5005 * 4));
    assert.equal(bigValues[0], 0);
    assert.equal(bigValues[4999], 4999);
    assert.equal(bigValues[5004], 5004);
    assert.deepEqual([0, 1, 2, 3].map((i) => bytes.readUInt16LE(at('half') + 2 * i)), [0x7bff, 0x0000, 0x8000, 0x4200]);
    assert.equal(bytes.length % 32, 0);
  });

  test('holds metadata larger than its initial header buffer', async () => {
    const path = join(dir, 'vocab.gguf');
    const tokens = Array.from({ length: 50000 }, (_, i) => `▁token${i}`);
    await writeGguf(path, {
      metadata: { 'tokenizer.ggml.tokens': meta.strings(tokens), 'test.after': meta.u32(42) },
      tensors: [{ name: 'w', shape: [1], type: 'f32', data: new Float32Array([7]) }],
    });
    const info = await readGgufFileInfo(path, { logWarnings: false });
    const m = info.metadata as unknown as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(m['tokenizer']!['ggml']!['tokens'], tokens);
    assert.equal(m['test']!['after'], 42);
  });

  test('rejects data that does not match the shape, and a foreign alignment', async () => {
    const path = join(dir, 'bad.gguf');
    await assert.rejects(
      writeGguf(path, { metadata: {}, tensors: [{ name: 'w', shape: [2, 2], type: 'f32', data: new Float32Array(3) }] }),
      RangeError,
    );
    await assert.rejects(
      writeGguf(path, { metadata: {}, tensors: [{ name: 'w', shape: [2, 2], type: 'f32', data: () => [new Float32Array(5)] }] }),
      /yielded 5\+ values/,
    );
    await assert.rejects(writeGguf(path, { metadata: { 'general.alignment': meta.u32(64) }, tensors: [] }), RangeError);
    await assert.rejects(writeGguf(path, { metadata: { n: meta.u32(-1) }, tensors: [] }), RangeError);
  });
});
