// Argument checks before anything crosses into C++: TypeError for a wrong kind, RangeError for a
// wrong value, as better-sqlite3 does.

export const INT32_MAX = 2 ** 31 - 1;

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export function checkRange(start: number, end: number): void {
  checkInteger(start, 'start', 0, INT32_MAX);
  checkInteger(end, 'end', 0, INT32_MAX);
  if (start >= end) throw new RangeError(`the range [start, end) must have start < end, got [${start}, ${end})`);
}

export function toInt32Array(values: Int32Array | readonly number[], name: string): Int32Array {
  if (values instanceof Int32Array) return values;
  if (!Array.isArray(values)) throw new TypeError(`${name} must be an Int32Array or an array of integers`);
  const array = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value: unknown = values[i];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value > INT32_MAX) {
      throw new RangeError(`${name}[${i}] must be an int32, got ${String(value)}`);
    }
    array[i] = value;
  }
  return array;
}

