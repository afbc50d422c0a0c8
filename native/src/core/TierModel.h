// One llama_model loaded through LlamaApi, with the facts about it the tiered engine needs to decide
// whether it can splice this model's KV cache at all (no sliding-window attention, not recurrent or
// hybrid) and how big its blobs and captures are.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/LlamaApi.h"

namespace strata {

struct ModelInfo {
  std::string architecture;
  std::string description;
  uint64_t sizeBytes = 0;
  int32_t layerCount = 0;
  int32_t headCount = 0;
  int32_t kvHeadCount = 0;
  int32_t headDimK = 0;
  int32_t headDimV = 0;
  int32_t embdSize = 0;
  int32_t vocabSize = 0;
  int32_t trainContextLength = 0;
  int32_t bosToken = -1;
  int32_t eosToken = -1;
  /** Sliding-window size; 0 when every layer attends to the whole context. -1 when this llama.cpp cannot tell. */
  int32_t slidingWindow = 0;
  bool isRecurrent = false;
  bool isHybrid = false;
  bool hasEncoder = false;
  /** enum llama_rope_type: -1 none, 0 norm, 2 neox, 8 mrope, 40 imrope, 24 vision. */
  int32_t ropeType = 0;
};

class TierModel {
 public:
  static Status load(const LlamaApi& api, const std::string& path, int32_t gpuLayers, std::shared_ptr<TierModel>& out) noexcept;
  ~TierModel();
  TierModel(const TierModel&) = delete;
  TierModel& operator=(const TierModel&) = delete;

  const ModelInfo& info() const { return info_; }
  const LlamaApi& api() const { return api_; }
  struct llama_model* handle() const { return model_; }

 private:
  TierModel(const LlamaApi& api, struct llama_model* model) : api_(api), model_(model) {}
  void readInfo();
  std::string metaString(const std::string& key) const;

  const LlamaApi& api_;
  struct llama_model* model_;
  ModelInfo info_;
};

}  // namespace strata
