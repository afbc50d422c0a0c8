// Errors of the core, as values: every public core call is noexcept and returns a Status, so a bad
// input or a llama.cpp failure never unwinds into the binding or aborts the process.
#pragma once

#include <string>
#include <utility>

namespace strata {

class Status {
 public:
  static Status ok() { return Status(); }
  static Status fail(std::string code, std::string message) { return Status(std::move(code), std::move(message)); }

  bool isOk() const { return code_.empty(); }
  /** A stable code for callers to branch on: INVALID_ARGUMENT, LOAD_FAILED, CONTEXT_FAILED, KV_FULL, DECODE_FAILED, BAD_BLOB, EMPTY_RANGE, CAPTURE_FAILED, INTERNAL. */
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  Status(std::string code, std::string message) : code_(std::move(code)), message_(std::move(message)) {}
  std::string code_;
  std::string message_;
};

/** Thrown inside the core only; the public entry points turn it (and anything else) into a Status. */
struct CoreError {
  std::string code;
  std::string message;
};

}  // namespace strata
