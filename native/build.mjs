#!/usr/bin/env node
// Builds native/build/Release/strata_tier.node (run by the package's `postinstall` and `build:native`).
//
// 1. Extracts only `include/` and `ggml/include/` of the llama.cpp source that node-llama-cpp bundles
//    (node_modules/node-llama-cpp/llama/gitRelease.bundle, a git bundle) into native/.llama-headers/.
//    The addon compiles against these headers and links nothing of llama.cpp: it dlopen()s the
//    shared libraries of the variant node-llama-cpp chose at run time.
// 2. Runs `node-gyp rebuild` in native/.
//
// Any failure (no compiler, no git, no node headers offline) prints one warning and exits 0: the app
// then uses the standard engine. `--strict` (npm run build:native) makes failures exit 1.
// STRATA_SKIP_NATIVE=1 skips the build in postinstall.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(nativeDir, '..');
const headersDir = join(nativeDir, '.llama-headers');
const strict = process.argv.includes('--strict');
const require = createRequire(import.meta.url);

class BuildError extends Error {}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: options.capture ? 'pipe' : 'inherit', encoding: 'utf8', ...options });
  if (result.error) throw new BuildError(`${command} could not be started: ${result.error.message}`);
  if (result.status !== 0) {
    const detail = options.capture ? `: ${(result.stderr || result.stdout || '').trim().split('\n').slice(-3).join(' ')}` : '';
    throw new BuildError(`${command} ${args.slice(0, 2).join(' ')} exited with ${result.status}${detail}`);
  }
  return result.stdout;
}

/** node_modules/<name> in this package or above (its "exports" hide package.json from require.resolve). */
function findPackageDir(name) {
  for (let dir = repoDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new BuildError(`${name} is not installed`);
  }
}

/** The llama.cpp tag node-llama-cpp ships, e.g. "v0.5.0"; headers are re-extracted when it changes. */
function bundledLlamaCpp() {
  const llamaDir = findPackageDir('node-llama-cpp');
  const bundle = join(llamaDir, 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle)) throw new BuildError(`node-llama-cpp has no llama.cpp source bundle at ${bundle}`);
  const info = JSON.parse(readFileSync(join(llamaDir, 'llama', 'llama.cpp.info.json'), 'utf8'));
  const { version } = JSON.parse(readFileSync(join(llamaDir, 'package.json'), 'utf8'));
  return { bundle, tag: String(info.tag), nodeLlamaCppVersion: String(version) };
}

function extractHeaders() {
  const { bundle, tag, nodeLlamaCppVersion } = bundledLlamaCpp();
  const stamp = `node-llama-cpp@${nodeLlamaCppVersion}/llama.cpp@${tag}\n`;
  const stampPath = join(headersDir, 'VERSION');
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && existsSync(join(headersDir, 'include', 'llama.h'))) {
    return tag;
  }
  const work = mkdtempSync(join(tmpdir(), 'strata-llama-headers-'));
  try {
    const gitDir = join(work, 'repo.git');
    run('git', ['init', '--quiet', '--bare', gitDir], { capture: true });
    run('git', ['--git-dir', gitDir, 'fetch', '--quiet', bundle, 'HEAD:refs/heads/bundled'], { capture: true });
    const staging = join(work, 'headers');
    mkdirSync(staging);
    // `git archive` to a tar on stdout, unpacked by `tar`: both exist wherever git does.
    const tarPath = join(work, 'headers.tar');
    run('git', ['--git-dir', gitDir, 'archive', '--output', tarPath, 'bundled', 'include', 'ggml/include'], { capture: true });
    run('tar', ['-xf', tarPath, '-C', staging], { capture: true });
    if (!existsSync(join(staging, 'include', 'llama.h'))) throw new BuildError('the bundle has no include/llama.h');
    writeFileSync(join(staging, 'VERSION'), stamp);
    rmSync(headersDir, { recursive: true, force: true });
    renameSync(staging, headersDir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return tag;
}

/** node-gyp: npm's own (npm sets npm_config_node_gyp for scripts), a local one, or npm's bundled one. */
function nodeGypCommand() {
  const candidates = [process.env.npm_config_node_gyp];
  try { candidates.push(require.resolve('node-gyp/bin/node-gyp.js')); } catch { /* not installed locally */ }
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  // The npm on PATH: <npm>/bin/npm-cli.js → <npm>/node_modules/node-gyp.
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const npm = join(dir, 'npm');
    if (!dir || !existsSync(npm)) continue;
    try {
      candidates.push(join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch { /* a dangling link */ }
  }
  const found = candidates.find((candidate) => typeof candidate === 'string' && candidate.length > 0 && existsSync(candidate));
  if (found === undefined) throw new BuildError('node-gyp was not found (it ships with npm)');
  return found;
}

/**
 * Node headers for node-gyp without a download: an explicit npm_config_nodedir wins; otherwise the
 * headers installed beside this node or system-wide. The addon uses N-API only (NAPI_VERSION 8), so
 * any Node ≥ 18 headers serve every runtime, Electron included.
 */
function nodeDirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const candidates = [resolve(dirname(process.execPath), '..'), '/usr', '/usr/local'];
  const nodeDir = candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h')) && existsSync(join(dir, 'include', 'node', 'common.gypi')));
  return nodeDir === undefined ? [] : [`--nodedir=${nodeDir}`];
}

function main() {
  if (process.env.STRATA_SKIP_NATIVE === '1' && !strict) {
    console.log('strata: STRATA_SKIP_NATIVE=1, the native addon is not built');
    return;
  }
  const tag = extractHeaders();
  const jobs = process.env.JOBS ?? 'max';
  run(process.execPath, [nodeGypCommand(), 'rebuild', `--jobs=${jobs}`, ...nodeDirArgs()], { cwd: nativeDir });
  const output = join(nativeDir, 'build', 'Release', 'strata_tier.node');
  if (!existsSync(output)) throw new BuildError(`node-gyp finished but ${output} is missing`);
  console.log(`strata native addon built against llama.cpp ${tag} headers: ${output}`);
}

try {
  main();
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  console.warn(
    `\nstrata: the tiered engine's native addon was not built (${reason}). The app still works: it ` +
    'falls back to the standard engine (node-llama-cpp with the full KV cache), which holds less of a ' +
    'long document on the GPU. To build the addon, install a C++17 compiler, make, python3 and git, then ' +
    'run `npm run build:native`.\n');
  process.exit(strict ? 1 : 0);
}
