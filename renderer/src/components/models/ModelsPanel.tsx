import { useEffect } from 'react';
import { useStrata } from '../../store/useStrata.ts';
import { CatalogModelRow } from './CatalogModelRow.tsx';
import { LocalModelList } from './LocalModelList.tsx';
import { DownloadRow } from './DownloadRow.tsx';
import { HubSearch } from './HubSearch.tsx';
import './models.css';

/** The Models tab: downloads, the curated catalog (with fit), a Hub search, and the models on this machine. */
export function ModelsPanel() {
  const catalog = useStrata((s) => s.catalog);
  const downloads = useStrata((s) => s.downloads);
  const localModels = useStrata((s) => s.localModels);
  const loadCatalog = useStrata((s) => s.loadCatalog);
  const findLocalModels = useStrata((s) => s.findLocalModels);
  useEffect(() => {
    void loadCatalog();
    void findLocalModels();
  }, [loadCatalog, findLocalModels]);
  const unfinished = Object.values(downloads);

  return (
    <div className="models-panel" role="region" aria-label="Models">
      <h2 className="panel-title">Models</h2>
      {unfinished.length > 0 && (
        <section aria-label="Downloads">
          <h3 className="dashboard-heading">Downloads</h3>
          <ul className="downloads">
            {unfinished.map((d) => (
              <DownloadRow key={d.uri} download={d} />
            ))}
          </ul>
        </section>
      )}
      <section aria-label="Catalog">
        <h3 className="dashboard-heading">Catalog</h3>
        <p className="hint">Instruct models with long contexts, from Hugging Face. Each file is checked against the repository's SHA-256 before it is offered.</p>
        {catalog === null ? (
          <p className="hint">Loading…</p>
        ) : (
          <ul className="catalog" aria-label="Model catalog">
            {catalog.map((m) => (
              <CatalogModelRow key={m.uri} model={m} />
            ))}
          </ul>
        )}
      </section>
      <HubSearch />
      <section aria-label="On this machine">
        <h3 className="dashboard-heading">On this machine</h3>
        {localModels && localModels.length === 0 && <p className="hint">No GGUF files found in Strata's models folder, LM Studio's or the Hugging Face cache.</p>}
        <LocalModelList models={localModels ?? []} deletable />
      </section>
    </div>
  );
}
