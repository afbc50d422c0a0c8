// Every chunk's abstract of a document being read, packed in one Float32Array that grows by doubling:
// scoring the older chunks for each block reads a view of it instead of packing them all again.
export class GrowingAbstracts {
  private data = new Float32Array(0);
  private stride = 0;
  private count = 0;

  constructor(initial: readonly Float32Array[] = []) {
    for (const abstract of initial) this.push(abstract);
  }

  get length(): number {
    return this.count;
  }

  push(abstract: Float32Array): void {
    if (this.count === 0) this.stride = abstract.length;
    if (abstract.length !== this.stride) throw new RangeError(`chunk ${this.count}'s abstract has ${abstract.length} values, chunk 0's has ${this.stride}`);
    if ((this.count + 1) * this.stride > this.data.length) {
      const grown = new Float32Array(Math.max(this.stride * 64, this.data.length * 2));
      grown.set(this.data.subarray(0, this.count * this.stride));
      this.data = grown;
    }
    this.data.set(abstract, this.count * this.stride);
    this.count++;
  }

  /** Chunks [first, first + count), packed as scoreChunks reads them; a view, valid until the next push. */
  view(first: number, count: number): Float32Array {
    if (first < 0 || count < 0 || first + count > this.count) throw new RangeError(`chunks [${first}, ${first + count}) are not all in the ${this.count} packed`);
    return this.data.subarray(first * this.stride, (first + count) * this.stride);
  }
}
