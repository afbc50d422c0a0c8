// JS class `TierModel`: a loaded llama_model. Made by `loadModel()`, not by `new`.
#pragma once

#include <napi.h>

#include <memory>

#include "core/TierModel.h"

namespace strata::binding {

class AddonModel : public Napi::ObjectWrap<AddonModel> {
 public:
  static Napi::Function define(Napi::Env env);
  /** Wraps a loaded model in a new JS object (JS thread only). */
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<TierModel> model);

  explicit AddonModel(const Napi::CallbackInfo& info);

 private:
  Napi::Value getInfo(const Napi::CallbackInfo& info);
  Napi::Value createContext(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value isDisposed(const Napi::CallbackInfo& info);

  /** Contexts hold their own reference: the llama_model is freed when the model and all its contexts are disposed. */
  std::shared_ptr<TierModel> model_;
};

}  // namespace strata::binding
