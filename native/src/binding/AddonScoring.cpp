#include "binding/AddonScoring.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/convert.h"
#include "core/ScoreChunks.h"

namespace strata::binding {
namespace {

// Sizes are checked in double before any size_t product: a hostile shape must not wrap around.
constexpr double kMaxFloats = 9007199254740992.0;  // 2^53

uint32_t countArgument(const Napi::CallbackInfo& info, size_t index, const char* name, uint32_t min) {
  if (info.Length() <= index || !info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= 2147483647.0) || value != static_cast<double>(static_cast<uint32_t>(value))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer in [" + std::to_string(min) + ", 2^31)");
  }
  return static_cast<uint32_t>(value);
}

Napi::Float32Array float32Argument(const Napi::Value& value, const std::string& name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(value.Env(), name + " must be a Float32Array");
  }
  return value.As<Napi::Float32Array>();
}

/** The inputs, copied off the caller's buffers: JS may change, transfer or shrink them while the worker runs. */
struct ScoringJob {
  ScoringShape shape;
  std::vector<float> queries;
  std::vector<float> abstracts;
  size_t chunkCount = 0;
  unsigned threads = 0;
  /** Return the bounds before standardisation ([layer·head][chunk], float32) instead of the scores. */
  bool raw = false;
  std::vector<double> scores;
  std::vector<float> bounds;
};

}  // namespace

Napi::Value scoreChunks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "queries must be an array of Float32Arrays (one per scoring layer)");
  Napi::Array layers = info[0].As<Napi::Array>();
  auto job = std::make_shared<ScoringJob>();
  ScoringShape& shape = job->shape;
  if (layers.Length() < 1 || layers.Length() > 2147483647u) throw Napi::RangeError::New(env, "queries must hold at least one scoring layer");
  shape.layerCount = static_cast<int32_t>(layers.Length());
  shape.queryTokenCount = static_cast<int32_t>(countArgument(info, 1, "nQueryTokens", 1));
  shape.headCount = static_cast<int32_t>(countArgument(info, 2, "nHeads", 1));
  shape.kvHeadCount = static_cast<int32_t>(countArgument(info, 3, "nKvHeads", 1));
  shape.headDim = static_cast<int32_t>(countArgument(info, 4, "headDim", 1));
  const std::string shapeError = scoringShapeError(shape);
  if (!shapeError.empty()) throw Napi::RangeError::New(env, shapeError);
  Napi::Float32Array abstracts = float32Argument(info.Length() > 5 ? info[5] : env.Undefined(), "abstracts");
  const uint32_t firstChunk = countArgument(info, 6, "firstChunk", 0);
  const uint32_t chunkCount = countArgument(info, 7, "chunkCount", 0);
  job->threads = countArgument(info, 8, "threads", 0);
  job->raw = info.Length() > 9 && info[9].IsBoolean() && info[9].As<Napi::Boolean>().Value();

  const double queryLength = static_cast<double>(shape.queryTokenCount) * shape.headCount * shape.headDim;
  const double stride = static_cast<double>(shape.layerCount) * shape.kvHeadCount * 2 * shape.headDim;
  const double end = (static_cast<double>(firstChunk) + chunkCount) * stride;
  if (queryLength * shape.layerCount > kMaxFloats || end > kMaxFloats) throw Napi::RangeError::New(env, "the scoring shape is too large");
  std::vector<Napi::Float32Array> queryArrays;
  for (uint32_t l = 0; l < layers.Length(); ++l) {
    Napi::Float32Array layer = float32Argument(layers.Get(l), "queries[" + std::to_string(l) + "]");
    if (static_cast<double>(layer.ElementLength()) != queryLength) {
      throw Napi::RangeError::New(env, "queries[" + std::to_string(l) + "] has " + std::to_string(layer.ElementLength()) +
                                           " values, expected nQueryTokens * nHeads * headDim = " + std::to_string(shape.queryLength()));
    }
    queryArrays.push_back(layer);
  }
  if (end > static_cast<double>(abstracts.ElementLength())) {
    throw Napi::RangeError::New(env, "chunks [" + std::to_string(firstChunk) + ", " + std::to_string(firstChunk + static_cast<uint64_t>(chunkCount)) +
                                         ") need " + std::to_string(static_cast<uint64_t>(end)) + " abstract values, abstracts has " +
                                         std::to_string(abstracts.ElementLength()));
  }

  try {
    const size_t perLayer = shape.queryLength();
    job->queries.resize(perLayer * queryArrays.size());
    for (size_t l = 0; l < queryArrays.size(); ++l) std::memcpy(job->queries.data() + l * perLayer, queryArrays[l].Data(), perLayer * sizeof(float));
    const float* from = abstracts.Data() + static_cast<size_t>(firstChunk) * shape.abstractStride();
    job->abstracts.assign(from, from + static_cast<size_t>(chunkCount) * shape.abstractStride());
  } catch (const std::bad_alloc&) {
    return rejected(env, "INTERNAL", "out of memory copying the queries and abstracts");
  }
  job->chunkCount = chunkCount;
  return PromiseWorker::start(
      env, "strata.scoreChunks", Napi::Object(),
      [job] {
        if (job->raw) return strata::chunkBounds(job->shape, job->queries.data(), job->abstracts.data(), job->chunkCount, job->threads, job->bounds);
        return strata::scoreChunks(job->shape, job->queries.data(), job->abstracts.data(), job->chunkCount, job->threads, job->scores);
      },
      [job](Napi::Env env) -> Napi::Value {
        if (job->raw) {
          Napi::Float32Array bounds = Napi::Float32Array::New(env, job->bounds.size());
          if (!job->bounds.empty()) std::memcpy(bounds.Data(), job->bounds.data(), job->bounds.size() * sizeof(float));
          return bounds;
        }
        // A V8-owned buffer (Electron forbids external ones), filled by copy.
        Napi::Float64Array scores = Napi::Float64Array::New(env, job->scores.size());
        if (!job->scores.empty()) std::memcpy(scores.Data(), job->scores.data(), job->scores.size() * sizeof(double));
        return scores;
      });
}

}  // namespace strata::binding
