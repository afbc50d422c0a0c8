import './DropOverlay.css';

export function DropOverlay({ visible }: { visible: boolean }) {
  if (!visible) return null;
  return (
    <div className="drop-overlay" aria-hidden="true" data-testid="drop-overlay">
      <div className="drop-overlay-card">
        <div className="drop-overlay-title">Drop to add documents</div>
        <div className="drop-overlay-hint">.txt, .md, .pdf, .docx — a .gguf file opens as the model</div>
      </div>
    </div>
  );
}
