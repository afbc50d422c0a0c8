#include "core/TierContext.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "core/BlobLayout.h"

namespace strata {

namespace {
// Batches up to this many tokens decode on the one-token thread count.
constexpr size_t kSmallBatchTokens = 32;
}  // namespace
namespace {

Status fromException() noexcept {
  try {
    throw;
  } catch (const CoreError& error) {
    return Status::fail(error.code, error.message);
  } catch (const std::bad_alloc&) {
    return Status::fail("INTERNAL", "out of memory");
  } catch (const std::exception& error) {
    return Status::fail("INTERNAL", error.what());
  } catch (...) {
    return Status::fail("INTERNAL", "unknown error");
  }
}

[[noreturn]] void invalid(const std::string& message) { throw CoreError{"INVALID_ARGUMENT", message}; }

/** Removes the scratch sequence on every path out of a capture or a splice. */
class ScratchGuard {
 public:
  ScratchGuard(const LlamaApi& api, llama_memory_t memory) : api_(api), memory_(memory) { clear(); }
  ~ScratchGuard() { clear(); }
  void clear() { api_.llama_memory_seq_rm(memory_, TierContext::kScratchSeq, -1, -1); }

 private:
  const LlamaApi& api_;
  llama_memory_t memory_;
};

double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

bool isValidType(int32_t type) { return type >= 0 && type < GGML_TYPE_COUNT; }

bool isQuantized(int32_t type) { return type != GGML_TYPE_F32 && type != GGML_TYPE_F16 && type != GGML_TYPE_BF16; }

/** Index of the largest value, the lowest among ties; a NaN never wins. The same rule as sampleToken.ts. */
int32_t argmaxOf(const float* row, size_t count) {
  size_t best = 0;
  for (size_t i = 1; i < count; ++i) {
    if (row[i] > row[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

}  // namespace

Status TierContext::create(std::shared_ptr<TierModel> model, const ContextOptions& options, std::unique_ptr<TierContext>& out) noexcept {
  try {
    const ModelInfo& modelInfo = model->info();
    if (options.contextSize < 1) invalid("contextSize must be at least 1");
    if (options.batchSize < 1 || options.ubatchSize < 1) invalid("batchSize and ubatchSize must be at least 1");
    if (options.ubatchSize > options.batchSize) invalid("ubatchSize must not exceed batchSize");
    if (options.sequenceCount < 2) invalid("sequenceCount must be at least 2 (sequence 0 and a scratch sequence)");
    if (!isValidType(options.typeK) || !isValidType(options.typeV)) invalid("typeK/typeV must be ggml types");
    if (!options.flashAttention && isQuantized(options.typeV)) invalid("a quantized V cache needs flash attention on");
    if (modelInfo.isRecurrent || modelInfo.isHybrid) {
      throw CoreError{"UNSUPPORTED_MODEL", "recurrent and hybrid models keep state that chunks cannot be spliced into"};
    }

    std::unique_ptr<TierContext> context(new TierContext(std::move(model)));
    const LlamaApi& api = context->model_->api();
    const int32_t hardwareThreads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    llama_context_params params = api.llama_context_default_params();
    params.n_ctx = options.contextSize;
    params.n_batch = options.batchSize;
    params.n_ubatch = options.ubatchSize;
    params.n_seq_max = options.sequenceCount;
    params.n_threads = options.threads > 0 ? options.threads : hardwareThreads;
    params.n_threads_batch = options.batchThreads > 0 ? options.batchThreads : params.n_threads;
    params.flash_attn_type = options.flashAttention ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    params.type_k = static_cast<ggml_type>(options.typeK);
    params.type_v = static_cast<ggml_type>(options.typeV);
    params.offload_kqv = options.offloadKqv;
    params.kv_unified = true;  // always: a partial seq_cp between separate streams aborts the process
    params.embeddings = false;
    params.no_perf = true;
    if (options.captureEnabled) {
      params.cb_eval = &QkCapture::evalCallback;
      params.cb_eval_user_data = &context->capture_;
    }

    context->context_ = api.llama_init_from_model(context->model_->handle(), params);
    if (context->context_ == nullptr) {
      throw CoreError{"CONTEXT_FAILED", "llama.cpp could not create a context of " + std::to_string(options.contextSize) +
                                            " cells (out of memory, or an option this backend does not support; see its log)"};
    }
    context->memory_ = api.llama_get_memory(context->context_);
    if (context->memory_ == nullptr) throw CoreError{"CONTEXT_FAILED", "the context has no KV memory"};
    context->info_.contextSize = api.llama_n_ctx(context->context_);
    context->info_.batchSize = api.llama_n_batch(context->context_);
    context->info_.ubatchSize = api.llama_n_ubatch(context->context_);
    context->info_.sequenceCount = api.llama_n_seq_max(context->context_);
    context->info_.flashAttention = options.flashAttention;
    context->info_.typeK = options.typeK;
    context->info_.typeV = options.typeV;
    context->info_.threads = params.n_threads;
    context->threads_ = params.n_threads;
    context->batchThreads_ = params.n_threads_batch;
    context->activeBatchThreads_ = params.n_threads_batch;
    context->info_.captureEnabled = options.captureEnabled;
    context->batch_ = api.llama_batch_init(static_cast<int32_t>(context->info_.batchSize), 0, 1);
    context->batchAllocated_ = true;
    out = std::move(context);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

TierContext::~TierContext() {
  const LlamaApi& api = model_->api();
  if (batchAllocated_) api.llama_batch_free(batch_);
  if (context_ != nullptr) api.llama_free(context_);
}

int32_t TierContext::seqPosMin() const noexcept { return model_->api().llama_memory_seq_pos_min(memory_, kMainSeq); }

int32_t TierContext::seqPosMax() const noexcept { return model_->api().llama_memory_seq_pos_max(memory_, kMainSeq); }

void TierContext::checkDecode(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, const CaptureRequest* capture) const {
  const ModelInfo& modelInfo = model_->info();
  if (tokens.empty()) invalid("no tokens to decode");
  if (positions.size() != tokens.size()) invalid("positions must have one entry per token");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= modelInfo.vocabSize) {
      invalid("token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) + " is outside the vocabulary [0, " +
              std::to_string(modelInfo.vocabSize) + ")");
    }
  }
  if (positions[0] < 0) invalid("positions must be non-negative");
  if (static_cast<int64_t>(positions[0]) + static_cast<int64_t>(positions.size()) - 1 > INT32_MAX) invalid("positions overflow int32");
  for (size_t i = 1; i < positions.size(); ++i) {
    if (positions[i] != positions[0] + static_cast<int32_t>(i)) invalid("positions must be consecutive (index " + std::to_string(i) + ")");
  }
  const int32_t posMax = seqPosMax();
  if (posMax >= 0 && positions[0] != posMax + 1) {
    invalid("the batch must start at position " + std::to_string(posMax + 1) + " (one past the last position in the context), not " +
            std::to_string(positions[0]) + ": the most recent chunk must be resident");
  }
  if (capture != nullptr && !info_.captureEnabled) invalid("this context was created with captureEnabled: false");
  if (capture != nullptr) {
    for (int32_t layer : capture->layers) {
      if (layer < 0 || layer >= modelInfo.layerCount) {
        invalid("capture layer " + std::to_string(layer) + " is outside [0, " + std::to_string(modelInfo.layerCount) + ")");
      }
    }
  }
}

void TierContext::useBatchThreads(size_t tokenCount) {
  // A batch of a few tokens (a question, a probe) has as little work per graph node as one token, and
  // waits at as many barriers: it runs on the one-token thread count (see decodeThreads in TieredEngine.ts).
  const int32_t batchThreads = tokenCount <= kSmallBatchTokens ? threads_ : batchThreads_;
  if (batchThreads != activeBatchThreads_) {
    model_->api().llama_set_n_threads(context_, threads_, batchThreads);
    activeBatchThreads_ = batchThreads;
  }
}

std::vector<LayerCapture> TierContext::evaluateAllOrNothing(const CaptureRequest* capture, int32_t firstPosition, const std::function<void()>& evaluate) {
  const LlamaApi& api = model_->api();
  if (capture != nullptr) capture_.arm(*capture, model_->info().layerCount);
  try {
    evaluate();
  } catch (...) {
    capture_.reset();
    // All or nothing: drop whatever part was evaluated.
    api.llama_memory_seq_rm(memory_, kMainSeq, firstPosition, -1);
    throw;
  }
  if (capture == nullptr) return {};
  std::string error;
  std::vector<LayerCapture> captures = capture_.disarm(error);
  if (!error.empty()) {
    api.llama_memory_seq_rm(memory_, kMainSeq, firstPosition, -1);
    throw CoreError{"CAPTURE_FAILED", error};
  }
  return captures;
}

Status TierContext::decode(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, LogitsMode logits,
                           const CaptureRequest* capture, DecodeResult& out) noexcept {
  try {
    checkDecode(tokens, positions, capture);
    out = DecodeResult();
    const auto start = std::chrono::steady_clock::now();
    useBatchThreads(tokens.size());
    out.captures = evaluateAllOrNothing(capture, positions[0], [&] { decodeOrThrow(tokens, positions, logits, out); });
    out.captured = capture != nullptr;
    out.elapsedMs = millisecondsSince(start);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

Status TierContext::decodeGreedy(int32_t token, int32_t position, int32_t maxSteps, const CaptureRequest* capture, GreedyResult& out) noexcept {
  try {
    if (maxSteps < 1) invalid("maxSteps must be at least 1");
    if (static_cast<int64_t>(position) + maxSteps > INT32_MAX) invalid("positions overflow int32");
    std::vector<int32_t> tokens{token};
    std::vector<int32_t> positions{position};
    checkDecode(tokens, positions, capture);
    out = GreedyResult();
    const auto start = std::chrono::steady_clock::now();
    useBatchThreads(1);
    const LlamaApi& api = model_->api();
    const llama_vocab* vocab = api.llama_model_get_vocab(model_->handle());
    // Armed once for the whole run: the capture appends each decode's rows, as it does per ubatch.
    out.captures = evaluateAllOrNothing(capture, position, [&] {
      DecodeResult step;
      for (int32_t i = 0; i < maxSteps; ++i) {
        step.argmax = -1;
        decodeOrThrow(tokens, positions, LogitsMode::Argmax, step);
        out.tokens.push_back(step.argmax);
        if (api.llama_vocab_is_eog(vocab, step.argmax)) break;
        tokens[0] = step.argmax;
        positions[0] += 1;
      }
    });
    out.captured = capture != nullptr;
    out.elapsedMs = millisecondsSince(start);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

void TierContext::decodeOrThrow(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, LogitsMode logits,
                                DecodeResult& out) {
  const LlamaApi& api = model_->api();
  const size_t vocab = static_cast<size_t>(model_->info().vocabSize);
  const size_t total = tokens.size();
  const size_t step = info_.batchSize;
  if (logits == LogitsMode::All) out.logits.reserve(total * vocab);
  for (size_t begin = 0; begin < total; begin += step) {
    const size_t count = std::min(step, total - begin);
    const bool lastPiece = begin + count == total;
    batch_.n_tokens = static_cast<int32_t>(count);
    for (size_t i = 0; i < count; ++i) {
      batch_.token[i] = tokens[begin + i];
      batch_.pos[i] = positions[begin + i];
      batch_.n_seq_id[i] = 1;
      batch_.seq_id[i][0] = kMainSeq;
      const bool lastRow = (logits == LogitsMode::Last || logits == LogitsMode::Argmax) && lastPiece && i + 1 == count;
      batch_.logits[i] = logits == LogitsMode::All || lastRow;
    }
    const int32_t status = api.llama_decode(context_, batch_);
    if (status == 1) {
      throw CoreError{"KV_FULL", "no room in the KV cache for " + std::to_string(count) + " more tokens (" + std::to_string(info_.contextSize) +
                                     " cells): remove chunks first"};
    }
    if (status != 0) throw CoreError{"DECODE_FAILED", "llama_decode failed with status " + std::to_string(status) + " (see llama.cpp's log)"};
    if (logits == LogitsMode::All) {
      for (size_t i = 0; i < count; ++i) {
        const float* row = api.llama_get_logits_ith(context_, static_cast<int32_t>(i));
        if (row == nullptr) throw CoreError{"DECODE_FAILED", "llama.cpp returned no logits"};
        out.logits.insert(out.logits.end(), row, row + vocab);
      }
      out.logitRows += static_cast<int32_t>(count);
    } else if (logits == LogitsMode::Last && lastPiece) {
      const float* row = api.llama_get_logits_ith(context_, -1);
      if (row == nullptr) throw CoreError{"DECODE_FAILED", "llama.cpp returned no logits"};
      out.logits.assign(row, row + vocab);
      out.logitRows = 1;
    } else if (logits == LogitsMode::Argmax && lastPiece) {
      const float* row = api.llama_get_logits_ith(context_, -1);
      if (row == nullptr) throw CoreError{"DECODE_FAILED", "llama.cpp returned no logits"};
      out.argmax = argmaxOf(row, vocab);
    }
  }
  api.llama_synchronize(context_);
}

Status TierContext::captureChunk(int32_t p0, int32_t p1, std::vector<uint8_t>& blob, ChunkInfo& info) noexcept {
  try {
    if (p0 < 0 || p1 <= p0) invalid("the range [p0, p1) must have 0 <= p0 < p1, got [" + std::to_string(p0) + ", " + std::to_string(p1) + ")");
    const LlamaApi& api = model_->api();
    const auto start = std::chrono::steady_clock::now();
    ScratchGuard scratch(api, memory_);
    api.llama_memory_seq_cp(memory_, kMainSeq, kScratchSeq, p0, p1);
    if (api.llama_memory_seq_pos_max(memory_, kScratchSeq) < 0) {
      throw CoreError{"EMPTY_RANGE", "the context holds no cells with positions in [" + std::to_string(p0) + ", " + std::to_string(p1) + ")"};
    }
    const size_t size = api.llama_state_seq_get_size_ext(context_, kScratchSeq, 0);
    if (size == 0) throw CoreError{"CAPTURE_FAILED", "llama.cpp could not size the chunk's state (see its log)"};
    blob.resize(size);  // a reused vector keeps its (already faulted-in) memory
    const size_t written = api.llama_state_seq_get_data_ext(context_, blob.data(), blob.size(), kScratchSeq, 0);
    if (written != size) throw CoreError{"CAPTURE_FAILED", "llama.cpp wrote " + std::to_string(written) + " of " + std::to_string(size) + " bytes"};
    BlobLayout layout;
    std::string error;
    if (!describeBlob(blob.data(), blob.size(), layout, error)) throw CoreError{"CAPTURE_FAILED", "the captured blob is unreadable: " + error};
    info.cellCount = layout.cellCount;
    info.posMin = layout.posMin;
    info.posMax = layout.posMax;
    info.elapsedMs = millisecondsSince(start);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

Status TierContext::spliceChunk(const uint8_t* data, size_t size, int32_t shift, int32_t trim, ChunkInfo& info) noexcept {
  try {
    BlobLayout layout;
    std::string error;
    if (!describeBlob(data, size, layout, error)) throw CoreError{"BAD_BLOB", "not a chunk blob: " + error};
    const char* fa = info_.flashAttention ? "on" : "off";
    if (layout.vTransposed == info_.flashAttention) {
      throw CoreError{"BAD_BLOB", std::string("the blob was captured with flash attention ") + (layout.vTransposed ? "off" : "on") +
                                      " and this context has it " + fa + " (the V layout differs)"};
    }
    const LlamaApi& api = model_->api();
    if (layout.typeK != info_.typeK || (layout.typeV != -1 && layout.typeV != info_.typeV)) {
      throw CoreError{"BAD_BLOB", std::string("the blob's KV types are ") + api.ggml_type_name(static_cast<ggml_type>(layout.typeK)) + "/" +
                                      (layout.typeV == -1 ? "none" : api.ggml_type_name(static_cast<ggml_type>(layout.typeV))) + ", this context's " +
                                      api.ggml_type_name(static_cast<ggml_type>(info_.typeK)) + "/" + api.ggml_type_name(static_cast<ggml_type>(info_.typeV))};
    }
    if (layout.cellCount > info_.contextSize) {
      throw CoreError{"BAD_BLOB", "the blob holds " + std::to_string(layout.cellCount) + " cells, more than the context's " + std::to_string(info_.contextSize)};
    }
    // Trimming counts cells from the first position, so it needs one cell per position.
    const bool contiguous = static_cast<int64_t>(layout.posMax) - layout.posMin + 1 == static_cast<int64_t>(layout.cellCount);
    if (trim != 0 && (trim < 0 || static_cast<uint32_t>(trim) >= layout.cellCount || !contiguous)) {
      invalid("trim must leave at least one of the blob's " + std::to_string(layout.cellCount) + " contiguous cells, got " + std::to_string(trim));
    }
    if (shift != 0) {
      if (static_cast<int64_t>(layout.posMin) + trim + shift < 0) {
        invalid("a shift by " + std::to_string(shift) + " would move position " + std::to_string(layout.posMin) + " below 0");
      }
      if (static_cast<int64_t>(layout.posMax) + shift > INT32_MAX) invalid("a shift by " + std::to_string(shift) + " overflows the positions");
      if (!canShift()) throw CoreError{"UNSUPPORTED_MODEL", "this model's KV cache cannot shift positions"};
    }
    const auto start = std::chrono::steady_clock::now();
    // A trimmed chunk is cut in its bytes first: the cells left out never take room in the context.
    if (trim > 0) {
      if (!dropCellsBelow(data, size, layout.posMin + trim, trimmed_, error)) throw CoreError{"BAD_BLOB", "cannot trim the blob: " + error};
      data = trimmed_.data();
      size = trimmed_.size();
    }
    ScratchGuard scratch(api, memory_);
    const size_t read = api.llama_state_seq_set_data_ext(context_, data, size, kScratchSeq, 0);
    if (read == 0) {
      throw CoreError{"BAD_BLOB", "llama.cpp could not restore the blob (no room for " + std::to_string(layout.cellCount) +
                                      " cells, or a model/layout mismatch; see its log)"};
    }
    if (read != size) throw CoreError{"BAD_BLOB", "llama.cpp read " + std::to_string(read) + " of the blob's " + std::to_string(size) + " bytes"};
    // Alone in the scratch sequence, the cells move without touching sequence 0's cells at those positions.
    if (shift != 0) api.llama_memory_seq_add(memory_, kScratchSeq, -1, -1, shift);
    api.llama_memory_seq_cp(memory_, kScratchSeq, kMainSeq, -1, -1);
    scratch.clear();
    info.cellCount = layout.cellCount - trim;
    info.posMin = layout.posMin + trim + shift;
    info.posMax = layout.posMax + shift;
    info.elapsedMs = millisecondsSince(start);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

Status TierContext::removeRange(int32_t p0, int32_t p1) noexcept {
  try {
    if (p0 < 0 || p1 <= p0) invalid("the range [p0, p1) must have 0 <= p0 < p1, got [" + std::to_string(p0) + ", " + std::to_string(p1) + ")");
    if (!model_->api().llama_memory_seq_rm(memory_, kMainSeq, p0, p1)) {
      throw CoreError{"INTERNAL", "llama.cpp refused to remove [" + std::to_string(p0) + ", " + std::to_string(p1) + ")"};
    }
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

Status TierContext::shiftRange(int32_t p0, int32_t p1, int32_t delta) noexcept {
  try {
    if (p0 < 0 || p1 <= p0) invalid("the range [p0, p1) must have 0 <= p0 < p1, got [" + std::to_string(p0) + ", " + std::to_string(p1) + ")");
    if (p0 + delta < 0) invalid("a shift by " + std::to_string(delta) + " would move position " + std::to_string(p0) + " below 0");
    if (!canShift()) throw CoreError{"UNSUPPORTED_MODEL", "this model's KV cache cannot shift positions"};
    model_->api().llama_memory_seq_add(memory_, kMainSeq, p0, p1, delta);
    return Status::ok();
  } catch (...) {
    return fromException();
  }
}

bool TierContext::canShift() const noexcept { return model_->api().llama_memory_can_shift(memory_); }

}  // namespace strata
