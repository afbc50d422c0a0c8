import { useRef, type ChangeEvent } from 'react';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';

export const DOCUMENT_ACCEPT = '.txt,.md,.markdown,.pdf,.docx,text/plain,text/markdown,application/pdf';

/**
 * Electron shows its native dialog (paths, no bytes through IPC); the browser host uses a file input.
 * The input is in the page in both hosts, so tests can set files on it directly.
 */
export function AddDocumentsButton() {
  const host = useStrata((s) => s.host);
  const importDocuments = useStrata((s) => s.importDocuments);
  const pickAndImportDocuments = useStrata((s) => s.pickAndImportDocuments);
  const input = useRef<HTMLInputElement>(null);

  function onFiles(event: ChangeEvent<HTMLInputElement>) {
    const files = [...(event.target.files ?? [])];
    // Let the same file be chosen again later.
    event.target.value = '';
    if (files.length > 0) void importDocuments(files.map((file) => ({ kind: 'file', file })));
  }

  return (
    <>
      <button
        type="button"
        className="button button-small"
        onClick={() => (host === 'electron' ? void pickAndImportDocuments() : input.current?.click())}
      >
        <Icon name="plus" /> Add documents…
      </button>
      <input
        ref={input}
        type="file"
        multiple
        accept={DOCUMENT_ACCEPT}
        className="visually-hidden"
        tabIndex={-1}
        aria-label="Add documents"
        onChange={onFiles}
      />
    </>
  );
}
