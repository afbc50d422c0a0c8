import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

export function ModelErrorAlert() {
  const error = useStrata((s) => s.modelError);
  const dismiss = useStrata((s) => s.dismissModelError);
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert" data-testid="model-error">
      <span className="notice-text">
        Could not open the model <span className="mono">{error.path}</span>: {error.message}{' '}
        <code className="error-code">{error.code}</code>
      </span>
      <button type="button" className="icon-button" aria-label="Dismiss model error" onClick={dismiss}>
        <Icon name="close" />
      </button>
    </div>
  );
}
