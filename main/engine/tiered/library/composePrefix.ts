// The document library (docs/ARCHITECTURE.md, "A document library"): a set's document prefix composed
// from documents read alone, without evaluating them again. Each document was read as [BOS] + its own
// tokens at positions 0…; in a composed prompt it sits after the template text before it, so its
// chunks are spliced moved by a shift (llama_memory_seq_add in the addon's scratch sequence). The
// template text between documents ("glue") is evaluated fresh in place, together with each document's
// first tokens (the selective recompute): read alone, a document's first tokens served as its
// attention sink, the part of its KV that deviates most from a read in context, so they are computed
// again after the documents before them (EPIC/CacheBlend; the share is `recomputePercent`).
import type { KvChunk } from '../../../catalog/KvCatalog.ts';

/** A document read alone into the library: its ingest and its tokens without the context before them. */
export interface LibraryDocument {
  documentId: string;
  ingestId: string;
  /** Tokens evaluated before the document's own when it was read (the BOS): its cells are never placed. */
  contextTokens: number;
  /** The document's own tokens. */
  tokens: readonly number[];
  /** Its chunks at the positions they were read at. */
  chunks: readonly KvChunk[];
  textLength: number;
}

interface ComposedBase {
  /** The GPU tier's key for the chunk where it is placed. */
  key: string;
  /** Where its cells sit in the composed prompt: [posStart, posEnd). */
  posStart: number;
  posEnd: number;
  place: { documentId: string | null; charStart: number; charEnd: number };
}

/** A library chunk placed in the prompt: its blob's cells moved by `shift`, the first `trim` left out. */
export interface PlacedDocumentChunk extends ComposedBase {
  kind: 'document';
  ingestId: string;
  chunk: KvChunk;
  shift: number;
  trim: number;
}

/** Template text and recomputed document tokens, evaluated in this prompt; its blob once it has been. */
export interface GlueChunk extends ComposedBase {
  kind: 'glue';
  /** Which glue run it belongs to (evaluated together, before document `group`'s chunks). */
  group: number;
  tokens: number[];
  blob: Uint8Array | null;
  abstract: Float32Array | null;
}

export type ComposedChunk = PlacedDocumentChunk | GlueChunk;

export interface Composition {
  /** The composed prefix: pieces[0], document 1, pieces[1], … document n. */
  tokens: number[];
  chunks: ComposedChunk[];
  /** Tokens evaluated in place: template text plus recomputed document tokens. */
  glueTokens: number;
  recomputedTokens: number;
}

/**
 * Lays out a composed prefix. `pieces[i]` is the template text before document i (pieces[0] holds the
 * BOS); `pieces[n]` the text after the last one that every question shares (evaluated with the glue
 * too, so a question evaluates only itself, as in the exact mode). Each document's first `lead` tokens
 * (recomputePercent of them, at most `maxLeadTokens`, at least one token left placed) join the glue
 * before it; the chunk they end in is trimmed.
 */
export function composePrefix(compositionKey: string, pieces: readonly (readonly number[])[], documents: readonly LibraryDocument[], recomputePercent: number, glueChunkTokens: number, maxLeadTokens: number): Composition {
  const tokens: number[] = [];
  const chunks: ComposedChunk[] = [];
  let glueTokens = 0;
  let recomputedTokens = 0;
  /** Glue evaluated together (`group`), at the end of the prefix so far, in chunks of at most glueChunkTokens. */
  const addGlue = (glue: readonly number[], group: number, place: GlueChunk['place']) => {
    for (let start = 0; start < glue.length; start += glueChunkTokens) {
      const part = glue.slice(start, start + glueChunkTokens);
      chunks.push({ kind: 'glue', key: `glue:${compositionKey}#${chunks.length}`, group, posStart: tokens.length, posEnd: tokens.length + part.length, tokens: part, blob: null, abstract: null, place });
      tokens.push(...part);
    }
    glueTokens += glue.length;
  };
  documents.forEach((doc, group) => {
    const n = doc.tokens.length;
    const lead = n === 0 ? 0 : Math.min(n - 1, maxLeadTokens, Math.ceil((n * recomputePercent) / 100));
    const firstKept = doc.contextTokens + lead;
    const keptChunk = doc.chunks.find((c) => c.posEnd > firstKept);
    const leadChars = keptChunk ? Math.max(0, keptChunk.charStart) : 0;
    addGlue([...pieces[group], ...doc.tokens.slice(0, lead)], group, { documentId: lead > 0 ? doc.documentId : null, charStart: 0, charEnd: lead > 0 ? Math.min(leadChars, doc.textLength) : 0 });
    recomputedTokens += lead;
    const shift = tokens.length - firstKept;
    for (const chunk of doc.chunks) {
      if (chunk.posEnd <= firstKept) continue;
      const trim = Math.max(0, firstKept - chunk.posStart);
      chunks.push({
        kind: 'document',
        key: `${doc.ingestId}#${chunk.index}@${shift}-${trim}`,
        ingestId: doc.ingestId,
        chunk,
        shift,
        trim,
        posStart: chunk.posStart + trim + shift,
        posEnd: chunk.posEnd + shift,
        place: { documentId: doc.documentId, charStart: clamp(chunk.charStart, doc.textLength), charEnd: clamp(chunk.charEnd, doc.textLength) },
      });
    }
    for (let i = lead; i < n; i++) tokens.push(doc.tokens[i]); // a spread of 128K arguments overflows the stack
  });
  addGlue(pieces[documents.length] ?? [], documents.length, { documentId: null, charStart: 0, charEnd: 0 });
  return { tokens, chunks, glueTokens, recomputedTokens };
}

function clamp(value: number, length: number): number {
  return Math.max(0, Math.min(length, value));
}
