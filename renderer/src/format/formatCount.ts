const numbers = new Intl.NumberFormat('en-US');

export function formatCount(count: number): string {
  return numbers.format(Math.round(count));
}
