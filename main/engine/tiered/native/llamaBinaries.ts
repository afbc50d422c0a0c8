// Which llama.cpp binaries node-llama-cpp loaded in this process (its variant's folder), so the addon
// maps the same libraries: from node-llama-cpp when it says, else from /proc/self/maps.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama } from 'node-llama-cpp';
import { NativeTierError } from './nativeErrors.ts';

const LLAMA_LIBRARY = /^(lib)?llama(\.[\w.-]+)?\.(so|dylib|dll)$/;

/**
 * The folder of shared libraries (libllama, libggml*, backends) that `llama` runs on, to pass to
 * NativeAddon.initialize() so that the addon and node-llama-cpp share one copy of llama.cpp.
 *
 * node-llama-cpp does not keep the path it loaded (Llama has no public or internal field for it):
 * getLlama() picks a variant folder (a local build, node-llama-cpp/bins/<name>, or the
 * @node-llama-cpp/<platform>-<arch>[-<gpu>] package's bins/<name>) and require()s its
 * llama-addon.node, which links libllama from the same folder. So:
 * 1. where the OS lists mapped files (/proc/self/maps on Linux), the folder of the libllama that is
 *    mapped — exactly the one node-llama-cpp loaded;
 * 2. otherwise the prebuilt folder node-llama-cpp resolves for `llama.gpu`, the same way it does
 *    (getPrebuiltBinaryPath in dist/bindings/utils/compileLLamaCpp.js).
 */
export async function getLlamaBinsDir(llama: Llama): Promise<string> {
  const gpu = llama.gpu;
  const fromMaps = binsDirFromProcessMaps(gpu);
  if (fromMaps !== null) return fromMaps;
  if (llama.buildType !== 'prebuilt') {
    throw new NativeTierError('BINS_NOT_FOUND', `cannot locate node-llama-cpp's local build (${String(gpu)}) on this platform`);
  }
  const platform = process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : process.platform;
  const folderName = `${platform}-${process.arch}${gpu === false ? '' : `-${gpu}`}`;
  const candidates: string[] = [];
  const nodeLlamaCppDir = findPackageDir('node-llama-cpp');
  if (nodeLlamaCppDir !== null) candidates.push(join(nodeLlamaCppDir, 'bins', folderName));
  for (const packageName of [folderName, `${folderName}-ext`]) {
    const packageDir = findPackageDir(`@node-llama-cpp/${packageName}`);
    if (packageDir !== null) candidates.push(join(packageDir, 'bins', folderName));
  }
  const found = candidates.find((dir) => existsSync(join(dir, 'llama-addon.node')) && hasLlamaLibrary(dir));
  if (found === undefined) throw new NativeTierError('BINS_NOT_FOUND', `no node-llama-cpp binaries for ${folderName} (looked in ${candidates.join(', ') || 'nothing'})`);
  return found;
}

function hasLlamaLibrary(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => LLAMA_LIBRARY.test(name));
  } catch {
    return false;
  }
}

function binsDirFromProcessMaps(gpu: Llama['gpu']): string | null {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  const dirs = new Set<string>();
  for (const line of maps.split('\n')) {
    const slash = line.indexOf('/');
    if (slash === -1) continue;
    const path = line.slice(slash).replace(/ \(deleted\)$/, '');
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (LLAMA_LIBRARY.test(name) && existsSync(join(dirname(path), 'llama-addon.node'))) dirs.add(dirname(path));
  }
  if (dirs.size <= 1) return dirs.values().next().value ?? null;
  // Several variants mapped (getLlama() called with different gpu options): the one matching this Llama.
  const suffix = gpu === false ? null : `-${gpu}`;
  const matching = [...dirs].filter((dir) => {
    const base = dir.slice(dir.lastIndexOf(sep) + 1);
    return suffix === null ? !/-(cuda|vulkan|metal)/.test(base) : base.includes(suffix);
  });
  return matching.length === 1 ? matching[0]! : null;
}

export function findPackageDir(name: string): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** The llama.cpp release a bins folder was built from (its _nlcBuildMetadata.json), or null. */
export function readBinsRelease(binsDir: string): string | null {
  try {
    const metadata = JSON.parse(readFileSync(join(binsDir, '_nlcBuildMetadata.json'), 'utf8')) as { buildOptions?: { llamaCpp?: { release?: string } } };
    return metadata.buildOptions?.llamaCpp?.release ?? null;
  } catch {
    return null;
  }
}
