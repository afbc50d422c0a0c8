// JS class `TierContext`: one llama_context of the tiered engine. Made by `TierModel.createContext()`.
// One operation at a time: a call while another runs is rejected with code BUSY (the TypeScript
// wrapper queues calls so this does not happen), and the context is never freed while a worker uses
// it: dispose() during an operation frees it when that operation has finished.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "core/TierContext.h"

namespace strata::binding {

class AddonContext : public Napi::ObjectWrap<AddonContext> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::unique_ptr<TierContext> context);

  explicit AddonContext(const Napi::CallbackInfo& info);

 private:
  Napi::Value getInfo(const Napi::CallbackInfo& info);
  Napi::Value decode(const Napi::CallbackInfo& info);
  Napi::Value decodeGreedy(const Napi::CallbackInfo& info);
  Napi::Value captureChunk(const Napi::CallbackInfo& info);
  Napi::Value spliceChunk(const Napi::CallbackInfo& info);
  Napi::Value removeRange(const Napi::CallbackInfo& info);
  Napi::Value shiftRange(const Napi::CallbackInfo& info);
  Napi::Value canShift(const Napi::CallbackInfo& info);
  Napi::Value seqPosMin(const Napi::CallbackInfo& info);
  Napi::Value seqPosMax(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value isDisposed(const Napi::CallbackInfo& info);

  /** Rejects (returns a rejected promise) if disposed or busy; otherwise marks busy. */
  bool tryBegin(Napi::Env env, Napi::Value& rejection);
  /** Clears busy; frees the context if dispose() was called meanwhile. */
  void end();
  void startFree(Napi::Env env);
  /** Sync accessors: throw if disposed or busy. */
  TierContext& idleContext(Napi::Env env);

  std::unique_ptr<TierContext> context_;
  bool busy_ = false;
  bool disposeRequested_ = false;
  std::vector<Napi::Promise::Deferred> disposeWaiters_;
  /**
   * Blob memory reused from one capture / splice to the next (only one operation runs at a time):
   * a fresh allocation of a large blob costs more in page faults than llama.cpp's copy itself.
   */
  std::vector<uint8_t> captureStaging_;
  std::vector<uint8_t> spliceStaging_;
};

}  // namespace strata::binding
