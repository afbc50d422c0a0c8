#!/usr/bin/env bash
# Packs what bench/device.sh needs on the GPU machine into .cache/device-pack/ (.cache/ is ignored), to
# be carried there: the machine gets the git working tree plus carried paths, 64 MiB in all, and has
# no node_modules and no registry. Run here after npm ci (needs git, xz and tar; strip if present):
#
#   bash bench/device-pack.sh            pack (about 2 minutes on 2 cores, mostly xz on the Node binary)
#   bash bench/device-pack.sh --check    list what would be packed, with raw sizes; packs nothing
#
# What goes in (see bench/device.sh for why):
#   node.xz          the pinned Node 22 (the `node` devDependency), stripped
#   runtime.tar.xz   node_modules/ as the bench loads it: node-llama-cpp and its dependencies (without the
#                    llama.cpp source bundle), better-sqlite3 (lib and its linux-x64 prebuild), the
#                    @node-llama-cpp/linux-x64-cuda bins without libggml-cuda.so (built on the machine);
#                    and native/build/Release/strata_tier.node
#   ggml-src.tar.xz  ggml/ of the llama.cpp that node-llama-cpp bundles (CMake files, headers, the base
#                    sources, ggml-cuda, and ggml-cpu's headers, which the base includes), plus VERSION
#   manifest         what is in it, and the sizes
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACK="$ROOT/.cache/device-pack"
LIMIT_BYTES=$((64 * 1024 * 1024))
CHECK=false
[ "${1:-}" = "--check" ] && CHECK=true

die() { printf 'bench/device-pack.sh: %s\n' "$*" >&2; exit 1; }
cd "$ROOT"

NODE_BIN=$(readlink -f node_modules/node/bin/node 2>/dev/null || true)
[ -x "$NODE_BIN" ] || die "no node_modules/node/bin/node (run npm ci)"
NODE_VERSION=$("$NODE_BIN" --version)
[[ "$NODE_VERSION" == v22.* ]] || die "node_modules/node is $NODE_VERSION, not 22"
ADDON=native/build/Release/strata_tier.node
[ -f "$ADDON" ] || die "no $ADDON (npm run build:native)"
CUDA_BINS=node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
[ -f "$CUDA_BINS/llama-addon.node" ] || die "no $CUDA_BINS/llama-addon.node (node-llama-cpp's CUDA prebuilt is an optional dependency: npm ci on linux-x64)"
BUNDLE=node_modules/node-llama-cpp/llama/gitRelease.bundle
[ -f "$BUNDLE" ] || die "no $BUNDLE"
TAG=$("$NODE_BIN" -p "require('./node_modules/node-llama-cpp/llama/llama.cpp.info.json').tag")
NLC_VERSION=$("$NODE_BIN" -p "require('./node_modules/node-llama-cpp/package.json').version")

# The files of node_modules the bench needs: the dependency closure of node-llama-cpp and better-sqlite3
# (package.json dependencies, optional ones where installed, none of node-llama-cpp's other prebuilt
# variants), each package's files less what is never loaded.
list_runtime_files() {
  "$NODE_BIN" --input-type=module - "$ROOT" <<'EOF'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
const root = process.argv[2];
const roots = ['node-llama-cpp', 'better-sqlite3', '@node-llama-cpp/linux-x64-cuda'];
const skip = {
  'node-llama-cpp': [/^llama\/gitRelease\.bundle$/],
  'better-sqlite3': [/^(deps|src|build|docs|benchmark)\//, /^prebuilds\/(?!linux-x64\.node$)/],
  '@node-llama-cpp/linux-x64-cuda': [/^bins\/linux-x64-cuda\/libggml-cuda\.so$/],
};
const never = /(\.map|\.d\.[mc]?ts|\.tsbuildinfo)$/;
const packages = new Map();
const missing = [];
const find = (name, from) => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return null;
  }
};
const visit = (name, from, optional) => {
  const dir = find(name, from);
  if (dir === null) { if (!optional) missing.push(name); return; }
  if (packages.has(dir)) return;
  packages.set(dir, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
  for (const dep of Object.keys(pkg.optionalDependencies ?? {})) if (!dep.startsWith('@node-llama-cpp/')) visit(dep, dir, true);
};
for (const name of roots) visit(name, root, false);
if (missing.length > 0) { console.error(`missing packages: ${missing.join(', ')}`); process.exit(1); }
const walk = (dir, base, rules, out) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(base, path);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue; // nested packages are in the closure on their own
      walk(path, base, rules, out);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && !never.test(entry.name) && !rules.some((rule) => rule.test(rel))) {
      out.push(relative(root, path));
    }
  }
};
const files = [];
for (const [dir, name] of packages) walk(dir, dir, skip[name] ?? [], files);
let bytes = 0;
for (const file of files) bytes += statSync(join(root, file)).size;
console.error(`${packages.size} packages, ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB before compression`);
process.stdout.write(files.map((f) => `${f}\0`).join(''));
EOF
}

