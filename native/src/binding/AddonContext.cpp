#include "binding/AddonContext.h"

#include <algorithm>

#include "binding/AddonData.h"
#include "binding/convert.h"

namespace strata::binding {

namespace {

struct NewContext {
  std::unique_ptr<TierContext> context;
};

Napi::Object chunkInfoObject(Napi::Env env, const ChunkInfo& chunk) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("cellCount", chunk.cellCount);
  out.Set("posMin", chunk.posMin);
  out.Set("posMax", chunk.posMax);
  out.Set("elapsedMs", chunk.elapsedMs);
  return out;
}

int32_t int32Argument(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= -2147483648.0 && value <= 2147483647.0) || value != static_cast<double>(static_cast<int32_t>(value))) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an int32");
  }
  return static_cast<int32_t>(value);
}

/** The optional capture options at `index`: null when absent (undefined or null). */
std::shared_ptr<CaptureRequest> captureArgument(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined() || info[index].IsNull()) return nullptr;
  if (!info[index].IsObject()) throw Napi::TypeError::New(info.Env(), "capture must be an object, null or undefined");
  Napi::Object options = info[index].As<Napi::Object>();
  auto capture = std::make_shared<CaptureRequest>();
  capture->layers = int32Vector(options.Get("layers"), "capture.layers");
  capture->keys = boolOption(options, "keys", true);
  capture->queries = boolOption(options, "queries", false);
  capture->stopAfterLastLayer = boolOption(options, "stopAfterLastLayer", false);
  return capture;
}

/** Captured rows as JavaScript objects: { layer, keys, queries, kvHeadCount, headCount, headDim }. */
Napi::Array capturesArray(Napi::Env env, const std::vector<LayerCapture>& layers) {
  Napi::Array captures = Napi::Array::New(env, layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerCapture& layer = layers[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("layer", layer.layer);
    item.Set("keys", layer.keyTokens > 0 ? Napi::Value(float32Array(env, layer.keys)) : env.Null());
    item.Set("queries", layer.queryTokens > 0 ? Napi::Value(float32Array(env, layer.queries)) : env.Null());
    item.Set("kvHeadCount", layer.kvHeadCount);
    item.Set("headCount", layer.headCount);
    item.Set("headDim", layer.headDim);
    captures.Set(static_cast<uint32_t>(i), item);
  }
  return captures;
}

}  // namespace

Napi::Function AddonContext::define(Napi::Env env) {
  return DefineClass(env, "TierContext",
                     {
                         InstanceMethod<&AddonContext::getInfo>("getInfo"),
                         InstanceMethod<&AddonContext::decode>("decode"),
                         InstanceMethod<&AddonContext::decodeGreedy>("decodeGreedy"),
                         InstanceMethod<&AddonContext::captureChunk>("captureChunk"),
                         InstanceMethod<&AddonContext::spliceChunk>("spliceChunk"),
                         InstanceMethod<&AddonContext::removeRange>("removeRange"),
                         InstanceMethod<&AddonContext::shiftRange>("shiftRange"),
                         InstanceMethod<&AddonContext::canShift>("canShift"),
                         InstanceMethod<&AddonContext::seqPosMin>("seqPosMin"),
                         InstanceMethod<&AddonContext::seqPosMax>("seqPosMax"),
                         InstanceMethod<&AddonContext::dispose>("dispose"),
                         InstanceAccessor<&AddonContext::isDisposed>("disposed"),
                     });
}

Napi::Object AddonContext::wrap(Napi::Env env, std::unique_ptr<TierContext> context) {
  NewContext payload{std::move(context)};
  return addonData(env).contextConstructor.New({Napi::External<NewContext>::New(env, &payload)});
}

AddonContext::AddonContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AddonContext>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "TierContext is made by TierModel.createContext(), not by new");
  }
  context_ = std::move(info[0].As<Napi::External<NewContext>>().Data()->context);
}

bool AddonContext::tryBegin(Napi::Env env, Napi::Value& rejection) {
  if (!context_ || disposeRequested_) {
    rejection = rejected(env, "DISPOSED", "the context has been disposed");
    return false;
  }
  if (busy_) {
    rejection = rejected(env, "BUSY", "another operation is running on this context (one at a time)");
    return false;
  }
  busy_ = true;
  return true;
}

