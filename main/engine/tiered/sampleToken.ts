// Picks the next token from the last logits row. Greedy by default (answers about documents should be
// reproducible, and greedy is what the exactness tests compare).
export function sampleToken(logits: Float32Array, vocabSize: number, temperature = 0, random: () => number = Math.random): number {
  const row = logits.subarray(logits.length - vocabSize);
  let best = 0;
  for (let i = 1; i < vocabSize; i++) if (row[i] > row[best]) best = i;
  if (temperature <= 0) return best;
  const max = row[best];
  let total = 0;
  const weights = new Float64Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) total += weights[i] = Math.exp((row[i] - max) / temperature);
  let pick = random() * total;
  for (let i = 0; i < vocabSize; i++) {
    pick -= weights[i];
    if (pick <= 0) return i;
  }
  return best;
}
