// Conversions between JS values and the core's types, and the one way the binding runs blocking work:
// a PromiseWorker (a Napi::AsyncWorker whose result settles a Promise).
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "core/Status.h"

namespace strata::binding {

/** An Error with a stable `code` property. */
Napi::Value makeError(Napi::Env env, const std::string& code, const std::string& message);
Napi::Value makeError(Napi::Env env, const Status& status);

/** Throws (as a JS exception) an Error with a `code`. */
[[noreturn]] void throwError(Napi::Env env, const std::string& code, const std::string& message);

/** A Promise already rejected with makeError(code, message). */
Napi::Promise rejected(Napi::Env env, const std::string& code, const std::string& message);

std::vector<int32_t> int32Vector(const Napi::Value& value, const char* name);
Napi::Float32Array float32Array(Napi::Env env, const std::vector<float>& values);
Napi::Uint8Array uint8Array(Napi::Env env, const std::vector<uint8_t>& bytes);

uint32_t uint32Option(const Napi::Object& options, const char* name, uint32_t fallback);
int32_t int32Option(const Napi::Object& options, const char* name, int32_t fallback);
bool boolOption(const Napi::Object& options, const char* name, bool fallback);

/**
 * Runs `work` on the libuv thread pool; then, on the JS thread, calls `settled` (always first) and
 * resolves the promise with `resolve(env)` or rejects it with the Status `work` returned. `keepAlive`
 * (may be empty) is held until then so that the object the work uses cannot be collected.
 */
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Status()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;
  using Settled = std::function<void()>;

  static Napi::Promise start(Napi::Env env, const char* name, Napi::Object keepAlive, Work work, Resolve resolve, Settled settled = {});

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  PromiseWorker(Napi::Env env, const char* name, Work work, Resolve resolve, Settled settled);
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keepAlive_;
  Work work_;
  Resolve resolve_;
  Settled settled_;
  Status status_ = Status::ok();
};

}  // namespace strata::binding
