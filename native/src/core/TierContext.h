// One llama_context of the tiered engine: sequence 0 holds the GPU tier (sink, spliced chunks, recent
// window, current turn); sequence 1 is scratch space for capturing and splicing chunk blobs. The KV
// cache is always unified (kv_unified = true): with separate streams, a partial seq_cp aborts the
// process. Flash attention is always explicit (on or off, never auto), because it sets the V layout
// inside blobs.
//
// Not thread-safe: one call at a time (the binding guarantees it). The blob records a chunk's cells
// and nothing else; the caller tracks which chunks are resident (splicing one twice duplicates its cells).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/QkCapture.h"
#include "core/TierModel.h"

namespace strata {

/**
 * Which logits a decode returns. Argmax: only the index of the last token's largest logit (the lowest
 * index among ties), so greedy decoding does not copy a whole vocabulary row per token.
 */
enum class LogitsMode { None, Last, All, Argmax };

struct ContextOptions {
  uint32_t contextSize = 4096;  // cells
  uint32_t batchSize = 512;
  uint32_t ubatchSize = 512;
  uint32_t sequenceCount = 2;  // >= 2: sequence 0 and a scratch sequence
  int32_t threads = 0;         // 0: hardware concurrency
  int32_t batchThreads = 0;    // 0: same as threads
  bool flashAttention = false;
  int32_t typeK = GGML_TYPE_F16;
  int32_t typeV = GGML_TYPE_F16;
  bool offloadKqv = true;
  /** Installs the cb_eval capture hook. Off, decode() cannot capture, and the scheduler runs each graph split without a callback. */
  bool captureEnabled = true;
};

struct ContextInfo {
  uint32_t contextSize = 0;
  uint32_t batchSize = 0;
  uint32_t ubatchSize = 0;
  uint32_t sequenceCount = 0;
  bool flashAttention = false;
  int32_t typeK = 0;
  int32_t typeV = 0;
  int32_t threads = 0;
  bool captureEnabled = true;
};

struct DecodeResult {
  /** n_vocab floats per output row: none, the last token's, or every token's. */
  std::vector<float> logits;
  int32_t logitRows = 0;
  /** LogitsMode::Argmax: the last row's argmax; -1 otherwise. */
  int32_t argmax = -1;
  bool captured = false;
  std::vector<LayerCapture> captures;
  /** Wall time of the llama.cpp calls (captures included). */
  double elapsedMs = 0;
};

struct GreedyResult {
  /** The tokens the run produced, one per decode: each is the argmax after the one before it. */
  std::vector<int32_t> tokens;
  bool captured = false;
  /** Captures of every decoded token, in order ([token][head][dim] per layer). */
  std::vector<LayerCapture> captures;
  double elapsedMs = 0;
};

struct ChunkInfo {
  uint32_t cellCount = 0;
  int32_t posMin = 0;
  int32_t posMax = 0;
  /** Wall time of the llama.cpp calls. */
  double elapsedMs = 0;
};

class TierContext {
 public:
  static constexpr int32_t kMainSeq = 0;
  static constexpr int32_t kScratchSeq = 1;

  static Status create(std::shared_ptr<TierModel> model, const ContextOptions& options, std::unique_ptr<TierContext>& out) noexcept;
  ~TierContext();
  TierContext(const TierContext&) = delete;
  TierContext& operator=(const TierContext&) = delete;

  /**
   * Evaluates tokens on sequence 0 at the given positions, which must be consecutive and, when the
   * sequence is not empty, start at seqPosMax() + 1. All or nothing: on failure the sequence is as before.
   * `capture` (may be null) arms query/key capture for this call only.
   */
  Status decode(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, LogitsMode logits,
                const CaptureRequest* capture, DecodeResult& out) noexcept;

  /**
   * Greedy generation of up to `maxSteps` tokens in one call: decodes `token` at `position`, takes the
   * argmax as the next token, decodes that, and so on; stops after producing an end-of-generation
   * token (which is not decoded). The same tokens and cells as `maxSteps` one-token decode() calls with
   * LogitsMode::Argmax, without a return to JavaScript between them. All or nothing, like decode().
   */
  Status decodeGreedy(int32_t token, int32_t position, int32_t maxSteps, const CaptureRequest* capture, GreedyResult& out) noexcept;
  /**
   * Copies the cells of sequence 0 with positions in [p0, p1) into `blob` (resized to fit; pass the
   * same vector again to reuse its memory); sequence 0 is unchanged.
   */
  Status captureChunk(int32_t p0, int32_t p1, std::vector<uint8_t>& blob, ChunkInfo& info) noexcept;

  /**
   * Adds a blob's cells to sequence 0 at the positions they were captured at plus `shift`: the cells are
   * moved while they sit alone in the scratch sequence (llama.cpp rotates their keys at the next decode),
   * so cells already in sequence 0 at those positions are never touched. The blob's first `trim` cells
   * are left out (they are recomputed in place). `info` gives the new positions.
   */
  Status spliceChunk(const uint8_t* blob, size_t size, int32_t shift, int32_t trim, ChunkInfo& info) noexcept;

  /** Removes the cells of sequence 0 with positions in [p0, p1). */
  Status removeRange(int32_t p0, int32_t p1) noexcept;

  /**
   * Moves the cells of sequence 0 with positions in [p0, p1) by `delta` positions; llama.cpp rotates
   * their keys by delta (RoPE) at the next decode. Refused when the model's memory cannot shift.
   */
  Status shiftRange(int32_t p0, int32_t p1, int32_t delta) noexcept;

  /** Whether this context's memory can shift positions (llama_memory_can_shift). */
  bool canShift() const noexcept;

  /** Smallest / largest position in sequence 0, -1 when it is empty. */
  int32_t seqPosMin() const noexcept;
  int32_t seqPosMax() const noexcept;

  const ContextInfo& info() const { return info_; }
  const TierModel& model() const { return *model_; }

 private:
  TierContext(std::shared_ptr<TierModel> model) : model_(std::move(model)), capture_(model_->api()) {}
  void checkDecode(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, const CaptureRequest* capture) const;
  void useBatchThreads(size_t tokenCount);
  /**
   * Runs `evaluate` (decodes from `firstPosition` on) with the capture armed when asked, and returns
   * the captures. All or nothing: if it throws, or the capture fails, the cells from `firstPosition`
   * on are removed and the error goes on.
   */
  std::vector<LayerCapture> evaluateAllOrNothing(const CaptureRequest* capture, int32_t firstPosition, const std::function<void()>& evaluate);
  void decodeOrThrow(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions, LogitsMode logits, DecodeResult& out);

  std::shared_ptr<TierModel> model_;
  QkCapture capture_;  // its address is the context's cb_eval_user_data: it lives as long as the context
  struct llama_context* context_ = nullptr;
  int32_t threads_ = 1;
  int32_t batchThreads_ = 1;
  /** The n_threads_batch llama.cpp runs with now: small batches get the one-token thread count. */
  int32_t activeBatchThreads_ = 1;
  llama_memory_t memory_ = nullptr;
  struct llama_batch batch_ {};
  bool batchAllocated_ = false;
  ContextInfo info_;
  /** A trimmed blob's bytes (spliceChunk with trim), reused between splices. */
  std::vector<uint8_t> trimmed_;
};

}  // namespace strata
