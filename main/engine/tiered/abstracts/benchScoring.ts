// Times chunk scoring, TypeScript reference vs the native addon, for 2,000 chunks.
// Run: npx node main/engine/tiered/abstracts/benchScoring.ts [--chunks N] [--json]
// Shapes: the needle model's (1 scoring layer of its 2, 3 heads, 1 KV head, 256 dims) and an 8B llama's
// (2 scoring layers, 32 heads, 8 KV heads, 128 dims), with 8 and 64 query tokens. Nothing here is a test.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createRng } from '../../testModels/createRng.ts';
import { loadNativeAddon } from '../native/NativeAddon.ts';
import { abstractLength } from './computeAbstract.ts';
import { scoreChunks } from './scoreChunks.ts';
import type { ScoreChunksInput } from './scoreChunks.ts';

const { values } = parseArgs({ options: { chunks: { type: 'string', default: '2000' }, json: { type: 'boolean', default: false } } });
const chunks = Number(values.chunks);
const REPEATS = 5;

const shapes = [
  { name: 'needle', layers: 1, heads: 3, kvHeads: 1, headDim: 256 },
  { name: '8B', layers: 2, heads: 32, kvHeads: 8, headDim: 128 },
];

function input(shape: (typeof shapes)[number], tokens: number): ScoreChunksInput {
  const rng = createRng(1);
  const queries = Array.from({ length: shape.layers }, () => rng.fillNormal(new Float32Array(tokens * shape.heads * shape.headDim), 1));
  const abstracts = rng.fillNormal(new Float32Array(chunks * shape.layers * abstractLength(shape.kvHeads, shape.headDim)), 1);
  return { queries, nQueryTokens: tokens, nHeads: shape.heads, nKvHeads: shape.kvHeads, headDim: shape.headDim, abstracts };
}

/** Best of REPEATS wall-clock milliseconds (after one warm-up run). */
async function bestMs(run: () => unknown): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    await run();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Best of REPEATS milliseconds until `run` returns its promise (which is then awaited, untimed). */
async function syncPartMs(run: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let i = 0; i <= REPEATS; i++) {
    const start = performance.now();
    const pending = run();
    if (i > 0) best = Math.min(best, performance.now() - start);
    await pending;
  }
  return best;
}

const load = loadNativeAddon();
const addon = 'addon' in load ? load.addon : null;
if (addon === null) console.warn(`native: ${'error' in load ? load.error : ''}`);
const rows: Array<Record<string, string | number | null>> = [];
for (const shape of shapes) {
  for (const tokens of [8, 64]) {
    const scoring = input(shape, tokens);
    const row: Record<string, string | number | null> = { shape: shape.name, queryTokens: tokens, chunks };
    row.tsMs = await bestMs(() => scoreChunks(scoring));
    row.nativeMs = addon === null ? null : await bestMs(() => addon.scoreChunks(scoring));
    row.native1ThreadMs = addon === null ? null : await bestMs(() => addon.scoreChunks(scoring, { threads: 1 }));
    // What the JS thread pays: argument checks and copying the inputs, until the call returns its promise.
    row.nativeJsThreadMs = addon === null ? null : await syncPartMs(() => addon.scoreChunks(scoring));
    rows.push(row);
  }
}
if (values.json) {
  console.log(JSON.stringify({ cores: availableParallelism(), rows }));
} else {
  console.log(`${chunks} chunks, ${availableParallelism()} cores, best of ${REPEATS} (ms):`);
  console.table(rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' && k.endsWith('Ms') ? Number(v.toFixed(1)) : v]))));
}
