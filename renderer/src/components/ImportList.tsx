import type { ImportPhase } from '../../../preload/api.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

const phaseLabels: Record<ImportPhase, string> = {
  reading: 'Reading',
  extracting: 'Extracting text',
  counting: 'Counting tokens',
  saving: 'Saving',
  done: 'Done',
  failed: 'Failed',
};

/** One row per file being imported; failures stay (with the reason) until dismissed. */
export function ImportList() {
  const imports = useStrata((s) => s.imports);
  const dismiss = useStrata((s) => s.dismissImport);
  const cancel = useStrata((s) => s.cancelImport);
  if (imports.length === 0) return null;

  return (
    <ul className="import-list" aria-label="Imports">
      {imports.map((row) =>
        row.error ? (
          <li key={row.requestId} className="import import-failed">
            <div role="alert" className="import-error">
              <span className="import-error-text">
                Could not import <strong>{row.fileName}</strong>: {row.error.message}
              </span>
              <button
                type="button"
                className="icon-button"
                aria-label={`Dismiss error for ${row.fileName}`}
                onClick={() => dismiss(row.requestId)}
              >
                <Icon name="close" />
              </button>
            </div>
          </li>
        ) : (
          <li key={row.requestId} className="import">
            <div className="import-head">
              <span className="import-name" title={row.fileName}>
                {row.fileName}
              </span>
              <span className="import-phase">{row.cancelled ? 'Cancelling…' : row.queued ? 'Waiting' : phaseLabels[row.phase]}</span>
              <button
                type="button"
                className="icon-button icon-button-small"
                aria-label={`Cancel import of ${row.fileName}`}
                title="Cancel import"
                disabled={row.cancelled || row.phase === 'done'}
                onClick={() => void cancel(row.requestId)}
              >
                <Icon name="close" />
              </button>
            </div>
            <progress
              className="progress"
              aria-label={`Importing ${row.fileName}`}
              max={1}
              value={Math.max(0, Math.min(1, row.fraction))}
            />
          </li>
        ),
      )}
    </ul>
  );
}
