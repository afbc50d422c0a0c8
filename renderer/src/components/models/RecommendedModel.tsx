import { useEffect } from 'react';
import { formatBytes } from '../../format/formatBytes.ts';
import { formatCount } from '../../format/formatCount.ts';
import { useStrata } from '../../store/useStrata.ts';
import { DownloadRow } from './DownloadRow.tsx';
import './models.css';

/** The first run's one click: the catalog model that fits this machine best, downloaded and opened. */
export function RecommendedModel() {
  const recommendation = useStrata((s) => s.recommendation);
  const loadRecommendation = useStrata((s) => s.loadRecommendation);
  const startDownload = useStrata((s) => s.startDownload);
  const openModel = useStrata((s) => s.openModel);
  const setTab = useStrata((s) => s.setSidePanelTab);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const download = useStrata((s) => (recommendation?.state === 'ready' ? s.downloads[recommendation.model.uri] : undefined));
  useEffect(() => {
    void loadRecommendation();
  }, [loadRecommendation]);

  if (!recommendation || recommendation.state === 'checking') return <p className="hint">Checking which models fit this machine…</p>;
  if (recommendation.state === 'none') {
    return (
      <p className="hint">
        Could not check the model catalog against this machine (is the Hub reachable?).{' '}
        <button type="button" className="link-button" onClick={() => setTab('models')}>
          Browse models
        </button>
      </p>
    );
  }
  const { model, fit } = recommendation;
  return (
    <div className="recommended-model" role="group" aria-label="Recommended model">
      <div>
        Recommended for this machine: <strong>{model.name}</strong>
      </div>
      <div className="catalog-model-meta">
        {model.quantization} · {formatBytes(model.sizeBytes)} · {formatCount(model.trainContextTokens)} tokens trained · {model.license}
      </div>
      <div className="catalog-model-meta">{fit.summary}</div>
      {download ? (
        <ul className="downloads">
          <DownloadRow download={download} />
        </ul>
      ) : model.localPath ? (
        <button type="button" className="button button-primary" disabled={loading} onClick={() => void openModel(model.localPath!)}>
          Open {model.name}
        </button>
      ) : (
        <button type="button" className="button button-primary" onClick={() => void startDownload(model.uri, true)}>
          Download and open ({formatBytes(model.sizeBytes)})
        </button>
      )}
      <button type="button" className="link-button" onClick={() => setTab('models')}>
        Other models…
      </button>
    </div>
  );
}
