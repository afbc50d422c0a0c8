import type { DocumentInfo } from '../../../preload/api.ts';
import { describeDocumentKv } from '../format/describeDocumentKv.ts';
import { formatBytes } from '../format/formatBytes.ts';
import { formatCount } from '../format/formatCount.ts';
import { selectAskReading } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

export function DocumentItem({ doc, inUse }: { doc: DocumentInfo; inUse: boolean }) {
  const setDocumentInUse = useStrata((s) => s.setDocumentInUse);
  const removeDocument = useStrata((s) => s.removeDocument);
  const openDocumentView = useStrata((s) => s.openDocumentView);
  // The KV line shows only where the open model's engine tracks it (the panel says why otherwise).
  const tracked = useStrata((s) => s.documentKv !== null && s.documentKv.unavailableReason === null);

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
        {tracked && <DocumentKvLine doc={doc} />}
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

/** The document's KV for the open model ("not read", "reading 42%", "read · 12 MB · on disk"), with Prepare and Stop. */
function DocumentKvLine({ doc }: { doc: DocumentInfo }) {
  const stored = useStrata((s) => s.documentKv?.documents.find((d) => d.documentId === doc.id));
  const live = useStrata((s) => s.kvProgress[doc.id]);
  const local = useStrata((s) => s.preparing[doc.id]);
  const ask = useStrata((s) => selectAskReading(s, doc.id));
  const prepareDocument = useStrata((s) => s.prepareDocument);
  const stopPreparing = useStrata((s) => s.stopPreparing);
  const view = describeDocumentKv({ stored, live, local, ask });

  return (
    <div className={`document-kv document-kv-${view.tone}`} data-testid="document-kv">
      <span className="document-kv-state" role="status" aria-label={`KV of ${doc.fileName}`} title={view.hint}>
        {view.text}
      </span>
      {view.fraction !== null && (
        <progress className="progress document-kv-progress" aria-label={`Reading ${doc.fileName}`} max={1} value={view.fraction} />
      )}
      {(view.canPrepare || view.preparing) && (
        <button
          type="button"
          className="button button-small document-kv-button"
          aria-label={`Prepare ${doc.fileName}`}
          title="Read this document into the KV cache now, so its first question starts at once"
          disabled={view.preparing}
          onClick={() => void prepareDocument(doc.id)}
        >
          Prepare
        </button>
      )}
      {view.preparing && (
        <button
          type="button"
          className="button button-small document-kv-button"
          aria-label={`Stop preparing ${doc.fileName}`}
          title="Stop reading (what was read is kept; Prepare resumes there)"
          disabled={local === 'stopping'}
          onClick={() => void stopPreparing(doc.id)}
        >
          <Icon name="stop" /> Stop
        </button>
      )}
    </div>
  );
}
