import type { LocalModelFile } from '../../../../preload/api.ts';
import { formatBytes } from '../../format/formatBytes.ts';
import { useStrata } from '../../store/useStrata.ts';
import { DeleteModelButton } from './DeleteModelButton.tsx';
import './LocalModelList.css';

const SOURCE_LABELS: Record<LocalModelFile['source'], string> = {
  strata: 'Strata models folder',
  'lm-studio': 'LM Studio',
  huggingface: 'Hugging Face cache',
};

/** The GGUF files on this machine, each opened with a click; those in Strata's own folder can be deleted. */
export function LocalModelList({ models, deletable = false }: { models: readonly LocalModelFile[]; deletable?: boolean }) {
  const openModel = useStrata((s) => s.openModel);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const openPath = useStrata((s) => s.model?.path ?? null);
  return (
    <ul className="local-models" aria-label="Models on this machine">
      {models.map((m) => (
        <li key={m.path} className="local-model">
          <span className="local-model-name" title={m.path}>{m.fileName}</span>
          <span className="local-model-meta">
            {formatBytes(m.sizeBytes)} · {SOURCE_LABELS[m.source]}
          </span>
          <button type="button" className="button button-small" disabled={loading || openPath === m.path} aria-label={`Open ${m.fileName}`} onClick={() => void openModel(m.path)}>
            Open
          </button>
          {deletable && m.source === 'strata' && <DeleteModelButton name={m.fileName} sizeBytes={m.sizeBytes} path={m.path} />}
        </li>
      ))}
    </ul>
  );
}
