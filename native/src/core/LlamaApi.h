// The llama.cpp/ggml C API, resolved at run time with dlopen/dlsym from the folder of shared libraries
// that node-llama-cpp chose (its cpu, cuda or vulkan prebuilt). Nothing of llama.cpp is linked at
// build time: the addon compiles against the headers of the same llama.cpp release, so the structs
// passed by value (llama_context_params, llama_model_params) have the layout the library expects.
// When node-llama-cpp has already loaded these libraries, dlopen returns the same mapping: one copy
// of llama.cpp in the process.
#pragma once

#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"
#include "core/Status.h"

namespace strata {

// Every function the core calls. Required: loading fails without any of them.
#define STRATA_REQUIRED_FUNCTIONS(X)                                                                  \
  X(llama_backend_init)                                                                               \
  X(llama_log_set)                                                                                    \
  X(llama_model_default_params)                                                                       \
  X(llama_context_default_params)                                                                     \
  X(llama_model_load_from_file)                                                                       \
  X(llama_model_free)                                                                                 \
  X(llama_init_from_model)                                                                            \
  X(llama_free)                                                                                       \
  X(llama_model_get_vocab)                                                                            \
  X(llama_vocab_n_tokens)                                                                             \
  X(llama_vocab_bos)                                                                                  \
  X(llama_vocab_eos)                                                                                  \
  X(llama_vocab_is_eog)                                                                               \
  X(llama_model_n_layer)                                                                              \
  X(llama_model_n_head)                                                                               \
  X(llama_model_n_head_kv)                                                                            \
  X(llama_model_n_embd)                                                                               \
  X(llama_model_n_ctx_train)                                                                          \
  X(llama_model_is_recurrent)                                                                         \
  X(llama_model_is_hybrid)                                                                            \
  X(llama_model_has_encoder)                                                                          \
  X(llama_model_rope_type)                                                                            \
  X(llama_model_meta_val_str)                                                                         \
  X(llama_model_desc)                                                                                 \
  X(llama_model_size)                                                                                 \
  X(llama_n_ctx)                                                                                      \
  X(llama_n_batch)                                                                                    \
  X(llama_n_ubatch)                                                                                   \
  X(llama_n_seq_max)                                                                                  \
  X(llama_get_memory)                                                                                 \
  X(llama_memory_seq_rm)                                                                              \
  X(llama_memory_seq_cp)                                                                              \
  X(llama_memory_seq_add)                                                                             \
  X(llama_memory_can_shift)                                                                           \
  X(llama_memory_seq_pos_min)                                                                         \
  X(llama_memory_seq_pos_max)                                                                         \
  X(llama_state_seq_get_size_ext)                                                                     \
  X(llama_state_seq_get_data_ext)                                                                     \
  X(llama_state_seq_set_data_ext)                                                                     \
  X(llama_batch_init)                                                                                 \
  X(llama_batch_free)                                                                                 \
  X(llama_decode)                                                                                     \
  X(llama_get_logits_ith)                                                                             \
  X(llama_synchronize)                                                                                \
  X(llama_set_n_threads)                                                                              \
  X(ggml_backend_load_all_from_path)                                                                  \
  X(ggml_backend_reg_by_name)                                                                         \
  X(ggml_backend_dev_count)                                                                           \
  X(ggml_backend_dev_get)                                                                             \
  X(ggml_backend_dev_name)                                                                            \
  X(ggml_backend_dev_type)                                                                            \
  X(ggml_backend_tensor_get)                                                                          \
  X(ggml_fp16_to_fp32_row)                                                                            \
  X(ggml_type_name)

// Functions that older or newer releases may lack; the core checks for nullptr.
#define STRATA_OPTIONAL_FUNCTIONS(X) X(llama_model_n_swa)

struct BackendDevice {
  std::string name;
  std::string type;  // "cpu", "gpu", "igpu", "accel"
};

struct LlamaApiInfo {
  std::string binsDir;
  std::string libraryPath;
  /** True when this addon loaded the ggml backends; false when they were already registered (node-llama-cpp did it). */
  bool loadedBackends = false;
  std::vector<BackendDevice> devices;
};

class LlamaApi {
 public:
#define STRATA_DECLARE_FUNCTION(name) decltype(&::name) name = nullptr;
  STRATA_REQUIRED_FUNCTIONS(STRATA_DECLARE_FUNCTION)
  STRATA_OPTIONAL_FUNCTIONS(STRATA_DECLARE_FUNCTION)
#undef STRATA_DECLARE_FUNCTION

  /**
   * Loads libllama from `binsDir` (once per process; later calls with the same folder return the same
   * table, another folder is an error) and makes sure the ggml backends are registered.
   */
  static Status load(const std::string& binsDir, const LlamaApi** out) noexcept;

  /** The table loaded by load(), or nullptr. */
  static const LlamaApi* loaded() noexcept;

  const LlamaApiInfo& info() const { return info_; }

 private:
  LlamaApi() = default;
  void* handle_ = nullptr;
  LlamaApiInfo info_;
};

}  // namespace strata
