#include "executor/wire.h"

#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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
      {"stdout_truncated", r.stdout_truncated},
      {"stderr_truncated", r.stderr_truncated},
      {"stdout_bytes", r.stdout_bytes},
      {"stderr_bytes", r.stderr_bytes},
      {"duration_ms", r.duration_ms},
      {"timeout_seconds", r.timeout_seconds ? Json(*r.timeout_seconds) : Json(nullptr)},
      {"path_denials", denials},
      {"path_denials_total", r.path_denials_total},
      {"missing_module", r.missing_module ? Json(*r.missing_module) : Json(nullptr)},
  };
}

StatusOr<ExecutionResult> ExecutionResultFromJson(const Json& j) {
  try {
    ExecutionResult r;
    r.stdout_text = j.at("stdout_text").get<std::string>();
    r.stderr_text = j.at("stderr_text").get<std::string>();
    r.exit_code = j.at("exit_code").get<int>();
    r.trapped = j.at("trapped").get<bool>();
    if (!j.at("trap_reason").is_null()) {
      r.trap_reason = TrapReasonFromWireName(j.at("trap_reason").get<std::string>());
      if (!r.trap_reason) return Internal("result: unknown trap_reason " + j.at("trap_reason").dump());
    }
    r.trap_message = j.at("trap_message").get<std::string>();
    r.fuel_consumed = j.at("fuel_consumed").get<uint64_t>();
    r.fuel_budget = j.at("fuel_budget").get<uint64_t>();
    r.memory_peak_bytes = j.at("memory_peak_bytes").get<uint64_t>();
    r.memory_peak_pages = j.at("memory_peak_pages").get<uint32_t>();
    r.memory_limit_bytes = j.at("memory_limit_bytes").get<uint64_t>();
    r.memory_grows_refused = j.at("memory_grows_refused").get<uint64_t>();
    r.stdout_truncated = j.at("stdout_truncated").get<bool>();
    r.stderr_truncated = j.at("stderr_truncated").get<bool>();
    r.stdout_bytes = j.at("stdout_bytes").get<uint64_t>();
    r.stderr_bytes = j.at("stderr_bytes").get<uint64_t>();
    r.duration_ms = j.at("duration_ms").get<double>();
    if (!j.at("timeout_seconds").is_null()) r.timeout_seconds = j.at("timeout_seconds").get<double>();
    for (const Json& d : j.at("path_denials")) {
      r.path_denials.push_back({d.at(0).get<std::string>(), d.at(1).get<std::string>()});
    }
    r.path_denials_total = j.at("path_denials_total").get<uint64_t>();
    if (!j.at("missing_module").is_null()) r.missing_module = j.at("missing_module").get<std::string>();
    return r;
  } catch (const Json::exception& e) {
    return Internal(std::string("result: malformed: ") + e.what());
  }
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