void AddonContext::end() {
  busy_ = false;
  if (disposeRequested_ && context_) startFree(Env());
}

TierContext& AddonContext::idleContext(Napi::Env env) {
  if (!context_ || disposeRequested_) throwError(env, "DISPOSED", "the context has been disposed");
  if (busy_) throwError(env, "BUSY", "another operation is running on this context (one at a time)");
  return *context_;
}

Napi::Value AddonContext::getInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!context_ || disposeRequested_) throwError(env, "DISPOSED", "the context has been disposed");
  const ContextInfo& c = context_->info();
  Napi::Object out = Napi::Object::New(env);
  out.Set("contextSize", c.contextSize);
  out.Set("batchSize", c.batchSize);
  out.Set("ubatchSize", c.ubatchSize);
  out.Set("sequenceCount", c.sequenceCount);
  out.Set("flashAttention", c.flashAttention);
  out.Set("typeK", c.typeK);
  out.Set("typeV", c.typeV);
  out.Set("threads", c.threads);
  out.Set("captureEnabled", c.captureEnabled);
  return out;
}

Napi::Value AddonContext::decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto tokens = std::make_shared<std::vector<int32_t>>(int32Vector(info[0], "tokens"));
  auto positions = std::make_shared<std::vector<int32_t>>(int32Vector(info[1], "positions"));
  static const char* const kLogitsModes = "logits must be 'none', 'last', 'all' or 'argmax'";
  if (info.Length() < 3 || !info[2].IsString()) throw Napi::TypeError::New(env, kLogitsModes);
  const std::string logitsName = info[2].As<Napi::String>().Utf8Value();
  LogitsMode logits;
  if (logitsName == "none") logits = LogitsMode::None;
  else if (logitsName == "last") logits = LogitsMode::Last;
  else if (logitsName == "all") logits = LogitsMode::All;
  else if (logitsName == "argmax") logits = LogitsMode::Argmax;
  else throw Napi::TypeError::New(env, kLogitsModes);
  std::shared_ptr<CaptureRequest> capture = captureArgument(info, 3);

  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  TierContext* context = context_.get();
  auto result = std::make_shared<DecodeResult>();
  return PromiseWorker::start(
      env, "strata.decode", Value(),
      [context, tokens, positions, logits, capture, result] { return context->decode(*tokens, *positions, logits, capture.get(), *result); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("logits", result->logitRows > 0 ? Napi::Value(float32Array(env, result->logits)) : env.Null());
        out.Set("logitRows", result->logitRows);
        out.Set("argmax", result->argmax >= 0 ? Napi::Value(Napi::Number::New(env, result->argmax)) : env.Null());
        out.Set("elapsedMs", result->elapsedMs);
        out.Set("captures", result->captured ? capturesArray(env, result->captures) : env.Null());
        return out;
      },
      [this] { end(); });
}

Napi::Value AddonContext::decodeGreedy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t token = int32Argument(info, 0, "token");
  const int32_t position = int32Argument(info, 1, "position");
  const int32_t maxSteps = int32Argument(info, 2, "maxSteps");
  std::shared_ptr<CaptureRequest> capture = captureArgument(info, 3);
  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  TierContext* context = context_.get();
  auto result = std::make_shared<GreedyResult>();
  return PromiseWorker::start(
      env, "strata.decodeGreedy", Value(),
      [context, token, position, maxSteps, capture, result] { return context->decodeGreedy(token, position, maxSteps, capture.get(), *result); },
      [result](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        Napi::Int32Array tokens = Napi::Int32Array::New(env, result->tokens.size());
        std::copy(result->tokens.begin(), result->tokens.end(), tokens.Data());
        out.Set("tokens", tokens);
        out.Set("elapsedMs", result->elapsedMs);
        out.Set("captures", result->captured ? capturesArray(env, result->captures) : env.Null());
        return out;
      },
      [this] { end(); });
}

