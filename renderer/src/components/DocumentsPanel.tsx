import { useStrata } from '../store/useStrata.ts';
import { selectActiveDocumentIds } from '../store/selectors.ts';
import { AddDocumentsButton } from './AddDocumentsButton.tsx';
import { DocumentItem } from './DocumentItem.tsx';
import { ImportList } from './ImportList.tsx';
import welcomeSample from '../../../resources/samples/welcome.md?raw';
import './DocumentsPanel.css';

export function DocumentsPanel() {
  const documents = useStrata((s) => s.documents);
  const inUse = useStrata(selectActiveDocumentIds);
  const tokensInUse = documents.reduce((sum, d) => (inUse.includes(d.id) ? sum + (d.tokenCount ?? 0) : sum), 0);
  const model = useStrata((s) => s.model);
  const importDocuments = useStrata((s) => s.importDocuments);
  const kvUnavailable = useStrata((s) => s.documentKv?.unavailableReason ?? null);
  // Said before the first question reads them: past the trained context answers may suffer.
  const longerThanModel = model !== null && model.trainContextTokens > 0 && tokensInUse > model.trainContextTokens;

  return (
    <section className="documents" aria-label="Documents">
      <div className="panel-header">
        <h2 className="panel-title">Documents</h2>
        <AddDocumentsButton />
      </div>
      <ImportList />
      {documents.length === 0 ? (
        <div className="empty-state empty-state-small">
          <div className="empty-state-title">No documents yet</div>
          <p>Drag documents here — .txt, .md, .pdf, .docx — or use Add documents</p>
          <button
            type="button"
            className="button button-small"
            onClick={() => void importDocuments([{ kind: 'file', file: new File([welcomeSample], 'welcome-to-strata.md', { type: 'text/markdown' }) }])}
          >
            Try a sample document
          </button>
        </div>
      ) : (
        <>
          <p className="panel-hint">
            {inUse.length === 0
              ? 'Tick a document to use it in this conversation.'
              : `${inUse.length} in use${tokensInUse > 0 ? ` · ${tokensInUse.toLocaleString('en-US')} tokens` : ''}`}
          </p>
          {longerThanModel && (
            <p className="notice notice-info" role="status" data-testid="longer-than-model">
              These documents ({tokensInUse.toLocaleString('en-US')} tokens) are longer than the {model.trainContextTokens.toLocaleString('en-US')} tokens {model.name} was
              trained on. {model.engine === 'tiered'
                ? 'The tiered engine answers from the parts that matter, moved within the trained context; the first question reads them all and says how long that takes.'
                : 'The standard engine cannot go past that: use the tiered engine, or fewer documents.'}
            </p>
          )}
          {kvUnavailable !== null && (
            <p className="panel-hint" data-testid="kv-unavailable">
              {kvUnavailable}
            </p>
          )}
          <ul className="document-list" aria-label="Document list">
            {documents.map((doc) => (
              <DocumentItem key={doc.id} doc={doc} inUse={inUse.includes(doc.id)} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
