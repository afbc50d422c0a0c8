import { useState, type FormEvent } from 'react';
import { formatBytes } from '../../format/formatBytes.ts';
import { formatCount } from '../../format/formatCount.ts';
import { useStrata } from '../../store/useStrata.ts';

/** Search the Hub for GGUF repositories (or type OWNER/REPO) and download one of their files. */
export function HubSearch() {
  const [query, setQuery] = useState('');
  const search = useStrata((s) => s.hubSearch);
  const searchHub = useStrata((s) => s.searchHub);
  const repoFiles = useStrata((s) => s.repoFiles);
  const loadRepoFiles = useStrata((s) => s.loadRepoFiles);
  const startDownload = useStrata((s) => s.startDownload);
  const downloads = useStrata((s) => s.downloads);

  function submit(event: FormEvent) {
    event.preventDefault();
    void searchHub(query);
  }

  return (
    <section className="hub-search" aria-label="Search Hugging Face">
      <form className="hub-search-form" onSubmit={submit}>
        <input className="input" aria-label="Hugging Face repository or search" placeholder="OWNER/REPO or a model name" value={query} onChange={(e) => setQuery(e.target.value)} spellCheck={false} />
        <button type="submit" className="button button-small" disabled={query.trim() === ''}>
          Search
        </button>
      </form>
      {search?.state === 'searching' && <p className="hint">Searching…</p>}
      {search?.state === 'failed' && <p className="hint">{search.message}</p>}
      {search?.state === 'ready' && search.repos.length === 0 && <p className="hint">No GGUF repository matches “{search.query}”.</p>}
      {search && search.repos.length > 0 && (
        <ul className="hub-repos" aria-label="Repositories found">
          {search.repos.map(({ repo, downloads: count }) => {
            const files = repoFiles[repo];
            return (
              <li key={repo} className="hub-repo">
                <button type="button" className="link-button" aria-expanded={files !== undefined} onClick={() => void loadRepoFiles(repo)}>
                  {repo}
                </button>
                {count > 0 && <span className="hub-repo-meta"> · {formatCount(count)} downloads</span>}
                {files === 'loading' && <p className="hint">Listing files…</p>}
                {files && files !== 'loading' && 'error' in files && <p className="hint">{files.error}</p>}
                {Array.isArray(files) && (
                  <ul className="hub-files" aria-label={`GGUF files of ${repo}`}>
                    {files.length === 0 && <li className="hint">No GGUF files here.</li>}
                    {files.map((file) => (
                      <li key={file.uri} className="hub-file">
                        <span className="hub-file-name">{file.fileName}</span>
                        <span className="hub-file-meta">{formatBytes(file.sizeBytes)}</span>
                        <button type="button" className="button button-small" disabled={downloads[file.uri] !== undefined} aria-label={`Download ${file.fileName}`} onClick={() => void startDownload(file.uri)}>
                          Download
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
