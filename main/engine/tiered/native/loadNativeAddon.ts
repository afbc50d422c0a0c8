// Finding and loading the addon (once per process), never throwing: { error } says why the tiered
// engine is unavailable and the app falls back to the standard engine.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddonBinding } from './addonTypes.ts';
import { NativeAddon } from './NativeAddon.ts';
import { findPackageDir } from './llamaBinaries.ts';
export type NativeAddonLoad = { addon: NativeAddon } | { error: string };

const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'strata_tier.node');
let loaded: NativeAddonLoad | null = null;

/**
 * Loads the addon once per process. Never throws: `{ error }` says why the tiered engine is not
 * available (not built, built for another node-llama-cpp, not loadable here) and the app falls back
 * to the standard engine.
 */
export function loadNativeAddon(): NativeAddonLoad {
  if (loaded !== null) return loaded;
  try {
    const path = findAddonPath();
    if (path === null) {
      loaded = { error: `the native addon is not built (no ${ADDON_RELATIVE_PATH}); run npm run build:native` };
      return loaded;
    }
    const binding = createRequire(import.meta.url)(path) as AddonBinding;
    const installed = installedNodeLlamaCppVersion();
    const builtFor = /^node-llama-cpp@([^/]+)\//.exec(binding.llamaCppRelease)?.[1];
    if (installed !== null && builtFor !== undefined && installed !== builtFor) {
      loaded = { error: `the native addon was built against node-llama-cpp ${builtFor} but ${installed} is installed; run npm run build:native` };
      return loaded;
    }
    loaded = { addon: new NativeAddon(binding) };
  } catch (error) {
    loaded = { error: `the native addon could not be loaded: ${error instanceof Error ? error.message : String(error)}` };
  }
  return loaded;
}

/**
 * native/build/Release/strata_tier.node in the first ancestor of `from` that has it (the source tree,
 * the bundled out/main, or a packaged app, where it sits in app.asar.unpacked beside app.asar).
 */
export function findAddonPath(from: string = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    const unpacked = candidate.replace(`.asar${sep}`, `.asar.unpacked${sep}`);
    if (existsSync(unpacked)) return unpacked;
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

function installedNodeLlamaCppVersion(): string | null {
  const dir = findPackageDir('node-llama-cpp');
  if (dir === null) return null;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? null;
}
