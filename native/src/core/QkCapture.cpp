#include "core/QkCapture.h"

#include <algorithm>
#include <cstring>

namespace strata {

bool QkCapture::evalCallback(struct ggml_tensor* tensor, bool ask, void* userData) {
  auto* self = static_cast<QkCapture*>(userData);
  if (!self->armed_) return !ask;  // ask: "not needed"; observe (never reached unarmed): "go on"
  int32_t slot;
  bool isKey;
  if (!self->wants(tensor, slot, isKey)) return !ask;
  if (ask) return true;
  self->copy(tensor, slot, isKey);
  // false stops the rest of this graph split (ggml_backend_sched_compute_splits): only when asked to,
  // after the last wanted layer. An error is never a reason to stop: it is reported after the decode.
  if (self->stopLayer_ < 0 || self->captures_[static_cast<size_t>(slot)].layer != self->stopLayer_) return true;
  // Each ubatch's graph passes the last layer's Qcur and Kcur once each: stop after the last wanted one.
  if (++self->stopSeen_ < self->stopKinds_) return true;
  self->stopSeen_ = 0;
  return false;
}

void QkCapture::arm(const CaptureRequest& request, int32_t layerCount) {
  reset();
  slotOfLayer_.assign(static_cast<size_t>(layerCount), -1);
  for (int32_t layer : request.layers) {
    if (slotOfLayer_[layer] != -1) continue;
    slotOfLayer_[layer] = static_cast<int32_t>(captures_.size());
    LayerCapture capture;
    capture.layer = layer;
    captures_.push_back(std::move(capture));
  }
  keys_ = request.keys;
  queries_ = request.queries;
  stopLayer_ = -1;
  stopSeen_ = 0;
  stopKinds_ = (keys_ ? 1 : 0) + (queries_ ? 1 : 0);
  if (request.stopAfterLastLayer) {
    for (int32_t layer : request.layers) stopLayer_ = std::max(stopLayer_, layer);
  }
  armed_ = !captures_.empty() && (keys_ || queries_);
}

std::vector<LayerCapture> QkCapture::disarm(std::string& error) {
  armed_ = false;
  error = error_;
  if (error.empty()) {
    for (const LayerCapture& capture : captures_) {
      if ((keys_ && capture.keyTokens == 0) || (queries_ && capture.queryTokens == 0)) {
        error = "layer " + std::to_string(capture.layer) + " has no post-RoPE " + (keys_ && capture.keyTokens == 0 ? "Kcur" : "Qcur") +
                " tensor in this model's graph";
        break;
      }
    }
  }
  std::vector<LayerCapture> result = std::move(captures_);
  reset();
  return result;
}

void QkCapture::reset() {
  armed_ = false;
  stopLayer_ = -1;
  stopSeen_ = 0;
  captures_.clear();
  slotOfLayer_.clear();
  error_.clear();
}

bool QkCapture::wants(const struct ggml_tensor* tensor, int32_t& slot, bool& isKey) const {
  if (tensor->op != GGML_OP_ROPE) return false;
  const char* name = tensor->name;
  if ((name[0] != 'K' && name[0] != 'Q') || std::strncmp(name + 1, "cur-", 4) != 0) return false;
  isKey = name[0] == 'K';
  if (isKey ? !keys_ : !queries_) return false;
  int32_t layer = 0;
  const char* digit = name + 5;
  if (*digit == '\0') return false;
  for (; *digit != '\0'; ++digit) {
    if (*digit < '0' || *digit > '9' || layer > 1000000) return false;
    layer = layer * 10 + (*digit - '0');
  }
  if (layer >= static_cast<int32_t>(slotOfLayer_.size())) return false;
  slot = slotOfLayer_[layer];
  return slot >= 0;
}

void QkCapture::copy(const struct ggml_tensor* tensor, int32_t slot, bool isKey) {
  if (!error_.empty()) return;
  LayerCapture& capture = captures_[static_cast<size_t>(slot)];
  // ne = [head_dim, heads, tokens]: memory order [token][head][dim].
  const int64_t headDim = tensor->ne[0];
  const int64_t heads = tensor->ne[1];
  const int64_t tokens = tensor->ne[2];
  if (tensor->ne[3] != 1) { error_ = std::string("unexpected 4-D ") + tensor->name; return; }
  if (tensor->type != GGML_TYPE_F32 && tensor->type != GGML_TYPE_F16) {
    error_ = std::string(tensor->name) + " has type " + api_.ggml_type_name(tensor->type) + " (only f32 and f16 can be captured)";
    return;
  }
  if (capture.headDim != 0 && capture.headDim != headDim) { error_ = "head size changed between ubatches"; return; }
  capture.headDim = static_cast<int32_t>(headDim);
  int32_t& headCount = isKey ? capture.kvHeadCount : capture.headCount;
  if (headCount != 0 && headCount != heads) { error_ = "head count changed between ubatches"; return; }
  headCount = static_cast<int32_t>(heads);

  std::vector<float>& out = isKey ? capture.keys : capture.queries;
  int64_t& outTokens = isKey ? capture.keyTokens : capture.queryTokens;
  const size_t rowValues = static_cast<size_t>(headDim);
  const size_t base = out.size();
  out.resize(base + static_cast<size_t>(tokens * heads * headDim));
  float* dst = out.data() + base;
  const size_t elementBytes = tensor->type == GGML_TYPE_F32 ? 4 : 2;
  const bool contiguous = tensor->nb[0] == elementBytes && tensor->nb[1] == elementBytes * headDim &&
                          tensor->nb[2] == tensor->nb[1] * heads;
  const size_t totalValues = static_cast<size_t>(tokens * heads * headDim);
  if (contiguous && tensor->type == GGML_TYPE_F32) {
    api_.ggml_backend_tensor_get(tensor, dst, 0, totalValues * 4);
  } else if (contiguous) {
    halfBuffer_.resize(totalValues);
    api_.ggml_backend_tensor_get(tensor, halfBuffer_.data(), 0, totalValues * 2);
    api_.ggml_fp16_to_fp32_row(reinterpret_cast<const ggml_fp16_t*>(halfBuffer_.data()), dst, static_cast<int64_t>(totalValues));
  } else if (tensor->nb[0] != elementBytes) {
    error_ = std::string(tensor->name) + " is not contiguous in its rows";
    return;
  } else {
    // One row (one head of one token) at a time, through the tensor's strides.
    halfBuffer_.resize(rowValues);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const size_t offset = static_cast<size_t>(t) * tensor->nb[2] + static_cast<size_t>(h) * tensor->nb[1];
        float* row = dst + (static_cast<size_t>(t * heads + h)) * rowValues;
        if (tensor->type == GGML_TYPE_F32) {
          api_.ggml_backend_tensor_get(tensor, row, offset, rowValues * 4);
        } else {
          api_.ggml_backend_tensor_get(tensor, halfBuffer_.data(), offset, rowValues * 2);
          api_.ggml_fp16_to_fp32_row(reinterpret_cast<const ggml_fp16_t*>(halfBuffer_.data()), row, static_cast<int64_t>(rowValues));
        }
      }
    }
  }
  outTokens += tokens;
}

}  // namespace strata
