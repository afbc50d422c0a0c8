import { useEffect, useState, type FormEvent } from 'react';
import { formatBytes } from '../format/formatBytes.ts';
import { useStrata } from '../store/useStrata.ts';

/**
 * Opens a model: from the list of GGUF files on this machine (both hosts; the browser host has no file
 * dialog), by typed path, or in Electron through the native file dialog; "Get models" opens the Models tab.
 */
export function ModelPicker() {
  const host = useStrata((s) => s.host);
  const loading = useStrata((s) => s.modelLoadingPath !== null);
  const openModel = useStrata((s) => s.openModel);
  const pickAndOpenModel = useStrata((s) => s.pickAndOpenModel);
  const localModels = useStrata((s) => s.localModels);
  const findLocalModels = useStrata((s) => s.findLocalModels);
  const setTab = useStrata((s) => s.setSidePanelTab);
  const [path, setPath] = useState('');
  const [chosen, setChosen] = useState('');
  useEffect(() => {
    if (localModels === null) void findLocalModels();
  }, [localModels, findLocalModels]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void openModel(path);
  }

  return (
    <div className="model-picker">
      {localModels && localModels.length > 0 && (
        <form
          className="model-select-form"
          onSubmit={(e) => {
            e.preventDefault();
            void openModel(chosen || localModels[0]!.path);
          }}
        >
          <select className="input" aria-label="Model on this machine" value={chosen || localModels[0]!.path} onChange={(e) => setChosen(e.target.value)}>
            {localModels.map((m) => (
              <option key={m.path} value={m.path}>
                {m.fileName} ({formatBytes(m.sizeBytes)})
              </option>
            ))}
          </select>
          <button type="submit" className="button" disabled={loading}>
            Open selected
          </button>
        </form>
      )}
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
      <button type="button" className="button" onClick={() => setTab('models')}>
        Get models
      </button>
    </div>
  );
}
