// executor/wire.h: what the executor, its zygotes and their children say to
// each other. Every message is one JSON object.
//
// Control socket (AF_UNIX, SOCK_SEQPACKET: one message per datagram),
// client -> zygote:
//   {"op": "run", "id": N, "policy": PolicyToJson(...)}   + SCM_RIGHTS [result pipe]
//     (+ "confinement": ConfinementKey: a resident child confined that way
//      may take it; confinement_key.h)
//   {"op": "kill", "id": N}                               SIGKILL the child
// zygote -> client:
//   {"op": "ready", "memory_pages": P}     start-up done, serving
//   {"op": "started", "id": N, "pid": P, "reused": B}
//                                          the child exists; B: a resident
//                                          that served a request before
//   {"op": "exited", "id": N, "status": S} waitpid status of the child
//   {"op": "finished", "id": N}            a resident sent its result and
//                                          stays (no exit, no status)
//   {"op": "failed", "id": N, "message": M} no child (fork failed, bad request)
//   {"op": "warmed", "pages": P}          learned the pages spares touch (once)
// Result pipe, child -> client, written once, then the child exits:
//   {"result": ExecutionResultToJson(...), "landlock_warning": W}
//     (+ "saved_state": base64 of the pickled globals, from a save cell)
//   or {"error": M, "code": StatusCodeName(...)}   (DecodeChildReport)
// Live socket (AF_UNIX, SOCK_SEQPACKET), for requests whose policy keeps
// its state (live_interpreters.h, zygote_child.h). The zygote's "run" for
// such a policy carries the live socket's child end instead of a result
// pipe; every process of that session's live interpreter holds it.
// executor -> live interpreter:
//   {"op": "run", "id": N, "policy": PolicyToJson(...), "kind": K}   + SCM_RIGHTS [result pipe]
//     K: "script" (or absent), "save" or "restore" (engine/guest_hooks.h CellKind)
// live interpreter -> executor (about cells after the first):
//   {"op": "started", "id": N, "pid": P}  + SCM_RIGHTS [the cell's pidfd]
//                                          the cell's process exists; the
//                                          executor SIGKILLs it through the pidfd
//   {"op": "exited", "id": N, "status": S} it ended without committing
// Each "run" is read by the cell's process, forked ahead of it (a spare),
// which then tells its live interpreter (zygote_child.h). The result pipe
// carries the cell's result as above. A cell that commits sends no
// "exited": its process is the live interpreter from then on.
// Closing the executor's end drops the state: every process holding the
// other end exits.
// Spare socket (AF_UNIX, SOCK_SEQPACKET), zygote <-> a spare, then the
// child it becomes: the zygote's "run" as it came from the client (+
// SCM_RIGHTS [result pipe]), answered by one byte 1 (taken). A resident
// (zygote_child.h) keeps it: 'I' when its result is out, then the next
// "run" and its 1 again.
// Lesson pipe, child -> zygote (only children asked for one, after the
// result): the pages it faulted in, EncodePages() (page_warming.h), then EOF.
//
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "snakecage/execution.h"
#include "snakecage/policy.h"
#include "snakecage/status.h"

namespace snakecage::executor {

nlohmann::ordered_json ExecutionResultToJson(const ExecutionResult& r);
// Internal ("result: malformed: ...") for a missing field, a wrong type or a
// number out of its field's range.
StatusOr<ExecutionResult> ExecutionResultFromJson(const nlohmann::ordered_json& j);

// What a child wrote on its result pipe. The child is not trusted: any bytes
// decode to one of these, never to a crash.
struct ChildReport {
  std::optional<ExecutionResult> result;  // its whole result arrived
  std::string landlock_warning;           // with the result: Landlock was unavailable
  std::optional<std::string> saved_state;  // with a save cell's result: its pickled globals
  // It could not run the request (NotFound for a missing workspace, else
  // Internal), or its result was malformed. Never OK.
  std::optional<Status> error;
  // Neither: nothing arrived, or it was cut off (the child died writing).
};
ChildReport DecodeChildReport(std::string_view bytes);

// The most a truthful child writes on its result pipe under `policy`: its
// output at the caps, each byte escaped as JSON's longest form (\u00XX), and
// a megabyte for everything else. More means the child is not truthful.
uint64_t MaxChildReportBytes(const ExecutionPolicy& policy);

// Sends `message` (one datagram) with `fd` attached when fd >= 0.
Status SendMessage(int socket, const nlohmann::ordered_json& message, int fd = -1);
// Receives one datagram; an attached descriptor (close-on-exec) goes to
// *received_fd (-1 when none), or is closed when received_fd is null.
// NotFound when the peer closed the socket.
StatusOr<nlohmann::ordered_json> ReceiveMessage(int socket, int* received_fd = nullptr);

// "SIGSYS (Bad system call)" for a signal number.
std::string SignalDescription(int signo);

}  // namespace snakecage::executor
