// Shared setup of the native addon tests: node-llama-cpp's Llama first (it picks the binary variant),
// then the addon on the same bins folder, so both run on one copy of llama.cpp.

import { availableParallelism } from 'node:os';
import type { Llama } from 'node-llama-cpp';
import { getLlamaRuntime } from '../../llamaRuntime.ts';
import { getLlamaBinsDir, loadNativeAddon } from './NativeAddon.ts';
import type { AddonInitInfo, NativeAddon } from './NativeAddon.ts';

export interface NativeTestSetup {
  addon: NativeAddon;
  llama: Llama;
  binsDir: string;
  initInfo: AddonInitInfo;
}

/** The addon initialised beside node-llama-cpp, or the reason it is not built (tests skip with it). */
export async function setUpNativeAddon(): Promise<NativeTestSetup | { skip: string }> {
  const load = loadNativeAddon();
  if ('error' in load) return { skip: load.error };
  const llama = await getLlamaRuntime();
  const binsDir = await getLlamaBinsDir(llama);
  const initInfo = await load.addon.initialize(binsDir);
  return { addon: load.addon, llama, binsDir, initInfo };
}

/** CPU threads for test contexts: all cores, never more (oversubscribing 2 cores is very slow). */
export const TEST_THREADS = Math.max(1, Math.min(8, availableParallelism()));

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function range(start: number, end: number): Int32Array {
  return Int32Array.from({ length: end - start }, (_, i) => start + i);
}

/** Deterministic pseudo-random token ids in [first, vocab). */
export function randomTokens(count: number, vocab: number, seed: number, first = 3): Int32Array {
  let state = seed >>> 0 || 1;
  return Int32Array.from({ length: count }, () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return first + (state % (vocab - first));
  });
}
