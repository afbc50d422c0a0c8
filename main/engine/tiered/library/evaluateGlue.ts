// Evaluates a composed prefix's glue (template text and recomputed document tokens) in place, run by
// run in position order: each run on a working set of the first chunk and the most recent chunks before
// it that fit the GPU budget (like a block of a read), so it attends to the documents before it as
// they are placed. Its cells become chunks whose blobs and abstracts the composition keeps.
import { StrataError } from '../../errors.ts';
import { computeAbstract, concatLayerAbstracts } from '../abstracts/computeAbstract.ts';
import { recentWindow } from '../abstracts/selectChunks.ts';
import type { SpliceSource, TierManager } from '../TierManager.ts';
import type { ComposedChunk, GlueChunk } from './composePrefix.ts';

export async function evaluateGlue(tiers: TierManager, chunks: readonly ComposedChunk[], sourceOf: (chunk: ComposedChunk) => SpliceSource, scoringLayers: readonly number[]): Promise<void> {
  const groups = new Map<number, GlueChunk[]>();
  for (const chunk of chunks) if (chunk.kind === 'glue') groups.set(chunk.group, [...(groups.get(chunk.group) ?? []), chunk]);
  for (const run of groups.values()) {
    const start = run[0].posStart;
    const end = run.at(-1)!.posEnd;
    const tokens = run.flatMap((chunk) => chunk.tokens);
    await tiers.dropLoose();
    await tiers.makeResident(workingSet(chunks.filter((c) => c.posEnd <= start), tiers.budgetTokens - tokens.length).map(sourceOf));
    if (tiers.nextPosition !== start) throw new StrataError('INTERNAL', `glue at ${start} would follow cells ending at ${tiers.nextPosition}`);
    const result = await tiers.decode(tokens, 'none', { layers: scoringLayers, keys: true });
    const keys = scoringLayers.map((layer) => {
      const capture = result.captures?.find((c) => c.layer === layer);
      if (!capture?.keys) throw new StrataError('INTERNAL', `No keys were captured at layer ${layer}.`);
      return { keys: capture.keys, nTokens: tokens.length, nKvHeads: capture.kvHeadCount, headDim: capture.headDim };
    });
    for (const chunk of run) {
      chunk.blob = await tiers.captureLoose(chunk.key, chunk.posStart, chunk.posEnd);
      chunk.abstract = concatLayerAbstracts(keys.map((k) => computeAbstract(k, chunk.posStart - start, chunk.posEnd - start)));
    }
    if (tiers.nextPosition !== end) throw new StrataError('INTERNAL', `glue [${start}, ${end}) was not captured whole`);
  }
}

/** The first chunk and the most recent ones before the glue that fit `budgetTokens`, in position order. */
function workingSet(before: readonly ComposedChunk[], budgetTokens: number): ComposedChunk[] {
  if (before.length === 0) return [];
  return recentWindow(before, [before[0], before.at(-1)!], budgetTokens, (c) => c.posEnd - c.posStart);
}
