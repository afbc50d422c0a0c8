import type { DocumentInfo } from '../../../preload/api.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

export function DocumentItem({ doc, inUse }: { doc: DocumentInfo; inUse: boolean }) {
  const setDocumentInUse = useStrata((s) => s.setDocumentInUse);
  const removeDocument = useStrata((s) => s.removeDocument);
  const openDocumentView = useStrata((s) => s.openDocumentView);

  return (
    <li className={`document${inUse ? ' document-in-use' : ''}`}>
      <input
        type="checkbox"
        className="checkbox"
        aria-label={`Use ${doc.fileName} in this conversation`}
        checked={inUse}
        onChange={(e) => void setDocumentInUse(doc.id, e.target.checked)}
      />
      <div className="document-body">
        <div className="document-name" title={doc.fileName}>
          {doc.fileName}
        </div>
        <div className="document-meta">
          <span className={`kind kind-${doc.kind}`}>{doc.kind}</span>
          <span>{formatBytes(doc.sizeBytes)}</span>
          {doc.tokenCount !== null && <span>{formatCount(doc.tokenCount)} tokens</span>}
        </div>
      </div>
      <button
        type="button"
        className="icon-button"
        aria-label={`View ${doc.fileName}`}
        title="View the text and what the model read"
        onClick={() => openDocumentView(doc.id)}
      >
        <Icon name="eye" />
      </button>
      <button
        type="button"
        className="icon-button icon-button-danger"
        aria-label={`Remove ${doc.fileName}`}
        title="Remove document"
        onClick={() => void removeDocument(doc.id)}
      >
        <Icon name="trash" />
      </button>
    </li>
  );
}
