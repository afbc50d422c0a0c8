// Prepare: a document's KV read for the open model ahead of any question (the Documents tab's Prepare,
// `strata docs prepare`). The tiered engine reads it on the model's queue; here: one read per document at
// a time (a second call joins the first), stopped by document id from any window, progress as
// documents.onKvProgress at most 4 times a second, and documents.onChanged 'kv' when it ends, however it
// ends. Also the Documents tab's view of every document's stored KV (documents.kvState).
import type { DocumentInfo, DocumentKvInfo, DocumentKvReport, EngineSettings, StrataEvents } from '../../preload/api.ts';
import type { Catalog } from '../catalog/Catalog.ts';
import type { EngineModel } from '../engine/Engine.ts';
import { RequestError, StrataError } from '../engine/errors.ts';
import type { OpenModel } from './ModelHost.ts';
import type { EventSink } from './StrataService.ts';

/** At most 4 progress events a second (the last step always goes). */
const PROGRESS_EVERY_MS = 250;

export interface DocumentPreparerOptions {
  catalog: Catalog;
  emit: EventSink;
  settings: () => EngineSettings;
  /** The open model now (null while none is open or one is opening). */
  openModel: () => OpenModel | null;
  /** The open model, after any open in progress; NO_MODEL when there is none. */
  requireModel: () => Promise<OpenModel>;
  /** Prepares wait for the start-up sweep of the KV tiers, like answers. */
  ready: Promise<void>;
  /** What the user is told when the disk budget drops documents' KV to make room. */
  evictionNotice: (documentIds: string[], bytes: number) => string;
}

interface Running {
  controller: AbortController;
  /** Resolves with the tokens evaluated; rejects with the read's error (CANCELLED when stopped). */
  done: Promise<number>;
  tokensDone: number;
  tokenCount: number;
}

export class DocumentPreparer {
  private readonly options: DocumentPreparerOptions;
  private readonly running = new Map<string, Running>();
  /** Documents being removed: a Prepare of them is refused until they are gone. */
  private readonly removing = new Set<string>();

  constructor(options: DocumentPreparerOptions) {
    this.options = options;
  }

  /** Each document's stored KV for the open model, with the Prepares running now. */
  kvState(): DocumentKvReport {
    const kvReuse = this.options.settings().kvReuse;
    const open = this.options.openModel();
    if (!open) return { engine: null, unavailableReason: 'No model is open: open one to see and prepare its documents’ KV.', kvReuse, documents: [] };
    if (!open.model.documentKv) return { engine: open.info.engine ?? 'standard', unavailableReason: standardEngineReason(open), kvReuse, documents: [] };
    const documents: DocumentKvInfo[] = open.model.documentKv().map((kv) => {
      const live = this.running.get(kv.documentId);
      if (!live) return { ...kv, preparing: false };
      return { ...kv, state: 'running', tokensDone: Math.max(kv.tokensDone, live.tokensDone), preparing: true };
    });
    // A Prepare still waiting for the model's queue (or tokenizing) has no stored row yet.
    for (const [documentId, live] of this.running) {
      if (documents.some((d) => d.documentId === documentId)) continue;
      documents.push({ documentId, state: 'running', tokenCount: live.tokenCount, tokensDone: live.tokensDone, bytes: 0, tier: 'disk', preparing: true });
    }
    return { engine: open.info.engine ?? 'tiered', unavailableReason: null, kvReuse, documents };
  }

  /** Reads a document's KV for the open model; resolves with the tokens evaluated (0: read before). */
  async prepare(id: string): Promise<number> {
    const joined = this.running.get(id);
    if (joined) return joined.done;
    this.requireDocument(id);
    const open = await this.options.requireModel();
    const { model } = open;
    if (!model.prepareDocument) throw new RequestError('NOT_ALLOWED', standardEngineReason(open));
    // Another call may have started it, or a removal begun, while the model was awaited.
    const again = this.running.get(id);
    if (again) return again.done;
    const doc = this.requireDocument(id);
    const text = this.options.catalog.getDocumentText(id);
    // Until the first progress, the count made for this model (if any) stands for the read's size.
    const progress = { tokensDone: 0, tokenCount: doc.tokenCountModelId === open.info.id ? (doc.tokenCount ?? 0) : 0 };
    const controller = new AbortController();
    const done = this.read(model, { id, text, sha256: doc.sha256 }, controller.signal, progress).finally(() => {
      this.running.delete(id);
      // However it ended (read, stopped, failed), the Documents tab shows the stored state now.
      this.options.emit('documents.onChanged', { reason: 'kv' });
    });
    this.running.set(id, Object.assign(progress, { controller, done }));
    return done;
  }

  private requireDocument(id: string): DocumentInfo {
    const doc = this.removing.has(id) ? null : this.options.catalog.getDocument(id);
    if (!doc) throw new RequestError('NOT_FOUND', `No document with id ${id}: it was removed, or never added.`);
    return doc;
  }

  private async read(model: EngineModel, document: { id: string; text: string; sha256: string }, signal: AbortSignal, entry: { tokensDone: number; tokenCount: number }): Promise<number> {
    const { emit } = this.options;
    await this.options.ready;
    // Stopped before it started (the model closing, the document being removed).
    if (signal.aborted || this.options.openModel()?.model !== model) throw cancelled();
    let lastAt = -Infinity;
    const progress = (tokensDone: number, tokenCount: number) => {
      entry.tokensDone = tokensDone;
      entry.tokenCount = tokenCount;
      const now = performance.now();
      if (tokensDone < tokenCount && now - lastAt < PROGRESS_EVERY_MS) return;
      lastAt = now;
      emit('documents.onKvProgress', { documentId: document.id, tokensDone, tokenCount } satisfies StrataEvents['documents.onKvProgress']);
    };
    return model.prepareDocument!(document, {
      signal,
      onIngestProgress: progress,
      onNotice: (message) => emit('app.onNotice', { message, tone: 'info' }),
      onKvEvicted: ({ documentIds, bytes }) => emit('app.onNotice', { message: this.options.evictionNotice(documentIds, bytes), tone: 'info' }),
    });
  }

  /** Stops the Prepare of a document (it fails with CANCELLED); returns at once. */
  cancel(id: string): void {
    this.running.get(id)?.controller.abort();
  }

  /** Stops every Prepare and waits for them to end; returns how many were running. */
  async stopAll(): Promise<number> {
    const all = [...this.running.values()];
    for (const entry of all) entry.controller.abort();
    await Promise.all(all.map((entry) => entry.done.catch(() => undefined)));
    return all.length;
  }

  /**
   * Before a document is removed: its Prepare is stopped and waited for, and no new one starts until
   * `end` is called (after the document and its KV are gone).
   */
  async beginRemoval(id: string): Promise<{ end: () => void }> {
    this.removing.add(id);
    const entry = this.running.get(id);
    entry?.controller.abort();
    await entry?.done.catch(() => undefined);
    return { end: () => this.removing.delete(id) };
  }
}

/** Why Prepare and the KV state are unavailable on a model the standard engine serves. */
function standardEngineReason(open: OpenModel): string {
  const why = open.info.engineNotice ?? 'Choose the tiered engine in Settings to read documents ahead of questions.';
  return `Prepare needs the tiered engine: ${open.info.name} is open on the standard engine, which keeps no KV per document. ${why}`;
}

function cancelled(): StrataError {
  return new StrataError('CANCELLED', 'Preparing the document was stopped before it started; Prepare it again when you want it read.');
}
