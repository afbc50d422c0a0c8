// Module entry of strata_tier.node: initialize(binsDir), loadModel(path, options), describeBlob(blob),
// getInitInfo(), scoreChunks(…) (AddonScoring.h), ggmlTypes. Typed by hand in main/engine/tiered/native/NativeAddon.ts.
#include <napi.h>

#include "binding/AddonContext.h"
#include "binding/AddonData.h"
#include "binding/AddonModel.h"
#include "binding/AddonScoring.h"
#include "binding/convert.h"
#include "core/BlobLayout.h"
#include "core/LlamaApi.h"
#include "core/TierModel.h"

namespace strata::binding {
namespace {

Napi::Value initInfoObject(Napi::Env env, const LlamaApi& api) {
  const LlamaApiInfo& apiInfo = api.info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("binsDir", apiInfo.binsDir);
  out.Set("libraryPath", apiInfo.libraryPath);
  out.Set("loadedBackends", apiInfo.loadedBackends);
  Napi::Array devices = Napi::Array::New(env, apiInfo.devices.size());
  for (size_t i = 0; i < apiInfo.devices.size(); ++i) {
    Napi::Object device = Napi::Object::New(env);
    device.Set("name", apiInfo.devices[i].name);
    device.Set("type", apiInfo.devices[i].type);
    devices.Set(static_cast<uint32_t>(i), device);
  }
  out.Set("devices", devices);
  return out;
}

Napi::Value initialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "initialize(binsDir) needs the folder of llama.cpp's shared libraries");
  auto binsDir = std::make_shared<std::string>(info[0].As<Napi::String>().Utf8Value());
  auto api = std::make_shared<const LlamaApi*>(nullptr);
  return PromiseWorker::start(
      env, "strata.initialize", Napi::Object(), [binsDir, api] { return LlamaApi::load(*binsDir, api.get()); },
      [api](Napi::Env env) { return initInfoObject(env, **api); });
}

Napi::Value getInitInfo(const Napi::CallbackInfo& info) {
  const LlamaApi* api = LlamaApi::loaded();
  return api == nullptr ? info.Env().Null() : initInfoObject(info.Env(), *api);
}

Napi::Value loadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadModel(path, options) needs a path");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  int32_t gpuLayers = 0;
  if (info.Length() >= 2 && info[1].IsObject()) gpuLayers = int32Option(info[1].As<Napi::Object>(), "gpuLayers", 0);
  const LlamaApi* api = LlamaApi::loaded();
  if (api == nullptr) return rejected(env, "NOT_INITIALIZED", "call initialize(binsDir) before loadModel()");
  auto model = std::make_shared<std::shared_ptr<TierModel>>();
  return PromiseWorker::start(
      env, "strata.loadModel", Napi::Object(), [api, path, gpuLayers, model] { return TierModel::load(*api, path, gpuLayers, *model); },
      [model](Napi::Env env) -> Napi::Value { return AddonModel::wrap(env, std::move(*model)); });
}

Napi::Value describeBlob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "blob must be a Uint8Array");
  }
  Napi::Uint8Array blob = info[0].As<Napi::Uint8Array>();
  BlobLayout layout;
  std::string error;
  if (!describeBlob(blob.Data(), blob.ByteLength(), layout, error)) throwError(env, "BAD_BLOB", "not a chunk blob: " + error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("cellCount", layout.cellCount);
  out.Set("posMin", layout.posMin);
  out.Set("posMax", layout.posMax);
  out.Set("flashAttention", !layout.vTransposed);
  out.Set("layerCount", layout.layerCount);
  out.Set("typeK", layout.typeK);
  out.Set("typeV", layout.typeV);
  out.Set("kvBytes", Napi::Number::New(env, static_cast<double>(layout.kvBytes)));
  out.Set("sizeBytes", Napi::Number::New(env, static_cast<double>(blob.ByteLength())));
  return out;
}

Napi::Object ggmlTypes(Napi::Env env) {
  Napi::Object types = Napi::Object::New(env);
  types.Set("f32", static_cast<int32_t>(GGML_TYPE_F32));
  types.Set("f16", static_cast<int32_t>(GGML_TYPE_F16));
  types.Set("bf16", static_cast<int32_t>(GGML_TYPE_BF16));
  types.Set("q8_0", static_cast<int32_t>(GGML_TYPE_Q8_0));
  types.Set("q4_0", static_cast<int32_t>(GGML_TYPE_Q4_0));
  types.Set("q4_1", static_cast<int32_t>(GGML_TYPE_Q4_1));
  types.Set("q5_0", static_cast<int32_t>(GGML_TYPE_Q5_0));
  types.Set("q5_1", static_cast<int32_t>(GGML_TYPE_Q5_1));
  return types;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->modelConstructor = Napi::Persistent(AddonModel::define(env));
  data->contextConstructor = Napi::Persistent(AddonContext::define(env));
  env.SetInstanceData(data);
  exports.Set("initialize", Napi::Function::New(env, initialize, "initialize"));
  exports.Set("getInitInfo", Napi::Function::New(env, getInitInfo, "getInitInfo"));
  exports.Set("loadModel", Napi::Function::New(env, loadModel, "loadModel"));
  exports.Set("describeBlob", Napi::Function::New(env, describeBlob, "describeBlob"));
  exports.Set("scoreChunks", Napi::Function::New(env, scoreChunks, "scoreChunks"));
  exports.Set("ggmlTypes", ggmlTypes(env));
  exports.Set("llamaCppRelease", Napi::String::New(env, STRATA_LLAMA_CPP_RELEASE));
  return exports;
}

}  // namespace
}  // namespace strata::binding

static Napi::Object initStrataTier(Napi::Env env, Napi::Object exports) { return strata::binding::init(env, exports); }

NODE_API_MODULE(strata_tier, initStrataTier)
