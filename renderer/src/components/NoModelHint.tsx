import { useStrata } from '../store/useStrata.ts';

/** What a new user reads first: how to get a model open in this host. */
export function NoModelHint({ large = false }: { large?: boolean }) {
  const host = useStrata((s) => s.host);
  const how =
    host === 'electron'
      ? 'choose Open model…, drop a .gguf file on this window, or type its path in “Model file path” and press Open model.'
      : 'type the path of a .gguf file in “Model file path” above and press Open model.';
  if (!large) return <p className="hint">Open a GGUF model to start: {how}</p>;
  return (
    <div className="empty-state">
      <div className="empty-state-title">No model open</div>
      <p>Open a GGUF model to start: {how}</p>
      <p className="empty-state-small-print">The model runs on this machine; nothing leaves it.</p>
    </div>
  );
}
