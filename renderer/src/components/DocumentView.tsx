import { useEffect, useMemo, useRef, useState } from 'react';
import type { ChunkResidency } from '../../../preload/api.ts';
import { selectActiveResidency } from '../store/selectors.ts';
import { useStrata } from '../store/useStrata.ts';
import { Icon } from './Icon.tsx';
import { tierLabels } from './TierUsage.tsx';
import './DocumentView.css';

/** Text without a residency map is still split, so a 1 MB document is not one giant text node. */
const PLAIN_PIECE_CHARS = 4096;

interface Segment {
  start: number;
  end: number;
  chunk: ChunkResidency | null;
}

/** The text cut at chunk boundaries ([charStart, charEnd)); text outside every chunk gets plain pieces. */
export function segmentText(length: number, chunks: ChunkResidency[]): Segment[] {
  const sorted = chunks
    .filter((c) => c.charEnd > c.charStart)
    .slice()
    .sort((a, b) => a.charStart - b.charStart);
  const segments: Segment[] = [];
  let at = 0;
  const plainUntil = (end: number) => {
    while (at < end) {
      const next = Math.min(end, at + PLAIN_PIECE_CHARS);
      segments.push({ start: at, end: next, chunk: null });
      at = next;
    }
  };
  for (const chunk of sorted) {
    const start = Math.max(at, Math.min(chunk.charStart, length));
    const end = Math.min(chunk.charEnd, length);
    if (end <= start) continue;
    plainUntil(start);
    segments.push({ start, end, chunk });
    at = end;
  }
  plainUntil(length);
  return segments;
}

/** What the model read: the document's text with the chunks spliced in for the answer highlighted. */
export function DocumentView() {
  const target = useStrata((s) => s.documentView);
  const close = useStrata((s) => s.closeDocumentView);
  const doc = useStrata((s) => (target ? s.documents.find((d) => d.id === target.documentId) : undefined));
  const textState = useStrata((s) => (target ? s.documentTexts[target.documentId] : undefined));
  const residency = useStrata(selectActiveResidency);
  const dialog = useRef<HTMLDialogElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const [readCursor, setReadCursor] = useState(-1);

  const chunks = useMemo(
    () => (target && residency ? residency.chunks.filter((c) => c.documentId === target.documentId) : []),
    [target, residency],
  );
  const text = textState?.state === 'ready' ? textState.text : null;
  const segments = useMemo(() => (text === null ? [] : segmentText(text.length, chunks)), [text, chunks]);
  const readChunks = useMemo(() => chunks.filter((c) => c.read).sort((a, b) => a.charStart - b.charStart), [chunks]);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (target && !el.open) el.showModal();
    if (!target && el.open) el.close();
  }, [target]);

  function scrollToChunk(index: number) {
    const el = body.current?.querySelector<HTMLElement>(`[data-chunk-index="${index}"]`);
    if (!el) return;
    el.scrollIntoView({ block: 'center' });
    el.classList.remove('doc-chunk-focus');
    // Restart the flash animation on a repeated click.
    void el.offsetWidth;
    el.classList.add('doc-chunk-focus');
    el.focus({ preventScroll: true });
  }

  // Scroll once the text is on screen: to the clicked chunk, or to the first passage the model read.
  useEffect(() => {
    if (!target || text === null) return;
    const index = target.chunkIndex ?? readChunks[0]?.index ?? null;
    setReadCursor(target.chunkIndex === null ? 0 : readChunks.findIndex((c) => c.index === target.chunkIndex));
    if (index === null) body.current?.scrollTo({ top: 0 });
    else scrollToChunk(index);
    // Only a new target (or its text arriving) scrolls; residency updates must not yank the view.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target?.nonce, text]);

  function goToRead(step: number) {
    if (readChunks.length === 0) return;
    const next = (readCursor + step + readChunks.length) % readChunks.length;
    setReadCursor(next);
    scrollToChunk(readChunks[next]!.index);
  }

  const title = doc?.fileName ?? 'Document';
  return (
    <dialog
      ref={dialog}
      className="document-view"
      aria-label={`Document ${title}`}
      onClose={close}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself, outside its box) closes it.
        if (e.target === e.currentTarget) close();
      }}
    >
      {target && (
        <div className="document-view-inner">
          <div className="document-view-head">
            <h2 className="document-view-title" title={title}>
              {title}
            </h2>
            <span className="document-view-meta">
              {chunks.length === 0
                ? 'Not read into the tiers yet'
                : `${readChunks.length} of ${chunks.length} passages read for the last answer`}
            </span>
            <button type="button" className="button button-small" disabled={readChunks.length === 0} onClick={() => goToRead(-1)}>
              Previous passage read
            </button>
            <button type="button" className="button button-small" disabled={readChunks.length === 0} onClick={() => goToRead(1)}>
              Next passage read
            </button>
            <button type="button" className="icon-button" aria-label="Close document view" onClick={close} autoFocus>
              <Icon name="close" />
            </button>
          </div>
          <div className="document-view-body" ref={body} role="document" aria-label={`Text of ${title}`}>
            {textState?.state === 'failed' ? (
              <p className="message-error">Could not load the text: {textState.message}</p>
            ) : text === null ? (
              <p className="panel-hint">Loading the text…</p>
            ) : (
              segments.map((segment) => {
                const piece = text.slice(segment.start, segment.end);
                const chunk = segment.chunk;
                if (!chunk) return <span key={`p${segment.start}`}>{piece}</span>;
                const label = `Chunk ${chunk.index} (${tierLabels[chunk.tier]}${chunk.read ? ', read' : ''})`;
                return chunk.read ? (
                  <mark key={chunk.index} className="doc-chunk doc-chunk-read" data-chunk-index={chunk.index} title={label} tabIndex={-1}>
                    {piece}
                  </mark>
                ) : (
                  <span key={chunk.index} className="doc-chunk" data-chunk-index={chunk.index} title={label} tabIndex={-1}>
                    {piece}
                  </span>
                );
              })
            )}
          </div>
        </div>
      )}
    </dialog>
  );
}
