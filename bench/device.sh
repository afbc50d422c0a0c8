#!/usr/bin/env bash
# The GPU bench: the tiered engine against full-KV llama.cpp and against llama.cpp with its KV cache in
# host memory (offload_kqv = false), on a random model with an 8B-class layout, at 32K and 128K tokens,
# on one NVIDIA Hopper GPU (H100/H200). Writes bench/results/gpu-<gpu>.md and .json (and copies them,
# with the logs, into $OUT when the device tool sets it). The bench itself: main/bench/deviceBench.ts.
#
#   bash bench/device.sh          on the GPU machine: builds llama.cpp's CUDA backend (sm_90), makes the
#                                 model, runs the bench; meant to take under 8 minutes
#   bash bench/device.sh --dry    here, on the CPU: the same bench code, CPU variant, a tiny model at
#                                 1K/2K tokens (under a minute on 2 cores); main/bench/deviceBench.test.ts
#                                 runs it in the default test suite so that this script cannot rot
#   bash bench/device.sh --build-only   only the CUDA build step (needs nvcc and cuBLAS, no GPU)
#   Any other arguments go to deviceBench.ts (e.g. --sizes 32768 --decode-tokens 64 --out DIR);
#   FFN=14336 bash bench/device.sh makes the model with an 8B llama's full FFN width (the default 4096
#   keeps the weights' generation, one core at about 32M parameters/s, inside the CUDA build's time).
#
# What the GPU machine has, and what must be carried to it
#   It gets a copy of the git working tree (tracked and untracked-not-ignored files) plus up to 8
#   "carried" ignored paths, 64 MiB in all; node_modules is not there and nothing can be installed
#   (no registry, no downloads). It has nvcc 13, CMake, g++, Node 20 and 16 cores. Node 20 cannot run
#   the TypeScript sources (type stripping came in Node 22), so the pinned Node 22 travels too (the
#   addons are N-API: node-llama-cpp's, better-sqlite3's prebuild, ours). node-llama-cpp's prebuilt CUDA backend (libggml-cuda.so, 159 MB for seven GPU architectures)
#   does not fit, so this script builds that one library on the machine from the llama.cpp source that
#   node-llama-cpp bundles (the same tag, v0.5.0), for sm_90 only, as a dynamically loaded ggml backend
#   (GGML_BACKEND_DL, as node-llama-cpp's own builds are), and drops it into the prebuilt CUDA bins
#   folder beside node-llama-cpp's libllama/libggml-base, which node-llama-cpp and the addon then load.
#
#   So, once, here (about 2 minutes; needs xz):
#       bash bench/device-pack.sh            # writes .cache/device-pack/ (ignored), about 33 MiB
#   then on the device tool, with carry [".cache/device-pack"]:
#       bash bench/device.sh                 # timeout_s 600
#   .cache/device-pack holds: node (22, stripped, xz), runtime.tar.xz (the node_modules the bench loads:
#   node-llama-cpp and its dependencies, better-sqlite3, the @node-llama-cpp/linux-x64-cuda bins without
#   libggml-cuda.so; and native/build/Release/strata_tier.node), ggml-src.tar.xz (ggml/ of the bundled
#   llama.cpp), and a manifest. bench/device-pack.sh --check lists it without packing (the test runs that).
#
# cuBLAS: ggml-cuda needs cuBLAS headers and libraries. The script takes them from the CUDA toolkit
# when it has them, else from Python's nvidia-cublas wheel (site-packages/nvidia/cu13/{include,lib}), or
# from $CUBLAS_ROOT. libcuda (for CUDA's virtual-memory pool) from the toolkit's stubs or the driver;
# without it the build uses GGML_CUDA_NO_VMM.
#
# What was verified, and where (2026-12, on the 2-core development machine; no GPU was available)
#   - --dry end to end (also in the test suite): 10-30 s.
#   - bench/device-pack.sh: 34 MB packed + 1.8 MB working tree = 36 MB of the 64 MiB.
#   - A bare copy of the working tree plus the pack: unpack() gave the packed Node 22 and node_modules,
#     which ran the dry bench (with node-llama-cpp's CPU package added for that check only); the GPU
#     path of this script ran through unpack, CUDA discovery, the build and the model, and stopped where
#     node-llama-cpp found no CUDA driver.
#   - The CUDA build (--build-only) against the nvidia-cublas 13.1.1 wheel's headers and libraries, nvcc
#     13.0.88, CMake 3.25.1, g++ 12.2, without libcuda (so GGML_CUDA_NO_VMM): 154 steps, about 37
#     CPU-minutes (the longest file, mmvq.cu, 112 s), a 46 MB libggml-cuda.so whose 40 ggml symbols all
#     resolve in node-llama-cpp's prebuilt libggml-base.so; the addon's initialize() loaded it from the
#     prebuilt CUDA bins folder with it dropped in (as run_gpu does), and ggml_cuda_init ran (and
#     failed for want of a driver).
#   Not run on a GPU: node-llama-cpp's CUDA detection there, the backend on an H100/H200, the time
#   budget (estimated: build 3 minutes on 16 cores, the model 2 minutes beside it, the bench 2 to 3
#   minutes), and every GPU number. If the first run nears the limit, run with --sizes 32768 first.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PACK="$ROOT/.cache/device-pack"
WORK="${STRATA_DEVICE_WORK:-/tmp/strata-device}"
CUDA_BINS_REL="node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda"
START_S=$SECONDS

