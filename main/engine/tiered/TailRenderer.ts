// Renders an ask's prompt without tokenizing its documents again. The documents' part is known (the
// stored prefix's tokens); what follows it is rendered with stand-ins, each document cut to its last
// STAND_IN_CHARS characters, and put after the stored prefix. Tokenizers merge only within a few
// characters, so the tokens after the documents come out the same; that is checked once per document
// set against a whole render, and a set where it does not hold is rendered whole every time. A
// 128K-token document costs ~100 ms to render whole (worker round trip and tokenization) on every ask.
import type { EngineDocument, EngineTurn } from '../Engine.ts';
import type { AsyncPromptRenderer } from './TieredModel.ts';

const STAND_IN_CHARS = 4000;
const MAX_SETS = 64;

interface StandIn {
  documents: EngineDocument[];
  /** Tokens of the stand-ins' own document prefix. */
  prefixLength: number;
  /** Per kind of render: whether composing was checked equal to a whole render (false: render whole). */
  verified: Map<'render' | 'turns', boolean>;
}

/** Where a set's check is kept between processes (the catalog): a new process then trusts it without a whole render. */
export interface StandInChecks {
  get(setKey: string): boolean | null;
  set(setKey: string, ok: boolean): void;
}

export class TailRenderer {
  private readonly inner: AsyncPromptRenderer;
  private readonly checks: StandInChecks | null;
  private readonly sets = new Map<string, StandIn>();

  constructor(inner: AsyncPromptRenderer, checks: StandInChecks | null = null) {
    this.inner = inner;
    this.checks = checks;
  }

  /** The whole prompt, as `inner.render` gives it. */
  render(setKey: string, documents: readonly EngineDocument[], prefix: readonly number[] | null, turns: readonly EngineTurn[], question: string, instructions: string | null): Promise<number[]> {
    return this.compose('render', setKey, documents, prefix, () => this.inner.render(documents, turns, question, instructions), (docs) => this.inner.render(docs, turns, question, instructions));
  }

  /** The prompt every next question shares, as `inner.prefixWithTurns` gives it. */
  prefixWithTurns(setKey: string, documents: readonly EngineDocument[], prefix: readonly number[] | null, turns: readonly EngineTurn[], instructions: string | null): Promise<number[]> {
    return this.compose('turns', setKey, documents, prefix, () => this.inner.prefixWithTurns(documents, turns, instructions), (docs) => this.inner.prefixWithTurns(docs, turns, instructions));
  }

  private async compose(
    kind: 'render' | 'turns',
    setKey: string,
    documents: readonly EngineDocument[],
    prefix: readonly number[] | null,
    whole: () => Promise<number[]>,
    withStandIns: (documents: EngineDocument[]) => Promise<number[]>,
  ): Promise<number[]> {
    if (prefix === null || documents.length === 0) return whole();
    const standIn = await this.standIn(setKey, documents);
    const verified = standIn.verified.get(kind);
    if (verified === false) return whole();
    const tail = (await withStandIns(standIn.documents)).slice(standIn.prefixLength);
    const composed = [...prefix, ...tail];
    if (verified === undefined) {
      const full = await whole();
      const ok = sameTokens(full, composed);
      standIn.verified.set(kind, ok);
      // Both kinds compose the same way after the same boundary: one check speaks for a new process.
      if (this.checks?.get(setKey) !== ok) this.checks?.set(setKey, ok);
      return full;
    }
    return composed;
  }

  private async standIn(setKey: string, documents: readonly EngineDocument[]): Promise<StandIn> {
    const known = this.sets.get(setKey);
    if (known) return known;
    const standIns = documents.map((doc) => ({ id: doc.id, text: doc.text.slice(-STAND_IN_CHARS) }));
    const created: StandIn = { documents: standIns, prefixLength: (await this.inner.prefix(standIns)).length, verified: new Map() };
    const checked = this.checks?.get(setKey) ?? null;
    if (checked !== null) for (const kind of ['render', 'turns'] as const) created.verified.set(kind, checked);
    this.sets.set(setKey, created);
    while (this.sets.size > MAX_SETS) this.sets.delete(this.sets.keys().next().value as string);
    return created;
  }
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
