import { useMemo } from 'react';
import type uPlot from 'uplot';
import type { AskMetrics } from '../../../preload/api.ts';
import { UPlotChart } from '../charts/UPlotChart.tsx';
import { chartColors, themedAxis } from '../charts/chartTheme.ts';
import { formatMs } from '../format/formatMs.ts';

function options(): uPlot.Options {
  return {
    width: 0,
    height: 0,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false }, ms: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] }, tps: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      themedAxis({ label: 'answer', labelSize: 14, incrs: [1, 2, 5, 10, 20, 50] }),
      themedAxis({ scale: 'ms', label: 'first token ms', labelSize: 14, stroke: chartColors.accent }),
      themedAxis({ scale: 'tps', side: 1, label: 'tok/s', labelSize: 14, stroke: chartColors.warn, grid: { show: false } }),
    ],
    series: [
      {},
      { label: 'time to first token', scale: 'ms', stroke: chartColors.accent, width: 1.5, points: { show: true, size: 5 } },
      { label: 'tokens per second', scale: 'tps', stroke: chartColors.warn, width: 1.5, points: { show: true, size: 5 } },
    ],
  };
}

/** Time to first token and decode speed of every answer in the conversation. */
export function LatencyHistory({ answers }: { answers: AskMetrics[] }) {
  const data = useMemo<uPlot.AlignedData>(
    () => [answers.map((_, i) => i + 1), answers.map((m) => m.timeToFirstTokenMs), answers.map((m) => m.decodeTokensPerSecond)],
    [answers],
  );
  if (answers.length === 0) return <p className="panel-hint">No answers with metrics in this conversation yet.</p>;
  return (
    <>
      {answers.length > 1 && (
        <UPlotChart options={options} optionsKey="history" data={data} height={130} label="Time to first token and tokens per second per answer" />
      )}
      <table className="dash-table" aria-label="Answers">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">First token</th>
            <th scope="col">tok/s</th>
            <th scope="col">Tokens</th>
            <th scope="col">Total</th>
          </tr>
        </thead>
        <tbody>
          {answers.map((m, i) => (
            <tr key={i}>
              <th scope="row">{i + 1}</th>
              <td>{formatMs(m.timeToFirstTokenMs)}</td>
              <td>{m.decodeTokensPerSecond.toFixed(1)}</td>
              <td>{m.generatedTokens}</td>
              <td>{formatMs(m.totalMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