Napi::Value AddonContext::captureChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t p0 = int32Argument(info, 0, "p0");
  const int32_t p1 = int32Argument(info, 1, "p1");
  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  TierContext* context = context_.get();
  std::vector<uint8_t>* blob = &captureStaging_;
  auto chunk = std::make_shared<ChunkInfo>();
  return PromiseWorker::start(
      env, "strata.captureChunk", Value(), [context, p0, p1, blob, chunk] { return context->captureChunk(p0, p1, *blob, *chunk); },
      [blob, chunk](Napi::Env env) -> Napi::Value {
        Napi::Object out = chunkInfoObject(env, *chunk);
        out.Set("blob", uint8Array(env, *blob));
        return out;
      },
      [this] { end(); });
}

Napi::Value AddonContext::spliceChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "blob must be a Uint8Array");
  }
  Napi::Uint8Array array = info[0].As<Napi::Uint8Array>();
  const int32_t shift = info.Length() >= 2 && !info[1].IsUndefined() ? int32Argument(info, 1, "shift") : 0;
  const int32_t trim = info.Length() >= 3 && !info[2].IsUndefined() ? int32Argument(info, 2, "trim") : 0;
  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  // Copied: the caller may reuse or transfer its buffer while the worker runs.
  std::vector<uint8_t>* blob = &spliceStaging_;
  try {
    blob->assign(array.Data(), array.Data() + array.ByteLength());
  } catch (...) {
    busy_ = false;
    return rejected(env, "INTERNAL", "out of memory copying the blob");
  }
  TierContext* context = context_.get();
  auto chunk = std::make_shared<ChunkInfo>();
  return PromiseWorker::start(
      env, "strata.spliceChunk", Value(), [context, blob, shift, trim, chunk] { return context->spliceChunk(blob->data(), blob->size(), shift, trim, *chunk); },
      [chunk](Napi::Env env) -> Napi::Value { return chunkInfoObject(env, *chunk); }, [this] { end(); });
}

Napi::Value AddonContext::removeRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t p0 = int32Argument(info, 0, "p0");
  const int32_t p1 = int32Argument(info, 1, "p1");
  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  TierContext* context = context_.get();
  return PromiseWorker::start(env, "strata.removeRange", Value(), [context, p0, p1] { return context->removeRange(p0, p1); }, nullptr,
                              [this] { end(); });
}

Napi::Value AddonContext::shiftRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t p0 = int32Argument(info, 0, "p0");
  const int32_t p1 = int32Argument(info, 1, "p1");
  const int32_t delta = int32Argument(info, 2, "delta");
  Napi::Value rejection;
  if (!tryBegin(env, rejection)) return rejection;
  TierContext* context = context_.get();
  return PromiseWorker::start(env, "strata.shiftRange", Value(), [context, p0, p1, delta] { return context->shiftRange(p0, p1, delta); }, nullptr,
                              [this] { end(); });
}

Napi::Value AddonContext::canShift(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), idleContext(info.Env()).canShift()); }

Napi::Value AddonContext::seqPosMin(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), idleContext(info.Env()).seqPosMin()); }

Napi::Value AddonContext::seqPosMax(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), idleContext(info.Env()).seqPosMax()); }

Napi::Value AddonContext::dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Promise::Deferred waiter = Napi::Promise::Deferred::New(env);
  if (!context_ && !busy_) {  // already freed
    waiter.Resolve(env.Undefined());
    return waiter.Promise();
  }
  disposeWaiters_.push_back(waiter);
  if (!disposeRequested_) {
    disposeRequested_ = true;
    if (!busy_) startFree(env);
  }
  return waiter.Promise();
}

void AddonContext::startFree(Napi::Env env) {
  busy_ = true;
  auto context = std::make_shared<std::unique_ptr<TierContext>>(std::move(context_));
  std::vector<uint8_t>().swap(captureStaging_);
  std::vector<uint8_t>().swap(spliceStaging_);
  PromiseWorker::start(
      env, "strata.disposeContext", Value(),
      [context] {
        context->reset();
        return Status::ok();
      },
      nullptr,
      [this] {
        busy_ = false;
        std::vector<Napi::Promise::Deferred> waiters = std::move(disposeWaiters_);
        disposeWaiters_.clear();
        for (Napi::Promise::Deferred& waiter : waiters) waiter.Resolve(Env().Undefined());
      });
}

Napi::Value AddonContext::isDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposeRequested_ || !context_); }

}  // namespace strata::binding
