// snakecage/status.h: the host-failure channel.
//
// Every fallible host-side call returns a Status or StatusOr<T>. These say
// whether the *host* could do what was asked (read a file, create a
// directory, validate a policy). What the *guest* did is never a Status: it
// is an ExecutionResult, always returned when the run could start at all.
//
// Thread-safety: value types; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace snakecage {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // bad input from the caller: policy, flag, path
  kNotFound,          // a file or directory the caller named does not exist
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,  // a limit on what may exist was reached (a server's sessions)
  kRateLimited,        // too many requests from one client in the window; retry later
  kQuotaExceeded,      // stored data would pass its bound (workspace_max_bytes); waiting
                       // does not help, removing data does
  kInternal,           // a host failure: mmap, fork, a broken installation
};

// The code's name in JSON and in Python: "invalid_argument", "not_found", ...
constexpr std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kRateLimited:
      return "rate_limited";
    case StatusCode::kQuotaExceeded:
      return "quota_exceeded";
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

// The code named `name` by StatusCodeName; nullopt for any other text.
constexpr std::optional<StatusCode> StatusCodeFromName(std::string_view name) {
  for (StatusCode c : {StatusCode::kOk, StatusCode::kInvalidArgument, StatusCode::kNotFound,
                       StatusCode::kAlreadyExists, StatusCode::kPermissionDenied,
                       StatusCode::kResourceExhausted, StatusCode::kRateLimited,
                       StatusCode::kQuotaExceeded, StatusCode::kInternal}) {
    if (StatusCodeName(c) == name) return c;
  }
  return std::nullopt;
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status Internal(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "StatusOr needs a value or an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace snakecage
