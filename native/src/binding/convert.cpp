#include "binding/convert.h"

#include <cstring>

namespace strata::binding {

Napi::Value makeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error.Value();
}

Napi::Value makeError(Napi::Env env, const Status& status) { return makeError(env, status.code(), status.message()); }

void throwError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

Napi::Promise rejected(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(makeError(env, code, message));
  return deferred.Promise();
}

std::vector<int32_t> int32Vector(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(value.Env(), std::string(name) + " must be an Int32Array");
  }
  Napi::Int32Array array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
}

Napi::Float32Array float32Array(Napi::Env env, const std::vector<float>& values) {
  // Copied into a V8-owned buffer: Electron forbids ArrayBuffers over external memory.
  Napi::Float32Array array = Napi::Float32Array::New(env, values.size());
  if (!values.empty()) std::memcpy(array.Data(), values.data(), values.size() * sizeof(float));
  return array;
}

Napi::Uint8Array uint8Array(Napi::Env env, const std::vector<uint8_t>& bytes) {
  Napi::Uint8Array array = Napi::Uint8Array::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(array.Data(), bytes.data(), bytes.size());
  return array;
}

uint32_t uint32Option(const Napi::Object& options, const char* name, uint32_t fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) throw Napi::TypeError::New(options.Env(), std::string(name) + " must be a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0 && number <= 4294967295.0) || number != static_cast<double>(static_cast<uint32_t>(number))) {
    throw Napi::RangeError::New(options.Env(), std::string(name) + " must be a non-negative integer");
  }
  return static_cast<uint32_t>(number);
}

int32_t int32Option(const Napi::Object& options, const char* name, int32_t fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) throw Napi::TypeError::New(options.Env(), std::string(name) + " must be a number");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= -2147483648.0 && number <= 2147483647.0) || number != static_cast<double>(static_cast<int32_t>(number))) {
    throw Napi::RangeError::New(options.Env(), std::string(name) + " must be an int32");
  }
  return static_cast<int32_t>(number);
}

bool boolOption(const Napi::Object& options, const char* name, bool fallback) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) throw Napi::TypeError::New(options.Env(), std::string(name) + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

PromiseWorker::PromiseWorker(Napi::Env env, const char* name, Work work, Resolve resolve, Settled settled)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      resolve_(std::move(resolve)),
      settled_(std::move(settled)) {}

Napi::Promise PromiseWorker::start(Napi::Env env, const char* name, Napi::Object keepAlive, Work work, Resolve resolve, Settled settled) {
  auto* worker = new PromiseWorker(env, name, std::move(work), std::move(resolve), std::move(settled));
  if (!keepAlive.IsEmpty()) worker->keepAlive_ = Napi::Persistent(keepAlive);
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();  // the worker deletes itself after OnOK/OnError
  return promise;
}

void PromiseWorker::Execute() {
  try {
    status_ = work_();
  } catch (const std::exception& error) {
    status_ = Status::fail("INTERNAL", error.what());
  } catch (...) {
    status_ = Status::fail("INTERNAL", "unknown native error");
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (settled_) settled_();
  if (!status_.isOk()) {
    deferred_.Reject(makeError(env, status_));
    return;
  }
  try {
    deferred_.Resolve(resolve_ ? resolve_(env) : env.Undefined());
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  } catch (const std::exception& error) {
    deferred_.Reject(makeError(env, "INTERNAL", error.what()));
  }
}

void PromiseWorker::OnError(const Napi::Error& error) {
  Napi::HandleScope scope(Env());
  if (settled_) settled_();
  deferred_.Reject(error.Value());
}

}  // namespace strata::binding
