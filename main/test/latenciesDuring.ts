// A client that makes `call` every `everyMs` until `work` settles: each latency runs from when the call
// was due, so time the serving side spends blocked counts against the calls waiting behind it.
export async function latenciesDuring(call: () => Promise<unknown>, work: Promise<unknown>, everyMs = 10): Promise<number[]> {
  let done = false;
  void work.finally(() => (done = true)).catch(() => undefined);
  const latencies: number[] = [];
  const start = performance.now();
  for (let k = 0; !done; k++) {
    const due = start + k * everyMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await new Promise((resolve) => setImmediate(resolve));
    await call();
    latencies.push(performance.now() - due);
  }
  await work;
  return latencies;
}

export const p99 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))];
