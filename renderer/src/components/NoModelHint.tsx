import { useEffect } from 'react';
import type { LocalModelFile } from '../../../preload/api.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { useStrata } from '../store/useStrata.ts';
import { RecommendedModel } from './models/RecommendedModel.tsx';
import './NoModelHint.css';

const SOURCE_LABELS: Record<LocalModelFile['source'], string> = {
  strata: 'Strata models folder',
  'lm-studio': 'LM Studio',
  huggingface: 'Hugging Face cache',
};

/** What a new user reads first: the models already on this machine, and how to open any other. */
export function NoModelHint({ large = false }: { large?: boolean }) {
  const host = useStrata((s) => s.host);
  const localModels = useStrata((s) => s.localModels);
  const findLocalModels = useStrata((s) => s.findLocalModels);
  const openModel = useStrata((s) => s.openModel);
  const loadingPath = useStrata((s) => s.modelLoadingPath);
  useEffect(() => {
    if (large && localModels === null) void findLocalModels();
  }, [large, localModels, findLocalModels]);
  const how =
    host === 'electron'
      ? 'choose Open model…, drop a .gguf file on this window, type its path in “Model file path”, or get one in the Models tab.'
      : 'pick one in “Model on this machine”, type the path of a .gguf file in “Model file path”, or get one in the Models tab.';
  if (!large) return <p className="hint">Open a GGUF model to start: {how}</p>;
  return (
    <div className="empty-state">
      <div className="empty-state-title">No model open</div>
      <RecommendedModel />
      {localModels && localModels.length > 0 && (
        <>
          <p>Models already on this machine:</p>
          <ul className="local-models" aria-label="Models on this machine">
            {localModels.slice(0, 12).map((m) => (
              <li key={m.path} className="local-model">
                <span className="local-model-name" title={m.path}>{m.fileName}</span>
                <span className="local-model-meta">
                  {formatBytes(m.sizeBytes)} · {SOURCE_LABELS[m.source]}
                </span>
                <button type="button" className="button button-small" disabled={loadingPath !== null} onClick={() => void openModel(m.path)}>
                  Open
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <p>{localModels && localModels.length > 0 ? 'Or open another: ' : 'Open a GGUF model to start: '}{how}</p>
      <p className="empty-state-small-print">The model runs on this machine; nothing leaves it.</p>
    </div>
  );
}
