import type { DownloadInfo } from '../../../../preload/api.ts';
import { formatBytes } from '../../format/formatBytes.ts';
import { useStrata } from '../../store/useStrata.ts';
import { formatDuration } from '../../format/formatDuration.ts';

/** One download: progress, speed and time left, and Pause / Resume / Discard. */
export function DownloadRow({ download }: { download: DownloadInfo }) {
  const cancelDownload = useStrata((s) => s.cancelDownload);
  const startDownload = useStrata((s) => s.startDownload);
  const discardDownload = useStrata((s) => s.discardDownload);
  const { uri, fileName, state, downloadedBytes, totalBytes, bytesPerSecond, secondsLeft } = download;
  const running = state === 'downloading' || state === 'verifying';
  return (
    <li className="download" role="group" aria-label={`Download of ${fileName}`} data-state={state}>
      <div className="download-head">
        <span className="download-name" title={uri}>{fileName}</span>
        <span className="download-numbers" role="status">
          {state === 'verifying'
            ? 'Checking SHA-256…'
            : state === 'paused'
              ? `Paused at ${formatBytes(downloadedBytes)}${totalBytes > 0 ? ` of ${formatBytes(totalBytes)}` : ''}`
              : state === 'failed'
                ? 'Failed'
                : `${formatBytes(downloadedBytes)}${totalBytes > 0 ? ` of ${formatBytes(totalBytes)}` : ''}${bytesPerSecond > 0 ? ` · ${formatBytes(bytesPerSecond)}/s` : ''}${secondsLeft !== null ? ` · ${formatDuration(secondsLeft)} left` : ''}`}
        </span>
      </div>
      <progress className="progress" aria-label={`${fileName} downloaded`} max={1} value={totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : 0} />
      {download.error && <p className="download-error">{download.error.message}</p>}
      <div className="download-actions">
        {running ? (
          <button type="button" className="button button-small" disabled={state === 'verifying'} onClick={() => void cancelDownload(uri)}>
            Pause
          </button>
        ) : (
          state !== 'failed' && (
            <button type="button" className="button button-small" onClick={() => void startDownload(uri)}>
              Resume
            </button>
          )
        )}
        <button type="button" className="button button-small button-danger" aria-label={`Discard the download of ${fileName}`} onClick={() => void discardDownload(uri)}>
          Discard
        </button>
      </div>
    </li>
  );
}
