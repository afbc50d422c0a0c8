import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

/** Models opened before: one click reopens, × forgets. */
export function RecentModels() {
  const recent = useStrata((s) => s.recentModels);
  const currentId = useStrata((s) => s.model?.id ?? null);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const openModel = useStrata((s) => s.openModel);
  const forgetModel = useStrata((s) => s.forgetModel);
  if (recent.length === 0) return null;

  return (
    <div className="recent-models">
      <span className="recent-label" id="recent-models-label">
        Recent models
      </span>
      <ul className="recent-list" aria-labelledby="recent-models-label">
        {recent.map((model) => {
          const current = model.id === currentId;
          return (
            <li key={model.id} className={`chip${current ? ' chip-current' : ''}`}>
              <button
                type="button"
                className="chip-main"
                aria-label={`Reopen ${model.name}`}
                aria-current={current ? 'true' : undefined}
                title={model.path}
                disabled={loading}
                onClick={() => void openModel(model.path)}
              >
                {model.name}
                <span className="chip-meta">{model.architecture}</span>
              </button>
              <button
                type="button"
                className="chip-remove"
                aria-label={`Forget ${model.name}`}
                title="Forget this model"
                onClick={() => void forgetModel(model.id)}
              >
                <Icon name="close" />
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
