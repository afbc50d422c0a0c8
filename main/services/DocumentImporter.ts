// Documents into the library: the bytes read, deduplicated by SHA-256 (the same bytes under another
// name say which document they are), turned into text (main/engine/documents/), stored, and counted
// in tokens for the open model in the background (off the main thread: the tokenizer worker).
import { createHash } from 'node:crypto';
import type { DocumentInfo, StrataEvents } from '../../preload/api.ts';
import type { Catalog } from '../catalog/Catalog.ts';
import { DocumentError } from '../engine/documents/DocumentError.ts';
import { DEFAULT_MAX_DOCUMENT_BYTES, extractText } from '../engine/documents/extractText.ts';
import type { EngineModel } from '../engine/Engine.ts';
import { RequestError, errorPayload } from '../engine/errors.ts';
import type { EventSink } from './StrataService.ts';

export interface DocumentImporterOptions {
  catalog: Catalog;
  emit: EventSink;
  maxDocumentBytes?: number;
  /** The open model (its catalog id and engine model), or null. */
  openModel: () => { id: string; model: EngineModel } | null;
}

export class DocumentImporter {
  private readonly options: DocumentImporterOptions;
  private readonly imports = new Map<string, AbortController>();
  private counting: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(options: DocumentImporterOptions) {
    this.options = options;
  }

  get maxDocumentBytes(): number {
    return this.options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  }

  cancel(requestId: string): void {
    this.imports.get(requestId)?.abort();
  }

  async import(requestId: string, fileName: string, read: () => Promise<Uint8Array>): Promise<DocumentInfo> {
    const { catalog, emit } = this.options;
    if (this.imports.has(requestId)) throw new RequestError('DUPLICATE_REQUEST', `An import with request id ${requestId} is already running.`);
    const controller = new AbortController();
    this.imports.set(requestId, controller);
    const progress = (phase: StrataEvents['documents.onImportProgress']['phase'], fraction: number) => emit('documents.onImportProgress', { requestId, fileName, phase, fraction });
    try {
      progress('reading', 0);
      const bytes = await read();
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const existing = catalog.findDocumentByHash(sha256);
      if (existing) {
        progress('done', 1);
        // The same bytes again: the document already there, said so rather than silently.
        const same = existing.fileName === fileName ? `${fileName} is already in the library.` : `${fileName} has the same contents as ${existing.fileName}, already in the library; it was not added again.`;
        emit('app.onNotice', { message: same, tone: 'info' });
        return existing;
      }
      progress('extracting', 0.1);
      const { kind, text, notes } = await extractText({
        fileName,
        bytes,
        signal: controller.signal,
        maxBytes: this.maxDocumentBytes,
        onProgress: (fraction) => progress('extracting', 0.1 + 0.7 * fraction),
      });
      if (controller.signal.aborted) throw new DocumentError('CANCELLED', `Import of ${fileName} was cancelled.`);
      progress('saving', 0.9);
      const doc = catalog.addDocument({ sha256, fileName, kind, sizeBytes: bytes.byteLength, text, tokenCount: null, tokenCountModelId: null });
      progress('done', 1);
      for (const message of notes) emit('app.onNotice', { message, tone: 'info' });
      // Counted in the background for the open model, like the rest of the library.
      const open = this.options.openModel();
      if (open) this.countMissingTokens(open.id);
      return doc;
    } catch (error) {
      emit('documents.onImportProgress', { requestId, fileName, phase: 'failed', fraction: 1, error: errorPayload(error) });
      throw error;
    } finally {
      this.imports.delete(requestId);
    }
  }

  /**
   * Token counts depend on the tokenizer: the open model's cached counts are shown at once and the
   * missing ones are made in the background, one document at a time, off the main thread where the
   * engine can (countTokens is async), each saved as it is done. A count that fails stays unknown.
   */
  countMissingTokens(modelId: string): void {
    const { catalog, emit } = this.options;
    const missing = catalog.useTokenCountsOf(modelId);
    emit('documents.onChanged', { reason: 'tokenCounts' });
    this.counting = this.counting.then(async () => {
      for (const id of missing) {
        const open = this.options.openModel();
        if (this.disposed || open?.id !== modelId) return;
        if (!catalog.getDocument(id)) continue;
        try {
          catalog.setDocumentTokenCount(id, await open.model.countTokens(catalog.getDocumentText(id)), modelId);
          emit('documents.onChanged', { reason: 'tokenCounts' });
        } catch {
          // Unknown until the next open; never a failed model open.
        }
      }
    });
  }

  /** Cancels the imports under way and waits for the token counts in progress. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const controller of this.imports.values()) controller.abort();
    await this.counting.catch(() => undefined);
  }
}
