// The installers' configuration (electron-builder.json) against the installed tree, since the Electron
// binary cannot be downloaded here and `npm run dist` cannot run: every asarUnpack pattern matches
// files that exist (for this platform), the files list keeps the addon and this platform's llama.cpp
// binaries, and the packaged-path resolver finds the addon in app.asar.unpacked.
import assert from 'node:assert/strict';
import { existsSync, globSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test/tempDir.ts';
import { findAddonPath } from '../engine/tiered/native/NativeAddon.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const config = JSON.parse(readFileSync(join(ROOT, 'electron-builder.json'), 'utf8')) as {
  files: string[];
  asarUnpack: string[];
  linux: { target: string[] };
  mac: { target: string[] };
  win: { target: string[] };
};
const OS = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform as 'linux'] ?? process.platform;
const expand = (pattern: string) => pattern.replaceAll('${os}', OS).replaceAll('${arch}', process.arch);

test('npm run dist builds AppImage and deb, dmg and nsis installers with electron-builder', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string>; devDependencies: Record<string, string> };
  assert.match(pkg.scripts.dist, /electron-vite build && electron-builder --config electron-builder\.json/);
  assert.ok(pkg.devDependencies['electron-builder'], 'electron-builder is a pinned dev dependency');
  assert.equal(pkg.main, 'out/main/index.js');
  assert.deepEqual([config.linux.target, config.mac.target, config.win.target], [['AppImage', 'deb'], ['dmg'], ['nsis']]);
});

test('every asarUnpack pattern matches files in the installed tree (node-llama-cpp binaries, the addon, SQLite)', () => {
  for (const pattern of config.asarUnpack) {
    const matches = globSync(`${expand(pattern)}{,/**/*}`, { cwd: ROOT }).filter((path) => !path.includes('.moved.txt'));
    // node-llama-cpp's own bins and localBuilds only exist after a local build: the prebuilt packages hold them here.
    if (pattern.startsWith('node_modules/node-llama-cpp/')) continue;
    assert.ok(matches.length > 0, `asarUnpack ${pattern} matches nothing under ${ROOT}`);
  }
  const prebuilt = globSync(`node_modules/@node-llama-cpp/${OS}-${process.arch}*/bins/**/*.node`, { cwd: ROOT });
  assert.ok(prebuilt.length > 0, "this platform's llama.cpp binaries are installed and kept by the files list");
  assert.ok(config.files.includes('node_modules/@node-llama-cpp/${os}-${arch}*/bins/**/*'));
  assert.ok(config.files.includes('native/build/Release/strata_tier.node'));
  assert.ok(existsSync(join(ROOT, 'native/build/Release/strata_tier.node')), 'the addon is built (CI fails without it)');
  assert.ok(config.asarUnpack.some((p) => p.startsWith('native/build/Release/')), 'the addon is unpacked: dlopen cannot read inside an asar');
});

test('the packaged-path resolver finds the addon in app.asar.unpacked, from inside app.asar/out/main', (t) => {
  const resources = join(tempDir(t), 'Strata', 'resources');
  const unpacked = join(resources, 'app.asar.unpacked', 'native', 'build', 'Release');
  mkdirSync(unpacked, { recursive: true });
  writeFileSync(join(unpacked, 'strata_tier.node'), '');
  mkdirSync(join(resources, 'app.asar', 'out', 'main'), { recursive: true }); // stands in for the archive
  assert.equal(findAddonPath(join(resources, 'app.asar', 'out', 'main')), join(unpacked, 'strata_tier.node'));
  assert.equal(findAddonPath(join(tempDir(t), 'nowhere')), null);
});
