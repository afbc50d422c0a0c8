import type uPlot from 'uplot';

// The app's palette (styles.css), for canvases that cannot read CSS variables.
export const chartColors = {
  axis: '#9a9ea6',
  grid: 'rgba(255, 255, 255, 0.06)',
  accent: '#6ea8fe',
  warn: '#e6b450',
  ok: '#7fd18b',
};

const font = '11px system-ui, sans-serif';

/** An axis styled for the dark theme. */
export function themedAxis(axis: uPlot.Axis = {}): uPlot.Axis {
  return {
    stroke: chartColors.axis,
    font,
    labelFont: font,
    grid: { stroke: chartColors.grid, width: 1 },
    ticks: { stroke: chartColors.grid, width: 1 },
    size: 40,
    ...axis,
  };
}
