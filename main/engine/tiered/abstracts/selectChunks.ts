// Picks the chunks to make resident on the GPU for a question: the pinned ones (sink, most recent
// chunk, …) always, then the best-scoring ones that still fit the token budget.
import { StrataError } from '../../errors.ts';

export interface SelectableChunk<Id> {
  id: Id;
  tokenCount: number;
  /** Higher is more relevant (scoreChunks). NaN counts as least relevant. */
  score: number;
  /** Where the chunk sits in the sequence (e.g. its first KV position); the result is in this order. */
  position: number;
}

/** The pinned chunks alone do not fit the GPU budget. */
export class PinnedOverBudgetError extends StrataError {
  readonly pinnedTokens: number;
  readonly budgetTokens: number;
  constructor(pinnedTokens: number, budgetTokens: number) {
    super(
      'PINNED_OVER_BUDGET',
      `The chunks that must stay on the GPU (the system prompt and the most recent text) take ${pinnedTokens} tokens, more than the GPU budget of ${budgetTokens} tokens. ` +
        'Raise the GPU budget or shorten the system prompt.',
    );
    this.name = 'PinnedOverBudgetError';
    this.pinnedTokens = pinnedTokens;
    this.budgetTokens = budgetTokens;
  }
}

/**
 * Ids of the chunks to make resident, sorted by position (splicing must happen in position order):
 * every pinned chunk, then chunks by descending score (ties: earlier position first) as long as they
 * fit `budgetTokens`; one that does not fit is skipped and smaller ones after it are still tried.
 * Throws PinnedOverBudgetError when the pinned chunks alone exceed the budget.
 */
export function selectChunks<Id>(input: { chunks: readonly SelectableChunk<Id>[]; budgetTokens: number; pinnedIds: Iterable<Id> }): Id[] {
  const { chunks, budgetTokens } = input;
  if (!Number.isSafeInteger(budgetTokens) || budgetTokens < 0) throw new RangeError(`budgetTokens must be a non-negative integer, got ${budgetTokens}`);
  const byId = new Map<Id, SelectableChunk<Id>>();
  for (const chunk of chunks) {
    if (!Number.isSafeInteger(chunk.tokenCount) || chunk.tokenCount < 0) throw new RangeError(`chunk ${String(chunk.id)} has an invalid tokenCount ${chunk.tokenCount}`);
    if (byId.has(chunk.id)) throw new RangeError(`chunk id ${String(chunk.id)} appears twice`);
    byId.set(chunk.id, chunk);
  }

  const selected = new Set<Id>();
  let usedTokens = 0;
  for (const id of input.pinnedIds) {
    const chunk = byId.get(id);
    if (chunk === undefined) throw new RangeError(`pinned chunk ${String(id)} is not among the chunks`);
    if (selected.has(id)) continue;
    selected.add(id);
    usedTokens += chunk.tokenCount;
  }
  if (usedTokens > budgetTokens) throw new PinnedOverBudgetError(usedTokens, budgetTokens);

  const candidates = chunks.filter((chunk) => !selected.has(chunk.id));
  const rank = (score: number) => (Number.isNaN(score) ? -Infinity : score);
  candidates.sort((a, b) => rank(b.score) - rank(a.score) || a.position - b.position);
  for (const chunk of candidates) {
    if (usedTokens === budgetTokens) break;
    if (usedTokens + chunk.tokenCount > budgetTokens) continue;
    selected.add(chunk.id);
    usedTokens += chunk.tokenCount;
  }

  return [...selected].map((id) => byId.get(id)!).sort((a, b) => a.position - b.position).map((chunk) => chunk.id);
}

/**
 * The baseline without selection (StreamingLLM), also the working set a block is evaluated on: the
 * pinned chunks and the contiguous most recent ones that fit `budgetTokens`. `items` are in position
 * order, and so is the result.
 */
export function recentWindow<T>(items: readonly T[], pinned: readonly T[], budgetTokens: number, tokensOf: (item: T) => number): T[] {
  const chosen = new Set(pinned);
  let used = 0;
  for (const item of chosen) used += tokensOf(item);
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (chosen.has(item)) continue;
    if (used + tokensOf(item) > budgetTokens) break;
    chosen.add(item);
    used += tokensOf(item);
  }
  return items.filter((item) => chosen.has(item));
}
