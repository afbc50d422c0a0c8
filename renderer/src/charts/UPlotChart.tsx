import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

interface Props {
  /** Builds the chart's options for a width; rebuilt only when `optionsKey` changes. */
  options: (width: number) => uPlot.Options;
  optionsKey: string;
  data: uPlot.AlignedData;
  /** What the chart shows, for screen readers (the canvas itself has no text). */
  label: string;
  height: number;
}

/** A uPlot chart that follows its container's width and redraws when `data` changes. */
export function UPlotChart({ options, optionsKey, data, label, height }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const latestData = useRef(data);
  latestData.current = data;
  const buildOptions = useRef(options);
  buildOptions.current = options;

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const width = Math.max(120, el.clientWidth);
    const plot = new uPlot({ ...buildOptions.current(width), width, height }, latestData.current, el);
    chart.current = plot;
    const observer = new ResizeObserver(() => {
      const next = Math.max(120, el.clientWidth);
      if (next !== plot.width) plot.setSize({ width: next, height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [optionsKey, height]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return <div ref={container} className="chart" role="img" aria-label={label} />;
}
