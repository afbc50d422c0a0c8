// Query/key capture through llama.cpp's cb_eval: while armed for one decode, copies the post-RoPE
// `Qcur-<layer>` / `Kcur-<layer>` tensors (the graph node named so whose op is GGML_OP_ROPE) of the
// chosen layers into float32 buffers laid out [token][head][dim]. Disarmed, the callback answers
// "not needed" for every node at the cost of one comparison.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/LlamaApi.h"

namespace strata {

struct CaptureRequest {
  std::vector<int32_t> layers;
  bool keys = true;
  bool queries = false;
  /**
   * Stop computing the graph once the last requested layer's tensors are copied. The layers after it, and the output, are not computed: the decode's cells hold nothing usable
   * there and must be removed after it, as a probe's are. A probe at the middle layers of a 32-layer
   * model then costs about the layers up to them.
   */
  bool stopAfterLastLayer = false;
};

struct LayerCapture {
  int32_t layer = 0;
  /** [token][kvHead][dim], empty when keys were not asked for. */
  std::vector<float> keys;
  /** [token][head][dim], empty when queries were not asked for. */
  std::vector<float> queries;
  int32_t kvHeadCount = 0;
  int32_t headCount = 0;
  int32_t headDim = 0;
  int64_t keyTokens = 0;
  int64_t queryTokens = 0;
};

class QkCapture {
 public:
  explicit QkCapture(const LlamaApi& api) : api_(api) {}

  /** The function to put in llama_context_params.cb_eval, with `this` as cb_eval_user_data. */
  static bool evalCallback(struct ggml_tensor* tensor, bool ask, void* userData);

  void arm(const CaptureRequest& request, int32_t layerCount);
  /** Disarms; returns the captures, or sets `error` if something could not be captured. */
  std::vector<LayerCapture> disarm(std::string& error);
  void reset();

 private:
  bool wants(const struct ggml_tensor* tensor, int32_t& slot, bool& isKey) const;
  void copy(const struct ggml_tensor* tensor, int32_t slot, bool isKey);

  const LlamaApi& api_;
  bool armed_ = false;
  bool keys_ = false;
  bool queries_ = false;
  /** With CaptureRequest::stopAfterLastLayer: the layer after whose tensor the graph stops; -1 never. */
  int32_t stopLayer_ = -1;
  /** Tensors of stopLayer_ copied in the current ubatch's graph, and how many it passes (keys, queries). */
  int32_t stopSeen_ = 0;
  int32_t stopKinds_ = 0;
  /** Layer → slot in captures_, -1 when the layer is not captured. */
  std::vector<int32_t> slotOfLayer_;
  std::vector<LayerCapture> captures_;
  std::vector<uint16_t> halfBuffer_;
  std::string error_;
};

}  // namespace strata
