// executor/wire.h: what the executor, its zygotes and their children say to
// each other. Every message is one JSON object.
//
// Control socket (AF_UNIX, SOCK_SEQPACKET: one message per datagram),
// client -> zygote:
//   {"op": "run", "id": N, "policy": PolicyToJson(...)}   + SCM_RIGHTS [result pipe]
//   {"op": "kill", "id": N}                               SIGKILL the child
// zygote -> client:
//   {"op": "ready", "memory_pages": P}     start-up done, serving
//   {"op": "started", "id": N, "pid": P}   the child exists
//   {"op": "exited", "id": N, "status": S} waitpid status of the child
//   {"op": "failed", "id": N, "message": M} no child (fork failed, bad request)
//   {"op": "warmed", "pages": P}          learned the pages spares touch (once)
// Result pipe, child -> client, written once, then the child exits:
//   {"result": ExecutionResultToJson(...), "landlock_warning": W}  or  {"error": M}
// Lesson pipe, child -> zygote (only children asked for one, after the
// result): the pages it faulted in, EncodePages() (page_warming.h), then EOF.
//
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "snakecage/execution.h"
#include "snakecage/status.h"

namespace snakecage::executor {

nlohmann::ordered_json ExecutionResultToJson(const ExecutionResult& r);
StatusOr<ExecutionResult> ExecutionResultFromJson(const nlohmann::ordered_json& j);

// Sends `message` (one datagram) with `fd` attached when fd >= 0.
Status SendMessage(int socket, const nlohmann::ordered_json& message, int fd = -1);
// Receives one datagram; an attached descriptor (close-on-exec) goes to
// *received_fd (-1 when none), or is closed when received_fd is null.
// NotFound when the peer closed the socket.
StatusOr<nlohmann::ordered_json> ReceiveMessage(int socket, int* received_fd = nullptr);

// "SIGSYS (Bad system call)" for a signal number.
std::string SignalDescription(int signo);

}  // namespace snakecage::executor
