#include "core/TierModel.h"

#include <cstdlib>
#include <filesystem>

namespace strata {

Status TierModel::load(const LlamaApi& api, const std::string& path, int32_t gpuLayers, std::shared_ptr<TierModel>& out) noexcept {
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return Status::fail("LOAD_FAILED", "no model file at " + path);
    llama_model_params params = api.llama_model_default_params();
    params.n_gpu_layers = gpuLayers;
    struct llama_model* model = api.llama_model_load_from_file(path.c_str(), params);
    if (model == nullptr) return Status::fail("LOAD_FAILED", "llama.cpp could not load " + path + " (see its log for why)");
    std::shared_ptr<TierModel> loaded(new TierModel(api, model));
    loaded->readInfo();
    out = std::move(loaded);
    return Status::ok();
  } catch (const std::exception& error) {
    return Status::fail("LOAD_FAILED", error.what());
  } catch (...) {
    return Status::fail("LOAD_FAILED", "unknown error while loading " + path);
  }
}

TierModel::~TierModel() {
  if (model_ != nullptr) api_.llama_model_free(model_);
}

std::string TierModel::metaString(const std::string& key) const {
  char buffer[512];
  const int32_t length = api_.llama_model_meta_val_str(model_, key.c_str(), buffer, sizeof(buffer));
  return length < 0 ? std::string() : std::string(buffer);
}

void TierModel::readInfo() {
  const struct llama_vocab* vocab = api_.llama_model_get_vocab(model_);
  info_.architecture = metaString("general.architecture");
  char description[256];
  api_.llama_model_desc(model_, description, sizeof(description));
  info_.description = description;
  info_.sizeBytes = api_.llama_model_size(model_);
  info_.layerCount = api_.llama_model_n_layer(model_);
  info_.headCount = api_.llama_model_n_head(model_);
  info_.kvHeadCount = api_.llama_model_n_head_kv(model_);
  info_.embdSize = api_.llama_model_n_embd(model_);
  info_.vocabSize = api_.llama_vocab_n_tokens(vocab);
  info_.trainContextLength = api_.llama_model_n_ctx_train(model_);
  info_.bosToken = api_.llama_vocab_bos(vocab);
  info_.eosToken = api_.llama_vocab_eos(vocab);
  info_.slidingWindow = api_.llama_model_n_swa != nullptr ? api_.llama_model_n_swa(model_) : -1;
  info_.isRecurrent = api_.llama_model_is_recurrent(model_);
  info_.isHybrid = api_.llama_model_is_hybrid(model_);
  info_.hasEncoder = api_.llama_model_has_encoder(model_);
  info_.ropeType = static_cast<int32_t>(api_.llama_model_rope_type(model_));
  // The per-head sizes are GGUF metadata (<arch>.attention.key_length / value_length); without them
  // llama.cpp uses n_embd / n_head, and so does this.
  const int32_t defaultHeadDim = info_.headCount > 0 ? info_.embdSize / info_.headCount : 0;
  const std::string keyLength = metaString(info_.architecture + ".attention.key_length");
  const std::string valueLength = metaString(info_.architecture + ".attention.value_length");
  info_.headDimK = keyLength.empty() ? defaultHeadDim : std::atoi(keyLength.c_str());
  info_.headDimV = valueLength.empty() ? defaultHeadDim : std::atoi(valueLength.c_str());
}

}  // namespace strata
