// Progress of long work on stderr (reading documents into the tiers: minutes for a long library),
// so a terminal never sits silent. A bar (cli-progress) on a terminal; a plain line every few seconds
// when stderr is a pipe or a log file; nothing with --quiet or --json.
import cliProgress from 'cli-progress';

const PLAIN_EVERY_MS = 5_000;

export interface ProgressReporter {
  update(done: number, total: number): void;
  stop(): void;
}

export function createProgressReporter(label: string, options: { quiet: boolean; stream?: NodeJS.WriteStream; unit?: 'tokens' | 'bytes' }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'tokens';
  if (options.quiet) return { update: () => undefined, stop: () => undefined };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | {eta_formatted} left`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let stopped = false;
    let startedAt = 0;
    return {
      update(done, total) {
        if (stopped) return;
        if (!started) {
          started = true;
          startedAt = performance.now();
          bar.start(total, done, { rate: '0' });
        }
        const seconds = (performance.now() - startedAt) / 1000;
        bar.setTotal(total);
        bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '0' });
      },
      stop() {
        if (started && !stopped) bar.stop();
        stopped = true;
      },
    };
  }
  let lastAt = -Infinity;
  let startedAt = 0;
  let lastDone = 0;
  let lastTotal = 0;
  let stopped = false;
  const line = (done: number, total: number) => {
    const seconds = (performance.now() - startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? Math.round((total - done) / rate) : null;
    stream.write(`${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit} (${total > 0 ? Math.floor((100 * done) / total) : 0}%)${left === null ? '' : `, about ${left} s left`}\n`);
  };
  return {
    update(done, total) {
      if (stopped) return;
      const now = performance.now();
      if (startedAt === 0) startedAt = now;
      lastDone = done;
      lastTotal = total;
      if (now - lastAt >= PLAIN_EVERY_MS || done === total) {
        lastAt = now;
        line(done, total);
      }
    },
    stop() {
      if (!stopped && lastTotal > 0 && lastDone !== lastTotal) line(lastDone, lastTotal);
      stopped = true;
    },
  };
}
