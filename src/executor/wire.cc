#include "executor/wire.h"

#include "base/base64.h"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace snakecage::executor {
namespace {

using Json = nlohmann::ordered_json;

// Largest control message: a policy with long paths and a big environment.
constexpr size_t kMaxMessageBytes = 1 << 20;

}  // namespace

Json ExecutionResultToJson(const ExecutionResult& r) {
  Json denials = Json::array();
  for (const PathDenial& d : r.path_denials) denials.push_back({d.call, d.guest_path});
  return {
      {"stdout_text", r.stdout_text},
      {"stderr_text", r.stderr_text},
      {"exit_code", r.exit_code},
      {"trapped", r.trapped},
      {"trap_reason", r.trap_reason ? Json(std::string(TrapReasonWireName(*r.trap_reason)))
                                    : Json(nullptr)},
      {"trap_message", r.trap_message},
      {"fuel_consumed", r.fuel_consumed},
      {"fuel_budget", r.fuel_budget},
      {"memory_peak_bytes", r.memory_peak_bytes},
      {"memory_peak_pages", r.memory_peak_pages},
      {"memory_limit_bytes", r.memory_limit_bytes},
      {"memory_grows_refused", r.memory_grows_refused},
      {"workspace_max_bytes", r.workspace_max_bytes},
      {"workspace_writes_refused", r.workspace_writes_refused},
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"stdout_bytes", r.stdout_bytes},
      {"stderr_bytes", r.stderr_bytes},
      {"duration_ms", r.duration_ms},
      {"timeout_seconds", r.timeout_seconds ? Json(*r.timeout_seconds) : Json(nullptr)},
      {"path_denials", denials},
      {"path_denials_total", r.path_denials_total},
      {"missing_module", r.missing_module ? Json(*r.missing_module) : Json(nullptr)},
      {"state_dropped", r.state_dropped},
  };
}

namespace {

// A field of the wrong type or out of range in a child's result.
struct Malformed {
  std::string what;
};

template <typename T>
T IntegerAt(const Json& j, const char* key) {
  const Json& v = j.at(key);
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
        (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
      return static_cast<T>(i);
    }
  }
  throw Malformed{std::string(key) + " is " + v.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

double NumberAt(const Json& j, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_number()) throw Malformed{std::string(key) + " is not a number"};
  return v.get<double>();
}

}  // namespace

StatusOr<ExecutionResult> ExecutionResultFromJson(const Json& j) {
  try {
    ExecutionResult r;
    r.stdout_text = j.at("stdout_text").get<std::string>();
    r.stderr_text = j.at("stderr_text").get<std::string>();
    r.exit_code = IntegerAt<int>(j, "exit_code");
    r.trapped = j.at("trapped").get<bool>();
    if (!j.at("trap_reason").is_null()) {
      r.trap_reason = TrapReasonFromWireName(j.at("trap_reason").get<std::string>());
      if (!r.trap_reason) throw Malformed{"unknown trap_reason " + j.at("trap_reason").dump()};
    }
    r.trap_message = j.at("trap_message").get<std::string>();
    r.fuel_consumed = IntegerAt<uint64_t>(j, "fuel_consumed");
    r.fuel_budget = IntegerAt<uint64_t>(j, "fuel_budget");
    r.memory_peak_bytes = IntegerAt<uint64_t>(j, "memory_peak_bytes");
    r.memory_peak_pages = IntegerAt<uint32_t>(j, "memory_peak_pages");
    r.memory_limit_bytes = IntegerAt<uint64_t>(j, "memory_limit_bytes");
    r.memory_grows_refused = IntegerAt<uint64_t>(j, "memory_grows_refused");
    r.workspace_max_bytes = IntegerAt<uint64_t>(j, "workspace_max_bytes");
    r.workspace_writes_refused = IntegerAt<uint64_t>(j, "workspace_writes_refused");
    r.stdout_truncated = j.at("stdout_truncated").get<bool>();
    r.stderr_truncated = j.at("stderr_truncated").get<bool>();
    r.stdout_bytes = IntegerAt<uint64_t>(j, "stdout_bytes");
    r.stderr_bytes = IntegerAt<uint64_t>(j, "stderr_bytes");
    r.duration_ms = NumberAt(j, "duration_ms");
    if (!j.at("timeout_seconds").is_null()) r.timeout_seconds = NumberAt(j, "timeout_seconds");
    for (const Json& d : j.at("path_denials")) {
      r.path_denials.push_back({d.at(0).get<std::string>(), d.at(1).get<std::string>()});
    }
    r.path_denials_total = IntegerAt<uint64_t>(j, "path_denials_total");
    if (!j.at("missing_module").is_null()) r.missing_module = j.at("missing_module").get<std::string>();
    for (const Json& name : j.at("state_dropped")) r.state_dropped.push_back(name.get<std::string>());
    return r;
  } catch (const Json::exception& e) {
    return Internal(std::string("result: malformed: ") + e.what());
  } catch (const Malformed& e) {
    return Internal("result: malformed: " + e.what);
  }
}

