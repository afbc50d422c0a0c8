#include "binding/AddonModel.h"

#include "binding/AddonContext.h"
#include "binding/AddonData.h"
#include "binding/convert.h"
#include "core/TierContext.h"

namespace strata::binding {

namespace {
struct NewModel {
  std::shared_ptr<TierModel> model;
};
}  // namespace

Napi::Function AddonModel::define(Napi::Env env) {
  return DefineClass(env, "TierModel",
                     {
                         InstanceMethod<&AddonModel::getInfo>("getInfo"),
                         InstanceMethod<&AddonModel::createContext>("createContext"),
                         InstanceMethod<&AddonModel::dispose>("dispose"),
                         InstanceAccessor<&AddonModel::isDisposed>("disposed"),
                     });
}

Napi::Object AddonModel::wrap(Napi::Env env, std::shared_ptr<TierModel> model) {
  NewModel payload{std::move(model)};
  return addonData(env).modelConstructor.New({Napi::External<NewModel>::New(env, &payload)});
}

AddonModel::AddonModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AddonModel>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "TierModel is made by loadModel(), not by new");
  }
  model_ = std::move(info[0].As<Napi::External<NewModel>>().Data()->model);
}

Napi::Value AddonModel::getInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) throwError(env, "DISPOSED", "the model has been disposed");
  const ModelInfo& m = model_->info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("architecture", m.architecture);
  out.Set("description", m.description);
  out.Set("sizeBytes", Napi::Number::New(env, static_cast<double>(m.sizeBytes)));
  out.Set("layerCount", m.layerCount);
  out.Set("headCount", m.headCount);
  out.Set("kvHeadCount", m.kvHeadCount);
  out.Set("headDimK", m.headDimK);
  out.Set("headDimV", m.headDimV);
  out.Set("embdSize", m.embdSize);
  out.Set("vocabSize", m.vocabSize);
  out.Set("trainContextLength", m.trainContextLength);
  out.Set("bosToken", m.bosToken);
  out.Set("eosToken", m.eosToken);
  out.Set("slidingWindow", m.slidingWindow);
  out.Set("isRecurrent", m.isRecurrent);
  out.Set("isHybrid", m.isHybrid);
  out.Set("hasEncoder", m.hasEncoder);
  out.Set("ropeType", m.ropeType);
  return out;
}

Napi::Value AddonModel::createContext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) return rejected(env, "DISPOSED", "the model has been disposed");
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "createContext(options) needs an options object");
  Napi::Object options = info[0].As<Napi::Object>();
  ContextOptions contextOptions;
  contextOptions.contextSize = uint32Option(options, "contextSize", contextOptions.contextSize);
  contextOptions.batchSize = uint32Option(options, "batchSize", contextOptions.batchSize);
  contextOptions.ubatchSize = uint32Option(options, "ubatchSize", contextOptions.ubatchSize);
  contextOptions.sequenceCount = uint32Option(options, "sequenceCount", contextOptions.sequenceCount);
  contextOptions.threads = int32Option(options, "threads", 0);
  contextOptions.batchThreads = int32Option(options, "batchThreads", 0);
  if (!options.Get("flashAttention").IsBoolean()) throw Napi::TypeError::New(env, "flashAttention must be true or false (never auto)");
  contextOptions.flashAttention = options.Get("flashAttention").As<Napi::Boolean>().Value();
  contextOptions.typeK = int32Option(options, "typeK", contextOptions.typeK);
  contextOptions.typeV = int32Option(options, "typeV", contextOptions.typeV);
  contextOptions.offloadKqv = boolOption(options, "offloadKqv", true);
  contextOptions.captureEnabled = boolOption(options, "captureEnabled", true);

  std::shared_ptr<TierModel> model = model_;
  auto created = std::make_shared<std::unique_ptr<TierContext>>();
  return PromiseWorker::start(
      env, "strata.createContext", Value(),
      [model, contextOptions, created] { return TierContext::create(model, contextOptions, *created); },
      [created](Napi::Env env) -> Napi::Value { return AddonContext::wrap(env, std::move(*created)); });
}

Napi::Value AddonModel::dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) {
    Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  // Dropping the last reference frees the model: do it off the JS thread.
  auto model = std::make_shared<std::shared_ptr<TierModel>>(std::move(model_));
  return PromiseWorker::start(env, "strata.disposeModel", Value(), [model] {
    model->reset();
    return Status::ok();
  }, nullptr);
}

Napi::Value AddonModel::isDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !model_); }

}  // namespace strata::binding
