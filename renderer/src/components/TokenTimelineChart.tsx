import { useMemo } from 'react';
import type uPlot from 'uplot';
import { UPlotChart } from '../charts/UPlotChart.tsx';
import { chartColors, themedAxis } from '../charts/chartTheme.ts';

function options(): uPlot.Options {
  return {
    width: 0,
    height: 0,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(10, max * 1.15)] } },
    axes: [themedAxis({ label: 'token', labelSize: 14 }), themedAxis({ label: 'ms', labelSize: 14 })],
    series: [{}, { label: 'inter-token', stroke: chartColors.accent, width: 1.5, points: { show: false } }],
  };
}

/** Milliseconds between consecutive tokens of one answer (the first from the question). */
export function interTokenMs(elapsedMs: number[]): number[] {
  return elapsedMs.slice(1).map((t, i) => Math.max(0, t - elapsedMs[i]!));
}

export function TokenTimelineChart({ elapsedMs }: { elapsedMs: number[] }) {
  const data = useMemo<uPlot.AlignedData>(() => {
    const gaps = interTokenMs(elapsedMs);
    return [gaps.map((_, i) => i + 2), gaps];
  }, [elapsedMs]);
  return (
    <UPlotChart
      options={options}
      optionsKey="timeline"
      data={data}
      height={140}
      label={`Per-token latency of the latest answer over ${elapsedMs.length} tokens`}
    />
  );
}
