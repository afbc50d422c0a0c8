import { useEffect } from 'react';
import { useStrata } from '../store/useStrata.ts';
import { LocalModelList } from './models/LocalModelList.tsx';
import { RecommendedModel } from './models/RecommendedModel.tsx';

/** What a new user reads first: the models already on this machine, and how to open any other. */
export function NoModelHint({ large = false }: { large?: boolean }) {
  const host = useStrata((s) => s.host);
  const localModels = useStrata((s) => s.localModels);
  const findLocalModels = useStrata((s) => s.findLocalModels);
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
          <LocalModelList models={localModels.slice(0, 12)} />
        </>
      )}
      <p>{localModels && localModels.length > 0 ? 'Or open another: ' : 'Open a GGUF model to start: '}{how}</p>
      <p className="empty-state-small-print">The model runs on this machine; nothing leaves it.</p>
    </div>
  );
}
