import { useEffect, useState } from 'react';
import { formatCount } from '../format/formatCount.ts';
import { formatDuration } from '../format/formatDuration.ts';
import { selectActiveIngest } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import './IngestProgressBar.css';

/** The conversation's documents being read into the KV tiers before the answer can start. */
export function IngestProgressBar() {
  const ingest = useStrata(selectActiveIngest);
  const cancelIngest = useStrata((s) => s.cancelIngest);
  // Re-render every half second so the rate and time left follow the clock between events.
  const [, tick] = useState(0);
  useEffect(() => {
    if (!ingest) return;
    const timer = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(timer);
  }, [ingest]);
  if (!ingest) return null;

  const seconds = (ingest.lastAt - ingest.firstAt) / 1000;
  const rate = seconds > 0.2 ? (ingest.tokensDone - ingest.firstTokensDone) / seconds : null;
  const left = rate && rate > 0 ? (ingest.tokenCount - ingest.tokensDone) / rate : null;
  const fraction = ingest.tokenCount > 0 ? ingest.tokensDone / ingest.tokenCount : 0;

  return (
    <div className="ingest" role="group" aria-label="Reading documents">
      <div className="ingest-head">
        <span className="ingest-title">{ingest.cancelling ? 'Cancelling…' : 'Reading the documents into memory'}</span>
        <span className="ingest-numbers" role="status">
          {formatCount(ingest.tokensDone)} / {formatCount(ingest.tokenCount)} tokens
          {rate !== null && ` · ${formatCount(rate)} tok/s`}
          {left !== null && ` · ${formatDuration(left)} left`}
        </span>
        <button
          type="button"
          className="button button-small"
          disabled={ingest.cancelling}
          onClick={() => void cancelIngest(ingest.requestId)}
        >
          Cancel reading
        </button>
      </div>
      <progress className="progress" aria-label="Documents read into memory" max={1} value={Math.min(1, fraction)} />
    </div>
  );
}