list_ggml_files() { # <git dir>: ggml/ less the other backends
  git --git-dir "$1" ls-tree -r --name-only bundled -- ggml \
    | grep -E '^ggml/([^/]+|cmake/.*|include/.*|src/[^/]+|src/ggml-cuda/.*|src/ggml-cpu/.*\.h)$'
}

runtime_list=$(mktemp)
trap 'rm -f "$runtime_list"' EXIT
list_runtime_files >"$runtime_list"
printf '%s\0' "$ADDON" >>"$runtime_list"

if $CHECK; then
  echo "node: $NODE_BIN ($NODE_VERSION), $(du -h "$NODE_BIN" | cut -f1) unstripped"
  echo "node-llama-cpp $NLC_VERSION, llama.cpp $TAG; CUDA bins without libggml-cuda.so:"
  find "$CUDA_BINS" -type f ! -name libggml-cuda.so -print0 | du -ch --files0-from=- | tail -1
  echo "runtime files: $(tr -cd '\0' <"$runtime_list" | wc -c) (first: $(tr '\0' '\n' <"$runtime_list" | head -1))"
  echo "addon: $ADDON ($(du -h "$ADDON" | cut -f1))"
  echo "ggml source: from $BUNDLE (ggml/ less the other backends)"
  exit 0
fi

command -v xz >/dev/null || die "xz is needed to pack"
command -v git >/dev/null || die "git is needed to read the llama.cpp bundle"
mkdir -p "$PACK"
work=$(mktemp -d)
trap 'rm -rf "$work" "$runtime_list"' EXIT

# Node: only when its version changed (xz of the binary is most of the time).
if [ ! -f "$PACK/node.xz" ] || [ "$(cat "$PACK/node.version" 2>/dev/null)" != "$NODE_VERSION" ]; then
  cp "$NODE_BIN" "$work/node"
  command -v strip >/dev/null && strip "$work/node"
  xz -T0 -6 -c "$work/node" >"$PACK/node.xz.tmp"
  mv "$PACK/node.xz.tmp" "$PACK/node.xz"
  echo "$NODE_VERSION" >"$PACK/node.version"
fi

tar -C "$ROOT" --null -T "$runtime_list" -cf - | xz -T0 -6 >"$PACK/runtime.tar.xz.tmp"
mv "$PACK/runtime.tar.xz.tmp" "$PACK/runtime.tar.xz"

git init --quiet --bare "$work/llama.git"
git --git-dir "$work/llama.git" fetch --quiet "$ROOT/$BUNDLE" "HEAD:refs/heads/bundled"
mkdir -p "$work/ggml-src"
list_ggml_files "$work/llama.git" | tr '\n' '\0' | xargs -0 git --git-dir "$work/llama.git" archive --format=tar bundled | tar -x -C "$work/ggml-src"
echo "llama.cpp $TAG (node-llama-cpp $NLC_VERSION)" >"$work/ggml-src/VERSION"
tar -C "$work/ggml-src" -cf - . | xz -T0 -6 >"$PACK/ggml-src.tar.xz"

tree_bytes=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
pack_bytes=$(du -cb "$PACK"/node.xz "$PACK"/runtime.tar.xz "$PACK"/ggml-src.tar.xz | tail -1 | cut -f1)
{
  echo "strata device pack, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "node $NODE_VERSION; node-llama-cpp $NLC_VERSION; llama.cpp $TAG; addon $(sha256sum "$ADDON" | cut -c1-16)"
  du -b "$PACK"/node.xz "$PACK"/runtime.tar.xz "$PACK"/ggml-src.tar.xz | sed "s#$PACK/##"
  echo "pack $pack_bytes bytes + working tree $tree_bytes bytes = $((pack_bytes + tree_bytes)) of $LIMIT_BYTES"
} >"$PACK/manifest"
cat "$PACK/manifest"
[ $((pack_bytes + tree_bytes)) -lt "$LIMIT_BYTES" ] || die "the pack and the working tree exceed 64 MiB"
echo "carry: .cache/device-pack   then run: bash bench/device.sh"
