import { useRef, useState, type KeyboardEvent } from 'react';
import type { ChunkResidency, DocumentInfo } from '../../../preload/api.ts';
import { formatCount } from '../format/formatCount.ts';
import { useStrata } from '../store/useStrata.ts';
import { tierLabels } from './TierUsage.tsx';
import './ResidencyMap.css';

export function chunkLabel(chunk: ChunkResidency): string {
  return `Chunk ${chunk.index}: ${tierLabels[chunk.tier]}${chunk.read ? ', read' : ''}`;
}

interface Props {
  chunks: ChunkResidency[];
  documents: DocumentInfo[];
}

/**
 * One cell per chunk of the conversation's documents, coloured by tier, outlined when the model read
 * it for the current answer. A click opens the document view at the chunk's passage. One tab stop:
 * arrow keys move between cells.
 */
export function ResidencyMap({ chunks, documents }: Props) {
  const openDocumentView = useStrata((s) => s.openDocumentView);
  const [focusIndex, setFocusIndex] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const cells = chunks.filter((c) => c.documentId !== null);
  const groups = new Map<string, ChunkResidency[]>();
  for (const chunk of cells) {
    const list = groups.get(chunk.documentId!) ?? [];
    list.push(chunk);
    groups.set(chunk.documentId!, list);
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

  if (cells.length === 0) return <p className="panel-hint">No document chunks in the tiers yet.</p>;

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