log() { printf '[device %3ds] %s\n' $((SECONDS - START_S)) "$*" >&2; }
die() { printf 'bench/device.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------
# Node 22: this checkout's pinned one (the `node` devDependency), else the packed one.

node_version_ok() { # a Node that runs .ts files without a flag: 22.18 and later
  local v
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; }
}

find_local_node() {
  local candidate
  for candidate in "$ROOT/node_modules/.bin/node" "$(command -v node || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && node_version_ok "$candidate"; then
      NODE="$candidate"
      return 0
    fi
  done
  return 1
}

# xz is usual but not certain on the GPU machine's image: Python's lzma does the same.
unxz_to() { # <file.xz> <destination>
  if command -v xz >/dev/null; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

untar_xz() { # <file.tar.xz> <directory>
  mkdir -p "$2"
  if command -v xz >/dev/null; then
    tar -xJf "$1" -C "$2"
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}

unpack() {
  [ -f "$PACK/manifest" ] || die "no $PACK/manifest: run bash bench/device-pack.sh on the development machine and carry .cache/device-pack"
  mkdir -p "$WORK/node/bin"
  if [ ! -x "$WORK/node/bin/node" ]; then
    unxz_to "$PACK/node.xz" "$WORK/node/bin/node.tmp"
    chmod +x "$WORK/node/bin/node.tmp"
    mv "$WORK/node/bin/node.tmp" "$WORK/node/bin/node"
  fi
  NODE="$WORK/node/bin/node"
  node_version_ok "$NODE" || die "the packed node does not run here: $("$NODE" --version 2>&1 | head -1)"
  # node_modules must sit in the repository root (ESM resolves packages from the importing file up).
  # Never over an installed one: that is a development checkout, not the GPU machine's bare copy.
  if [ -d "$ROOT/node_modules" ] && [ ! -f "$ROOT/node_modules/.strata-device-pack" ]; then
    die "$ROOT/node_modules exists and is not the device pack's: run this on the GPU machine's copy (or --dry here)"
  fi
  if [ ! -f "$ROOT/node_modules/.strata-device-pack" ]; then
    untar_xz "$PACK/runtime.tar.xz" "$ROOT"
    touch "$ROOT/node_modules/.strata-device-pack"
  fi
  if [ ! -f "$WORK/src/ggml/CMakeLists.txt" ]; then
    untar_xz "$PACK/ggml-src.tar.xz" "$WORK/src"
  fi
  log "unpacked: $("$NODE" --version), node_modules, ggml source ($(cat "$WORK/src/VERSION" 2>/dev/null || echo '?'))"
}

# ---------------------------------------------------------------------------------------------------
# CUDA: nvcc, cuBLAS (toolkit or Python wheel), libcuda; LD_LIBRARY_PATH for node-llama-cpp's detection.

python_site_dirs() {
  local py
  for py in python3 /opt/torch/.venv/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || [ -x "$py" ] || continue
    "$py" -c 'import site, sysconfig; print("\n".join([*site.getsitepackages(), sysconfig.get_paths()["purelib"]]))' 2>/dev/null || true
  done | sort -u
}

first_file() { # <glob>...: the first that exists
  local f
  for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done
  return 1
}

find_cuda() {
  NVCC=$(command -v nvcc || first_file /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc || true)
  [ -n "$NVCC" ] || die "no nvcc (looked on PATH and in /usr/local/cuda*)"
  CUDA_ROOT=$(cd "$(dirname "$(readlink -f "$NVCC")")/.." && pwd)
  local roots=() site
  [ -n "${CUBLAS_ROOT:-}" ] && roots+=("$CUBLAS_ROOT")
  roots+=("$CUDA_ROOT" "$CUDA_ROOT/targets/x86_64-linux")
  while IFS= read -r site; do
    [ -n "$site" ] && roots+=("$site/nvidia/cu13" "$site/nvidia/cublas")
  done < <(python_site_dirs)
  CUBLAS_INC="" CUBLAS_LIB="" CUBLASLT_LIB=""
  local root lib
  for root in "${roots[@]}"; do
    [ -f "$root/include/cublas_v2.h" ] || continue
    lib=$(first_file "$root"/lib64/libcublas.so "$root"/lib/libcublas.so "$root"/lib64/libcublas.so.1[0-9] "$root"/lib/libcublas.so.1[0-9] || true)
    [ -n "$lib" ] || continue
    CUBLAS_INC="$root/include"
    CUBLAS_LIB="$lib"
    CUBLASLT_LIB=$(first_file "$(dirname "$lib")"/libcublasLt.so "$(dirname "$lib")"/libcublasLt.so.1[0-9] || true)
    break
  done
  [ -n "$CUBLAS_LIB" ] || die "no cuBLAS headers and library (looked in ${roots[*]}); set CUBLAS_ROOT to a folder with include/cublas_v2.h and lib/libcublas.so*"
  LIBCUDA=$(first_file "$CUDA_ROOT"/lib64/stubs/libcuda.so "$CUDA_ROOT"/targets/x86_64-linux/lib/stubs/libcuda.so \
    /usr/local/nvidia/lib64/libcuda.so.1 /usr/local/nvidia/lib/libcuda.so.1 /usr/lib/x86_64-linux-gnu/libcuda.so.1 /usr/lib64/libcuda.so.1 || true)
  if [ -z "$LIBCUDA" ] && command -v ldconfig >/dev/null; then
    LIBCUDA=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 .*x86-64/ { print $NF; exit }')
  fi
  # Runtime: cuBLAS's folder (a wheel's is on no default path), the toolkit's cudart, the driver's.
  # node-llama-cpp looks for libnvidia-ml, libcuda, libcudart, libcublas(Lt) there to choose its CUDA binaries.
  local dirs=("$(dirname "$CUBLAS_LIB")" "$CUDA_ROOT/lib64" "$CUDA_ROOT/targets/x86_64-linux/lib" /usr/local/nvidia/lib64 /usr/local/nvidia/lib)
  [ -n "$LIBCUDA" ] && [[ "$LIBCUDA" != */stubs/* ]] && dirs+=("$(dirname "$LIBCUDA")")
  local nvml
  nvml=$(ldconfig -p 2>/dev/null | awk '/libnvidia-ml\.so\.1 .*x86-64/ { print $NF; exit }' || true)
  [ -n "$nvml" ] && dirs+=("$(dirname "$nvml")")
  local d path=""
  for d in "${dirs[@]}"; do [ -d "$d" ] && path="${path:+$path:}$d"; done
  export LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "CUDA: $("$NVCC" --version | tail -1); cuBLAS $CUBLAS_LIB; libcuda ${LIBCUDA:-none (building with GGML_CUDA_NO_VMM)}"
}

# ---------------------------------------------------------------------------------------------------
# libggml-cuda.so for sm_90 from the bundled ggml source, as node-llama-cpp's prebuilt backends are
# built (GGML_BACKEND_DL, no native CPU tuning); only the ggml-cuda target is built.

build_cuda_backend() {
  local src="$WORK/src" build="$WORK/ggml-build" jobs
  jobs=${JOBS:-$(nproc)}
  [ -f "$src/ggml/CMakeLists.txt" ] || die "no ggml source in $src/ggml"
  # ggml as a subproject, as llama.cpp includes it (standalone, it wants files llama.cpp's tree lacks).
  printf '%s\n' 'cmake_minimum_required(VERSION 3.18)' 'project(strata_ggml_cuda C CXX)' 'add_subdirectory(ggml)' >"$src/CMakeLists.txt"
  command -v cmake >/dev/null || die "no cmake"
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  local extra=()
  if [ "$CUBLAS_INC" != "$CUDA_ROOT/include" ] && [ "$CUBLAS_INC" != "$CUDA_ROOT/targets/x86_64-linux/include" ]; then
    # cuBLAS outside the toolkit: name the libraries to FindCUDAToolkit, the headers to both compilers.
    extra+=("-DCUDA_cublas_LIBRARY=$CUBLAS_LIB" "-DCMAKE_CUDA_FLAGS=-I$CUBLAS_INC" "-DCMAKE_CXX_FLAGS=-I$CUBLAS_INC")
    [ -n "$CUBLASLT_LIB" ] && extra+=("-DCUDA_cublasLt_LIBRARY=$CUBLASLT_LIB")
  fi
  if [ -n "$LIBCUDA" ]; then
    extra+=("-DCUDA_cuda_driver_LIBRARY=$LIBCUDA")
  else
    extra+=(-DGGML_CUDA_NO_VMM=ON)
  fi
  log "configuring ggml-cuda (sm_90, ${generator[*]:-make}, $jobs jobs)"
  cmake -S "$src" -B "$build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DCMAKE_PLATFORM_NO_VERSIONED_SONAME=ON -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF \
    -DGGML_CPU=OFF -DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF \
    -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF \
    -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES=90-real \
    "${extra[@]}" >"$WORK/cmake-configure.log" 2>&1 || { tail -30 "$WORK/cmake-configure.log" >&2; die "cmake configure failed ($WORK/cmake-configure.log)"; }
  log "building ggml-cuda"
  cmake --build "$build" --target ggml-cuda -j "$jobs" >"$WORK/cmake-build.log" 2>&1 || { tail -40 "$WORK/cmake-build.log" >&2; die "the ggml-cuda build failed ($WORK/cmake-build.log)"; }
  CUDA_BACKEND=$(find "$build" -name 'libggml-cuda.so' -type f | head -1)
  [ -n "$CUDA_BACKEND" ] || die "the build finished without libggml-cuda.so"
  log "built $CUDA_BACKEND ($(du -h "$CUDA_BACKEND" | cut -f1))"
}

# ---------------------------------------------------------------------------------------------------

# The device tool brings back what is under $OUT (at most 8 files), also when the command is stopped
# at its time limit: the report is written there after each size, the bench's log as it goes.
has_out() { [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; }

run_dry() {
  find_local_node || die "no Node 22.18+ here (npm ci installs the pinned one into node_modules/.bin)"
  [ -d "$ROOT/node_modules/node-llama-cpp" ] || die "node_modules is not installed (npm ci)"
  log "dry run: CPU variant, tiny model, $("$NODE" --version)"
  cd "$ROOT"
  # The GPU run's two steps: the model first (with its sidecar), then the bench on it.
  DRY_WORK=$(mktemp -d)
  trap 'rm -rf "$DRY_WORK"' EXIT
  "$NODE" main/bench/deviceBench.ts make-model --dry --path "$DRY_WORK/model.gguf" >&2
  STRATA_GPU=off "$NODE" main/bench/deviceBench.ts run --dry --model "$DRY_WORK/model.gguf" "$@"
}

run_gpu() {
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
  unpack
  find_cuda
  mkdir -p "$WORK"
  cd "$ROOT"
  # The model (1-2 minutes of one core) is written while the backend builds on the other cores.
  local model="$WORK/model.gguf"
  rm -f "$model"
  log "making the model in the background ($WORK/make-model.log)"
  "$NODE" main/bench/deviceBench.ts make-model --path "$model" ${FFN:+--ffn "$FFN"} >"$WORK/make-model.log" 2>&1 &
  local model_pid=$!
  if ! (build_cuda_backend); then kill "$model_pid" 2>/dev/null || true; exit 1; fi
  CUDA_BACKEND=$(find "$WORK/ggml-build" -name 'libggml-cuda.so' -type f | head -1)
  has_out && cp "$WORK/cmake-build.log" "$OUT/" || true
  cp "$CUDA_BACKEND" "$ROOT/$CUDA_BINS_REL/libggml-cuda.so"
  log "waiting for the model"
  wait "$model_pid" || { cat "$WORK/make-model.log" >&2; die "making the model failed"; }
  tail -1 "$WORK/make-model.log" >&2
  log "running the bench (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
  local copy=() bench_log="$WORK/bench.log"
  if has_out; then copy=(--copy-to "$OUT"); bench_log="$OUT/bench.log"; fi
  set +e
  "$NODE" main/bench/deviceBench.ts run --model "$model" "${copy[@]}" "$@" 2>&1 | tee "$bench_log"
  local status=${PIPESTATUS[0]}
  set -e
  log "done (exit $status)"
  return "$status"
}

case "${1:-}" in
  --dry) shift; run_dry "$@" ;;
  --build-only) shift; mkdir -p "$WORK"; [ -f "$WORK/src/ggml/CMakeLists.txt" ] || untar_xz "$PACK/ggml-src.tar.xz" "$WORK/src"; find_cuda; build_cuda_backend ;;
  *) run_gpu "$@" ;;
esac
