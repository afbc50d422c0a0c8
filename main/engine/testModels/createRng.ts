// Seeded PRNG so generated models and haystacks are reproducible from a seed (sfc32, seeded by
// splitmix32): fast enough to fill hundreds of MB of weights, and the same on every platform.

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /**
   * Fills `out` with approximately normal(0, std) values (the sum of four uniform bytes, so bounded
   * at ±3.5 std) and returns it: 4× faster than normal(), which matters for models of several GB.
   */
  fillNormal(out: Float32Array, std: number): Float32Array;
  /** Returns a shuffled copy of `items`. */
  shuffled<T>(items: readonly T[]): T[];
}

export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) nextU32();

  const uniform = (): number => nextU32() / 4294967296;
  let spare: number | undefined;
  const normal = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = 1 - uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  return {
    uniform,
    int: (n) => Math.floor(uniform() * n),
    normal,
    fillNormal(out, std) {
      // Four bytes: mean 510, variance 4 · (256² − 1) / 12.
      const scale = std / Math.sqrt((4 * (256 * 256 - 1)) / 12);
      for (let i = 0; i < out.length; i++) {
        const r = nextU32();
        out[i] = ((r & 0xff) + ((r >>> 8) & 0xff) + ((r >>> 16) & 0xff) + (r >>> 24) - 510) * scale;
      }
      return out;
    },
    shuffled(items) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(uniform() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
  };
}
