#include "core/ScoreChunks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>
#include <utility>

// The kernel is compiled twice on x86-64 Linux, for AVX2 + FMA and for the baseline, and the loader
// picks one at load time (GCC/Clang target_clones, an ifunc): the addon is built once for every
// machine, so -march=native is not an option, and the AVX2 build is about twice the baseline's speed.
// Elsewhere (macOS and musl have no ifunc, MSVC no attribute) the baseline alone. __GLIBC__ comes
// from the standard headers above.
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__)) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define STRATA_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef STRATA_TARGET_CLONES
#define STRATA_TARGET_CLONES
#endif
// The kernel must be inlined into each clone to be compiled for that clone's instruction set.
#if defined(__GNUC__) || defined(__clang__)
#define STRATA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define STRATA_ALWAYS_INLINE inline
#endif

namespace strata {
namespace {

// Chunks scored together: each query row is loaded once for this many abstract rows.
constexpr size_t kChunkBlock = 4;
// Independent partial sums per dot product: one 8-float vector register each (AVX2), so the loop
// has no float reduction to reorder and the compiler vectorises it without -ffast-math.
constexpr size_t kLanes = 8;
// Multiply-adds below which another thread costs more (start, join, cold caches) than it saves:
// about half a millisecond of work.
constexpr double kMinMultiplyAddsPerThread = 4e6;

/**
 * The queries rearranged so that a bound is a plain dot product with a chunk's abstract row: rows
 * [layer][head][token], each 2·headDim floats, [min(q, 0) | max(q, 0)] against [min | max]. With
 * min <= max, q·min is the larger term where q <= 0 and q·max where q > 0, which is the bound's
 * max(q·min, q·max) — the same choice as the reference's gather index.
 */
std::vector<float> splitQueries(const ScoringShape& shape, const float* queries) {
  const size_t T = shape.queryTokenCount, H = shape.headCount, D = shape.headDim;
  std::vector<float> split(static_cast<size_t>(shape.layerCount) * H * T * 2 * D);
  for (size_t l = 0; l < static_cast<size_t>(shape.layerCount); ++l) {
    for (size_t h = 0; h < H; ++h) {
      for (size_t t = 0; t < T; ++t) {
        const float* from = queries + l * shape.queryLength() + (t * H + h) * D;
        float* to = split.data() + ((l * H + h) * T + t) * 2 * D;
        for (size_t d = 0; d < D; ++d) {
          to[d] = from[d] > 0 ? 0.0f : from[d];
          to[D + d] = from[d] > 0 ? from[d] : 0.0f;
        }
      }
    }
  }
  return split;
}

/**
 * out[r][i] = q_r · a_i over n floats, for two query rows and kChunkBlock (4) abstract rows: each
 * loaded value serves several multiply-adds. Written out so that the innermost loop is the lanes',
 * which is what the vectoriser turns into one vector operation per statement.
 */
STRATA_ALWAYS_INLINE void dot2xBlock(const float* q0, const float* q1, const float* const* a, size_t n, float out[2][kChunkBlock]) {
  static_assert(kChunkBlock == 4, "the statements below are written for 4 chunks");
  const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
  float s00[kLanes] = {}, s01[kLanes] = {}, s02[kLanes] = {}, s03[kLanes] = {};
  float s10[kLanes] = {}, s11[kLanes] = {}, s12[kLanes] = {}, s13[kLanes] = {};
  size_t d = 0;
  for (; d + kLanes <= n; d += kLanes) {
    for (size_t k = 0; k < kLanes; ++k) {
      const float x0 = q0[d + k], x1 = q1[d + k];
      const float y0 = a0[d + k], y1 = a1[d + k], y2 = a2[d + k], y3 = a3[d + k];
      s00[k] += x0 * y0;
      s01[k] += x0 * y1;
      s02[k] += x0 * y2;
      s03[k] += x0 * y3;
      s10[k] += x1 * y0;
      s11[k] += x1 * y1;
      s12[k] += x1 * y2;
      s13[k] += x1 * y3;
    }
  }
  const float* lanes[2][kChunkBlock] = {{s00, s01, s02, s03}, {s10, s11, s12, s13}};
  const float* rows[2] = {q0, q1};
  for (size_t r = 0; r < 2; ++r) {
    for (size_t i = 0; i < kChunkBlock; ++i) {
      // Folded in halves (8 → 4 → 2 → 1): the first fold is one vector add, not four dependent ones.
      const float* s = lanes[r][i];
      float half[kLanes / 2];
      for (size_t k = 0; k < kLanes / 2; ++k) half[k] = s[k] + s[k + kLanes / 2];
      float sum = (half[0] + half[2]) + (half[1] + half[3]);
      for (size_t e = d; e < n; ++e) sum += rows[r][e] * a[i][e];  // headDim not a multiple of 4
      out[r][i] = sum;
    }
  }
}

struct BoundsJob {
  const ScoringShape* shape;
  const float* split;  // splitQueries
  const float* abstracts;
  size_t chunkCount;
  float* bounds;  // [layer * headCount + head][chunk]
};

/** bounds of chunks [begin, end) for every (layer, head). */
STRATA_TARGET_CLONES void boundsForChunks(const BoundsJob& job, size_t begin, size_t end) noexcept {
  const ScoringShape& shape = *job.shape;
  const size_t L = shape.layerCount, T = shape.queryTokenCount, H = shape.headCount, G = shape.kvHeadCount;
  const size_t width = 2 * static_cast<size_t>(shape.headDim), groupSize = H / G, rows = groupSize * T;
  const size_t stride = shape.abstractStride(), C = job.chunkCount;
  for (size_t lh = 0; lh < L * H; ++lh) std::fill(job.bounds + lh * C + begin, job.bounds + lh * C + end, -std::numeric_limits<float>::infinity());
  // (layer, KV head) outermost: its query rows (group heads × tokens × 2·headDim floats, 256 KB for
  // 4 heads × 64 tokens × 128 dims) stay in L2 while the chunks stream past, and every abstract row
  // is read once. Chunks outermost would read all the queries again for every block.
  for (size_t l = 0; l < L; ++l) {
    for (size_t g = 0; g < G; ++g) {
      // The group's query heads are consecutive, so its rows are too: [head in group][token].
      const float* q = job.split + (l * H + g * groupSize) * T * width;
      for (size_t c = begin; c < end; c += kChunkBlock) {
        const size_t n = std::min(kChunkBlock, end - c);
        // A short last block repeats its last chunk; those sums are dropped.
        const float* a[kChunkBlock];
        for (size_t i = 0; i < kChunkBlock; ++i) a[i] = job.abstracts + (c + std::min(i, n - 1)) * stride + (l * G + g) * width;
        float* groupBounds = job.bounds + (l * H + g * groupSize) * C + c;
        for (size_t r = 0; r < rows; r += 2) {
          const size_t r1 = std::min(r + 1, rows - 1);  // an odd last row is paired with itself
          float sums[2][kChunkBlock];
          dot2xBlock(q + r * width, q + r1 * width, a, width, sums);
          float* b0 = groupBounds + (r / T) * C;
          float* b1 = groupBounds + (r1 / T) * C;
          for (size_t i = 0; i < n; ++i) {
            if (sums[0][i] > b0[i]) b0[i] = sums[0][i];
            if (sums[1][i] > b1[i]) b1[i] = sums[1][i];
          }
        }
      }
    }
  }
}

/** Runs boundsForChunks over `threadCount` ranges of whole blocks, this thread taking the first. */
void boundsInParallel(const BoundsJob& job, size_t threadCount) {
  const size_t blocks = (job.chunkCount + kChunkBlock - 1) / kChunkBlock;
  auto rangeOf = [&](size_t t) {
    return std::pair<size_t, size_t>(std::min(job.chunkCount, blocks * t / threadCount * kChunkBlock),
                                     std::min(job.chunkCount, blocks * (t + 1) / threadCount * kChunkBlock));
  };
  std::vector<std::thread> workers;
  size_t started = 1;
  try {
    workers.reserve(threadCount - 1);
    for (; started < threadCount; ++started) {
      const auto range = rangeOf(started);
      workers.emplace_back([&job, range] { boundsForChunks(job, range.first, range.second); });
    }
  } catch (...) {
    // No more threads to be had: this thread does the ranges that did not get one.
  }
  boundsForChunks(job, rangeOf(0).first, rangeOf(0).second);
  for (size_t t = started; t < threadCount; ++t) boundsForChunks(job, rangeOf(t).first, rangeOf(t).second);
  for (std::thread& worker : workers) worker.join();
}

/** standardizedScores of scoreChunks.ts, in float64 like the reference. */
void standardize(const std::vector<float>& bounds, size_t rowCount, size_t C, std::vector<double>& scores) {
  scores.assign(C, -std::numeric_limits<double>::infinity());
  for (size_t lh = 0; lh < rowCount; ++lh) {
    const float* row = bounds.data() + lh * C;
    double sum = 0, sumAbs = 0;
    for (size_t c = 0; c < C; ++c) {
      sum += row[c];
      sumAbs += std::fabs(static_cast<double>(row[c]));
    }
    const double mean = sum / C;
    double squares = 0;
    for (size_t c = 0; c < C; ++c) {
      const double dev = row[c] - mean;
      squares += dev * dev;
    }
    const double scale = 1 / (std::sqrt(squares / C) + 1e-3 * (sumAbs / C) + 1e-12);
    for (size_t c = 0; c < C; ++c) {
      const double z = (row[c] - mean) * scale;
      if (z > scores[c]) scores[c] = z;
    }
  }
}

}  // namespace

std::string scoringShapeError(const ScoringShape& shape) {
  if (shape.layerCount < 1) return "queries must hold at least one scoring layer";
  if (shape.queryTokenCount < 1 || shape.headCount < 1 || shape.kvHeadCount < 1 || shape.headDim < 1) {
    return "nQueryTokens, nHeads, nKvHeads and headDim must be positive";
  }
  if (shape.headCount % shape.kvHeadCount != 0) {
    return "nHeads (" + std::to_string(shape.headCount) + ") must be a multiple of nKvHeads (" + std::to_string(shape.kvHeadCount) + ")";
  }
  return "";
}

Status chunkBounds(const ScoringShape& shape, const float* queries, const float* abstracts, size_t chunkCount, unsigned maxThreads,
                   std::vector<float>& bounds) noexcept {
  try {
    const std::string error = scoringShapeError(shape);
    if (!error.empty()) return Status::fail("INVALID_ARGUMENT", error);
    bounds.clear();
    if (chunkCount == 0) return Status::ok();
    const size_t rowCount = static_cast<size_t>(shape.layerCount) * shape.headCount;
    bounds.resize(rowCount * chunkCount);
    const std::vector<float> split = splitQueries(shape, queries);
    const BoundsJob job{&shape, split.data(), abstracts, chunkCount, bounds.data()};

    const double multiplyAdds = static_cast<double>(chunkCount) * rowCount * shape.queryTokenCount * 2 * shape.headDim;
    const size_t hardware = std::max(1u, std::thread::hardware_concurrency());
    size_t threads = maxThreads == 0 ? hardware : std::min<size_t>(maxThreads, hardware);
    threads = std::min(threads, static_cast<size_t>(std::max(1.0, multiplyAdds / kMinMultiplyAddsPerThread)));
    threads = std::min(threads, (chunkCount + kChunkBlock - 1) / kChunkBlock);
    boundsInParallel(job, std::max<size_t>(1, threads));
    return Status::ok();
  } catch (const std::bad_alloc&) {
    return Status::fail("INTERNAL", "out of memory scoring chunks");
  } catch (const std::exception& error) {
    return Status::fail("INTERNAL", error.what());
  } catch (...) {
    return Status::fail("INTERNAL", "unknown error scoring chunks");
  }
}

Status scoreChunks(const ScoringShape& shape, const float* queries, const float* abstracts, size_t chunkCount, unsigned maxThreads,
                   std::vector<double>& scores) noexcept {
  std::vector<float> bounds;
  Status status = chunkBounds(shape, queries, abstracts, chunkCount, maxThreads, bounds);
  if (!status.isOk()) return status;
  try {
    scores.clear();
    if (chunkCount == 0) return Status::ok();
    standardize(bounds, static_cast<size_t>(shape.layerCount) * shape.headCount, chunkCount, scores);
    return Status::ok();
  } catch (...) {
    return Status::fail("INTERNAL", "out of memory scoring chunks");
  }
}

}  // namespace strata
