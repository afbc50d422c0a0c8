import { useRef, useState, type KeyboardEvent } from 'react';
import type { ChunkResidency, DocumentInfo } from '../../../preload/api.ts';
import { formatCount } from '../format/formatCount.ts';
import { useStrata } from '../store/useStrata.ts';
import { tierLabels } from './TierUsage.tsx';
import './ResidencyMap.css';

export function chunkLabel(chunk: ChunkResidency): string {
  return `Chunk ${chunk.index}: ${tierLabels[chunk.tier]}${chunk.read ? ', read' : ''}${chunk.documentId === null ? ', prompt text' : ''}`;
}

interface Props {
  chunks: ChunkResidency[];
  documents: DocumentInfo[];
}

/**
 * One cell per chunk of the conversation's documents, grouped under each document's name, coloured by
 * tier, outlined when the model read it for the current answer. A click opens the document view at the
 * chunk's passage. The prompt's own text (the template around and between the documents) is a last
 * group of cells with no document to open. One tab stop: arrow keys move between cells.
 */
export function ResidencyMap({ chunks, documents }: Props) {
  const openDocumentView = useStrata((s) => s.openDocumentView);
  const [focusIndex, setFocusIndex] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const groups = new Map<string, ChunkResidency[]>();
  const promptText: ChunkResidency[] = [];
  for (const chunk of chunks) {
    if (chunk.documentId === null) {
      promptText.push(chunk);
      continue;
    }
    const list = groups.get(chunk.documentId) ?? [];
    list.push(chunk);
    groups.set(chunk.documentId, list);
  }
  const ordered = [...groups.values()].flat();
  const position = new Map(ordered.map((c, i) => [c.index, i]));
  const tabbable = Math.min(focusIndex, Math.max(0, ordered.length - 1));

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const step = { ArrowRight: 1, ArrowDown: 8, ArrowLeft: -1, ArrowUp: -8, Home: -Infinity, End: Infinity }[event.key];
    if (step === undefined || ordered.length === 0) return;
    event.preventDefault();
    const next = Math.max(0, Math.min(ordered.length - 1, tabbable + step));
    setFocusIndex(next);
    grid.current?.querySelector<HTMLButtonElement>(`[data-chunk-index="${ordered[next]!.index}"]`)?.focus();
  }

  if (ordered.length === 0) return <p className="panel-hint">No document chunks in the tiers yet.</p>;

  return (
    <div className="residency" ref={grid} onKeyDown={onKeyDown}>
      {[...groups.entries()].map(([documentId, list]) => {
        const doc = documents.find((d) => d.id === documentId);
        const read = list.filter((c) => c.read).length;
        return (
          <div key={documentId} className="residency-doc">
            <div className="residency-doc-head">
              <span className="residency-doc-name" title={doc?.fileName}>
                {doc?.fileName ?? 'Document'}
              </span>
              <span className="residency-doc-meta">
                {list.length} chunks · {read} read
              </span>
            </div>
            <div className="residency-grid" role="group" aria-label={`Residency of ${doc?.fileName ?? 'document'}`}>
              {list.map((chunk) => (
                <button
                  key={chunk.index}
                  type="button"
                  className={`residency-cell tier-${chunk.tier}${chunk.read ? ' residency-read' : ''}`}
                  aria-label={chunkLabel(chunk)}
                  title={`${chunkLabel(chunk)} · ${formatCount(chunk.tokenCount)} tokens · characters ${formatCount(chunk.charStart)}–${formatCount(chunk.charEnd)}`}
                  data-chunk-index={chunk.index}
                  tabIndex={position.get(chunk.index) === tabbable ? 0 : -1}
                  onFocus={() => setFocusIndex(position.get(chunk.index) ?? 0)}
                  onClick={() => openDocumentView(documentId, chunk.index)}
                />
              ))}
            </div>
          </div>
        );
      })}
      {promptText.length > 0 && (
        <div className="residency-doc residency-prompt">
          <div className="residency-doc-head">
            <span className="residency-doc-name">Prompt text</span>
            <span className="residency-doc-meta">
              {promptText.length} chunks · {formatCount(promptText.reduce((sum, c) => sum + c.tokenCount, 0))} tokens
            </span>
          </div>
          <div className="residency-grid" role="list" aria-label="Residency of the prompt text">
            {promptText.map((chunk) => (
              <span
                key={chunk.index}
                role="listitem"
                className={`residency-cell residency-cell-static tier-${chunk.tier}${chunk.read ? ' residency-read' : ''}`}
                aria-label={chunkLabel(chunk)}
                title={`${chunkLabel(chunk)} · ${formatCount(chunk.tokenCount)} tokens of the prompt's own text (the template around and between the documents)`}
              />
            ))}
          </div>
        </div>
      )}
      <ul className="legend" aria-label="Legend">
        {(['gpu', 'cpu', 'disk'] as const).map((tier) => (
          <li key={tier}>
            <span className={`legend-swatch tier-${tier}`} aria-hidden="true" /> {tierLabels[tier]}
          </li>
        ))}
        <li>
          <span className="legend-swatch legend-read" aria-hidden="true" /> read for this answer
        </li>
      </ul>
    </div>
  );
}
