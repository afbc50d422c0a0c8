// Chunk scoring in C++: the computation of chunkUpperBounds + scoreChunks in
// main/engine/tiered/abstracts/scoreChunks.ts (the reference, and the fallback without the addon),
// run over several threads with a vectorised inner loop. Pure computation: no llama.cpp, no N-API.
//
// A chunk's bound for (layer, query head) is max over query tokens t of Σ_d max(q_td·min_d, q_td·max_d);
// each (layer, head)'s bounds are standardised across the scored chunks and a chunk's score is its best
// standardised bound. Bounds are accumulated in float32 (the reference uses float64): scores agree to
// about 1e-5 of their scale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/Status.h"

namespace strata {

struct ScoringShape {
  int32_t layerCount = 0;  // scoring layers
  int32_t queryTokenCount = 0;
  int32_t headCount = 0;
  int32_t kvHeadCount = 0;  // query head h reads KV head h / (headCount / kvHeadCount) (GQA)
  int32_t headDim = 0;

  /** Floats of one layer's queries, [token][head][dim]. */
  size_t queryLength() const { return static_cast<size_t>(queryTokenCount) * headCount * headDim; }
  /** Floats of one chunk's abstract, [layer][kvHead][min|max][dim]. */
  size_t abstractStride() const { return static_cast<size_t>(layerCount) * kvHeadCount * 2 * headDim; }
};

/** Why `shape` cannot be scored (non-positive sizes, heads not a multiple of KV heads), or "" when it can. */
std::string scoringShapeError(const ScoringShape& shape);

/**
 * One score per chunk, higher is more relevant, into `scores` (resized to chunkCount).
 * `queries`: layerCount × queryLength() floats, layer after layer. `abstracts`: chunkCount ×
 * abstractStride() floats, chunk after chunk, with min <= max in every channel (as computeAbstract
 * makes them) and finite. `maxThreads` 0: hardware concurrency; small inputs use one thread whatever it is.
 */
Status scoreChunks(const ScoringShape& shape, const float* queries, const float* abstracts, size_t chunkCount, unsigned maxThreads,
                   std::vector<double>& scores) noexcept;

/**
 * The bounds alone, [layer * headCount + head][chunk], before standardisation: chunks scored with
 * different queries (a library document's queries rotated by its placement) are bounded apart and
 * standardised together by the caller.
 */
Status chunkBounds(const ScoringShape& shape, const float* queries, const float* abstracts, size_t chunkCount, unsigned maxThreads,
                   std::vector<float>& bounds) noexcept;

}  // namespace strata
