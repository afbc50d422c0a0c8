// How long the main thread's event loop goes without running a timer while some work is under way:
// a setInterval(…, intervalMs) records the time between its calls. On an idle thread every gap is
// about intervalMs; a synchronous stretch of work shows as one gap as long as that stretch.

export interface EventLoopGaps {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function measureEventLoopGaps<T>(work: () => Promise<T>, intervalMs = 10): Promise<{ result: T; gaps: EventLoopGaps; elapsedMs: number }> {
  const gaps: number[] = [];
  const startMs = performance.now();
  let last = startMs;
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, intervalMs);
  try {
    const result = await work();
    gaps.push(performance.now() - last); // the stretch since the last tick counts too
    return { result, gaps: summarize(gaps), elapsedMs: performance.now() - startMs };
  } finally {
    clearInterval(timer);
  }
}

function summarize(gaps: number[]): EventLoopGaps {
  const sorted = [...gaps].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { samples: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] };
}

export function formatGaps(gaps: EventLoopGaps): string {
  return `${gaps.samples} ticks, gap p50 ${gaps.p50Ms.toFixed(1)} ms, p99 ${gaps.p99Ms.toFixed(1)} ms, max ${gaps.maxMs.toFixed(1)} ms`;
}
