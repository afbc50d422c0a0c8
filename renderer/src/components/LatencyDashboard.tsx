import { useMemo } from 'react';
import { formatMs } from '../format/formatMs.ts';
import { selectActiveMessages, selectActiveTimeline } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import { AnswerBreakdown } from './AnswerBreakdown.tsx';
import { LatencyHistory } from './LatencyHistory.tsx';
import { TokenTimelineChart, interTokenMs } from './TokenTimelineChart.tsx';
import './LatencyDashboard.css';

/** Tokens per second over the last second of a timeline (or its whole length when shorter). */
function recentRate(elapsedMs: number[]): number | null {
  if (elapsedMs.length < 2) return null;
  const last = elapsedMs[elapsedMs.length - 1]!;
  let first = elapsedMs.length - 1;
  while (first > 0 && last - elapsedMs[first - 1]! <= 1000) first--;
  if (first === elapsedMs.length - 1) first = elapsedMs.length - 2;
  const span = last - elapsedMs[first]!;
  return span > 0 ? ((elapsedMs.length - 1 - first) * 1000) / span : null;
}

/** Time to first token, speed, the live per-token timeline, and every answer's metrics. */
export function LatencyDashboard() {
  const timeline = useStrata(selectActiveTimeline);
  const messages = useStrata(selectActiveMessages);
  const answers = useMemo(() => messages.flatMap((m) => (m.role === 'assistant' && m.metrics ? [m.metrics] : [])), [messages]);
  const last = answers[answers.length - 1] ?? null;
  const elapsed = timeline?.elapsedMs ?? [];
  const gaps = interTokenMs(elapsed);
  const rate = recentRate(elapsed);

  return (
    <section className="dashboard" aria-label="Latency dashboard">
      <div className="panel-header">
        <h2 className="panel-title">Latency</h2>
        {timeline?.live && <span className="pill pill-accent">streaming</span>}
      </div>

      <dl className="stat-grid" aria-label="Latest answer">
        <div className="stat">
          <dt>First token</dt>
          <dd>{elapsed.length > 0 ? formatMs(elapsed[0]!) : last ? formatMs(last.timeToFirstTokenMs) : '—'}</dd>
        </div>
        <div className="stat">
          <dt>{timeline?.live ? 'Speed now' : 'Speed'}</dt>
          <dd>{timeline?.live ? (rate === null ? '—' : `${rate.toFixed(1)} tok/s`) : last ? `${last.decodeTokensPerSecond.toFixed(1)} tok/s` : '—'}</dd>
        </div>
        <div className="stat">
          <dt>Tokens</dt>
          <dd>{timeline ? elapsed.length : (last?.generatedTokens ?? '—')}</dd>
        </div>
        <div className="stat">
          <dt>Last gap</dt>
          <dd>{gaps.length > 0 ? formatMs(gaps[gaps.length - 1]!) : '—'}</dd>
        </div>
      </dl>

      <h3 className="dashboard-heading">Per-token latency</h3>
      {elapsed.length > 1 ? (
        <TokenTimelineChart elapsedMs={elapsed} />
      ) : (
        <p className="panel-hint">Ask a question to see the time between tokens as the answer streams.</p>
      )}

      <h3 className="dashboard-heading">Last answer</h3>
      {last ? <AnswerBreakdown metrics={last} label="Where the last answer's time went" /> : <p className="panel-hint">No answer yet.</p>}

      <h3 className="dashboard-heading">Answers in this conversation</h3>
      <LatencyHistory answers={answers} />
    </section>
  );
}
