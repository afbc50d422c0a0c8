import { useEffect } from 'react';
import { useStrata } from '../../store/useStrata.ts';

const LABELS = { fits: 'Fits this GPU', partial: 'Partly on the GPU', cpu: 'CPU only', 'too-large': 'Too large', unknown: 'Not checked' } as const;

/** Whether a model fits this machine, checked (GgufInsights) when the badge first shows. */
export function FitBadge({ uri }: { uri: string }) {
  const fit = useStrata((s) => s.fits[uri]);
  const checkFit = useStrata((s) => s.checkFit);
  useEffect(() => {
    if (!fit) void checkFit(uri);
  }, [fit, uri, checkFit]);
  if (!fit || fit.state === 'checking') return <span className="fit-badge fit-checking">Checking fit…</span>;
  if (fit.state === 'failed') return <span className="fit-badge fit-unknown" title={fit.message}>Not checked</span>;
  return (
    <span className={`fit-badge fit-${fit.fit.verdict}`} title={fit.fit.summary} data-verdict={fit.fit.verdict}>
      {LABELS[fit.fit.verdict]}
    </span>
  );
}
