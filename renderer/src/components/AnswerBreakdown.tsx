import type { AskMetrics } from '../../../preload/api.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';
import { formatMs } from '../format/formatMs.ts';
import './AnswerBreakdown.css';

interface Phase {
  key: string;
  label: string;
  ms: number;
}

/** Where one answer's time went, in order: reading documents, probe, select, splice, prefill, first token, decode. */
export function answerPhases(metrics: AskMetrics): Phase[] {
  const tiered = metrics.tiered;
  const decodeMs = Math.max(0, metrics.totalMs - metrics.timeToFirstTokenMs);
  const phases: Phase[] = [];
  // Older answers (saved before ingestMs existed) have none.
  const ingestMs = tiered?.ingestMs ?? 0;
  if (tiered) {
    if (ingestMs > 0) phases.push({ key: 'ingest', label: 'Reading documents', ms: ingestMs });
    phases.push({ key: 'probe', label: 'Probe', ms: tiered.probeMs });
    phases.push({ key: 'select', label: 'Select', ms: tiered.selectMs });
    phases.push({ key: 'splice', label: 'Splice', ms: tiered.spliceMs });
  }
  phases.push({ key: 'prefill', label: 'Prefill', ms: metrics.prefillMs });
  const tieredMs = tiered ? ingestMs + tiered.probeMs + tiered.selectMs + tiered.spliceMs : 0;
  // Time to first token also covers what the phases above do not (sampling the first token, waits).
  phases.push({ key: 'first', label: 'First token (rest)', ms: Math.max(0, metrics.timeToFirstTokenMs - tieredMs - metrics.prefillMs) });
  phases.push({ key: 'decode', label: 'Decode', ms: decodeMs });
  return phases;
}

export function AnswerBreakdown({ metrics, label }: { metrics: AskMetrics; label: string }) {
  const phases = answerPhases(metrics);
  const total = phases.reduce((sum, p) => sum + p.ms, 0) || 1;
  const tiered = metrics.tiered;
  return (
    <div className="breakdown">
      <div className="breakdown-bar" role="img" aria-label={`${label}: ${phases.map((p) => `${p.label} ${formatMs(p.ms)}`).join(', ')}`}>
        {phases.map((p) => (
          <span key={p.key} className={`breakdown-segment phase-${p.key}`} style={{ width: `${(p.ms / total) * 100}%` }} />
        ))}
      </div>
      <dl className="breakdown-list">
        {phases.map((p) => (
          <div key={p.key}>
            <dt>
              <span className={`legend-swatch phase-${p.key}`} aria-hidden="true" />
              {p.label}
            </dt>
            <dd>{formatMs(p.ms)}</dd>
          </div>
        ))}
        <div>
          <dt>Time to first token</dt>
          <dd>{formatMs(metrics.timeToFirstTokenMs)}</dd>
        </div>
        <div>
          <dt>Decode speed</dt>
          <dd>{metrics.decodeTokensPerSecond.toFixed(1)} tok/s</dd>
        </div>
      </dl>
      {tiered && (
        <dl className="breakdown-facts">
          <div>
            <dt>Chunks read</dt>
            <dd>
              {tiered.chunksSelected} of {tiered.chunksTotal}
              {tiered.reselections > 0 ? ` · ${tiered.reselections} reselections` : ''}
            </dd>
          </div>
          <div>
            <dt>Loaded</dt>
            <dd>
              {formatBytes(tiered.bytesFromCpu)} RAM · {formatBytes(tiered.bytesFromDisk)} disk
            </dd>
          </div>
          <div>
            <dt>Peak GPU tokens</dt>
            <dd>
              {formatCount(tiered.peakGpuResidentTokens)} / {formatCount(tiered.gpuBudgetTokens)}
            </dd>
          </div>
        </dl>
      )}
    </div>
  );
}
