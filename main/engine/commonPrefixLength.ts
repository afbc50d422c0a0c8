/** The leading tokens two sequences share. */
export function commonPrefix<T extends number>(a: readonly T[], b: readonly number[]): T[] {
  return a.slice(0, commonPrefixLength(a, b));
}

/** How many leading tokens two sequences share. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
