import { useState, type FormEvent } from 'react';
import { useStrata } from '../store/useStrata.ts';

/** Opens a model by typed path (both hosts) or, in Electron, through the native file dialog. */
export function ModelPicker() {
  const host = useStrata((s) => s.host);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const openModel = useStrata((s) => s.openModel);
  const pickAndOpenModel = useStrata((s) => s.pickAndOpenModel);
  const [path, setPath] = useState('');

  function submit(event: FormEvent) {
    event.preventDefault();
    void openModel(path);
  }

  return (
    <div className="model-picker">
      <form className="model-path-form" onSubmit={submit}>
        <input
          type="text"
          className="input mono"
          aria-label="Model file path"
          placeholder="/path/to/model.gguf"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          spellCheck={false}
          autoComplete="off"
        />
        <button type="submit" className="button" disabled={loading || path.trim() === ''}>
          Open model
        </button>
      </form>
      {host === 'electron' && (
        <button type="button" className="button button-primary" disabled={loading} onClick={() => void pickAndOpenModel()}>
          Open model…
        </button>
      )}
    </div>
  );
}