ChildReport DecodeChildReport(std::string_view bytes) {
  ChildReport report;
  const Json reply = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) return report;  // nothing, or cut off: the child died writing
  if (auto result = reply.find("result"); result != reply.end()) {
    StatusOr<ExecutionResult> r = ExecutionResultFromJson(*result);
    if (!r.ok()) {
      report.error = Internal("executor: the execution's process sent a malformed " +
                              r.status().message());
      return report;
    }
    report.result = std::move(*r);
    if (auto w = reply.find("landlock_warning"); w != reply.end() && w->is_string()) {
      report.landlock_warning = w->get<std::string>();
    }
    if (auto saved = reply.find("saved_state"); saved != reply.end()) {
      std::optional<std::string> bytes =
          saved->is_string() ? Base64Decode(saved->get<std::string>()) : std::nullopt;
      if (!bytes) {
        report.result.reset();
        report.error = Internal("executor: the execution's process sent a malformed saved_state");
        return report;
      }
      report.saved_state = std::move(*bytes);
    }
    return report;
  }
  if (auto error = reply.find("error"); error != reply.end()) {
    std::string message = error->is_string() ? error->get<std::string>() : error->dump();
    // An empty message would reach the caller as an error that says nothing
    // (found by fuzz/fuzz_child_report).
    if (message.empty()) message = "executor: the execution's process failed without saying why";
    const auto code = reply.find("code");
    std::optional<StatusCode> parsed;
    if (code != reply.end() && code->is_string()) parsed = StatusCodeFromName(code->get<std::string>());
    // Only a named failure to start; anything else the child says is a host failure.
    report.error = Status(parsed == StatusCode::kNotFound ? StatusCode::kNotFound
                                                           : StatusCode::kInternal,
                          message);
  }
  return report;
}

uint64_t MaxChildReportBytes(const ExecutionPolicy& policy) {
  constexpr uint64_t kLongestEscape = 6;  // one byte as \u00XX
  return kLongestEscape * (policy.stdout_max_bytes() + policy.stderr_max_bytes()) + (1u << 20);
}

Status SendMessage(int socket, const Json& message, int fd) {
  const std::string text = message.dump();
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  while (sendmsg(socket, &msg, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    return Internal(std::string("executor: cannot send to the zygote: ") + strerror(errno));
  }
  return Status::Ok();
}

StatusOr<Json> ReceiveMessage(int socket, int* received_fd) {
  if (received_fd != nullptr) *received_fd = -1;
  thread_local std::vector<char> buf(kMaxMessageBytes);
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno == EINTR) continue;
    return Internal(std::string("executor: cannot receive: ") + strerror(errno));
  }
  int fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      memcpy(&fd, CMSG_DATA(c), sizeof(int));
    }
  }
  if (fd >= 0) {
    if (received_fd != nullptr) {
      *received_fd = fd;
    } else {
      close(fd);
    }
  }
  if (n == 0) return NotFound("executor: the peer closed the control socket");
  if (msg.msg_flags & MSG_TRUNC) return Internal("executor: message too long");
  try {
    return Json::parse(buf.begin(), buf.begin() + n);
  } catch (const Json::exception& e) {
    return Internal(std::string("executor: malformed message: ") + e.what());
  }
}

std::string SignalDescription(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  const char* text = sigdescr_np(signo);
  std::string out = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
  if (text) out += std::string(" (") + text + ")";
  return out;
}

}  // namespace snakecage::executor
