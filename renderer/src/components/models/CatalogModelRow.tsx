import type { CatalogModel } from '../../../../preload/api.ts';
import { formatBytes } from '../../format/formatBytes.ts';
import { formatCount } from '../../format/formatCount.ts';
import { useStrata } from '../../store/useStrata.ts';
import { DeleteModelButton } from './DeleteModelButton.tsx';
import { FitBadge } from './FitBadge.tsx';

/** One model of the catalog: its facts, whether it fits, and Download / Open / Delete. */
export function CatalogModelRow({ model }: { model: CatalogModel }) {
  const startDownload = useStrata((s) => s.startDownload);
  const openModel = useStrata((s) => s.openModel);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const openPath = useStrata((s) => s.model?.path ?? null);
  const download = useStrata((s) => s.downloads[model.uri] ?? model.download);
  const downloading = download !== null && download !== undefined && download.state !== 'failed';
  return (
    <li className="catalog-model" aria-label={model.name}>
      <div className="catalog-model-head">
        <span className="catalog-model-name">{model.name}</span>
        <FitBadge uri={model.uri} />
      </div>
      <div className="catalog-model-meta">
        {model.quantization} · {formatBytes(model.sizeBytes)} · {formatCount(model.trainContextTokens)} tokens trained · {model.architecture} · {model.license}
        {model.engine === 'standard' && ' · standard engine (sliding window)'}
      </div>
      <div className="catalog-model-actions">
        {model.localPath ? (
          <>
            <button type="button" className="button button-small button-primary" disabled={loading || openPath === model.localPath} onClick={() => void openModel(model.localPath!)}>
              {openPath === model.localPath ? 'Open now' : 'Open'}
            </button>
            <DeleteModelButton name={model.name} sizeBytes={model.sizeBytes} path={model.localPath} />
          </>
        ) : (
          <button type="button" className="button button-small" disabled={downloading} aria-label={`Download ${model.name}`} onClick={() => void startDownload(model.uri)}>
            {downloading ? 'Downloading…' : 'Download'}
          </button>
        )}
      </div>
    </li>
  );
}
