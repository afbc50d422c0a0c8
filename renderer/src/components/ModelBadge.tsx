import { useStrata } from '../store/useStrata.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

/** The open model: name, architecture and whether it chats through its template. */
export function ModelBadge() {
  const model = useStrata((s) => s.model);
  const loadingPath = useStrata((s) => s.modelLoadingPath);

  return (
    <div className="model-badge" data-testid="current-model">
      {model ? (
        <>
          <span className="model-name" title={model.path}>
            {model.name}
          </span>
          <span className="pill">{model.architecture}</span>
          <span
            className={`pill ${model.hasChatTemplate ? 'pill-accent' : 'pill-warn'}`}
            title={
              model.hasChatTemplate
                ? 'Questions are formatted with the model’s own chat template'
                : 'This model has no chat template; Strata prompts it as plain text completion'
            }
          >
            {model.hasChatTemplate ? 'chat template' : 'raw completion'}
          </span>
          {model.engine && (
            <span
              className={`pill ${model.engine === 'tiered' ? 'pill-accent' : 'pill-warn'}`}
              title={
                model.engine === 'tiered'
                  ? 'KV cache in GPU, RAM and disk tiers: only the chunks that matter are loaded for each question'
                  : 'Full KV cache: the whole document is kept in the context'
              }
            >
              {model.engine} engine
            </span>
          )}
          <span className="model-meta">
            {formatBytes(model.sizeBytes)} · {formatCount(model.trainContextTokens)} ctx
          </span>
          {model.engineNotice && (
            <span className="model-notice" role="status" title={model.engineNotice}>
              {model.engineNotice}
            </span>
          )}
        </>
      ) : (
        <span className="model-none">No model open</span>
      )}
      {loadingPath && (
        <span className="model-loading" role="status">
          <span className="spinner" aria-hidden="true" /> Loading {baseName(loadingPath)}…
        </span>
      )}
    </div>
  );
}
