// executor/seccomp_policy.h: the system calls an execution child may make
// after it is confined, as one table, and its compilation to a BPF program.
//
// The child runs the WASI host, the engine runtime (linear memory, the fault
// handler) and glibc underneath them, and nothing else: no sockets, no new
// processes or threads, no exec, no ptrace, no signals to other tasks, no
// namespaces, mounts, keys, BPF or io_uring. Anything not in the table kills
// the whole child with SIGSYS (SCMP_ACT_KILL_PROCESS), and so does a system
// call of a foreign architecture (e.g. x32 numbers on x86_64).
//
// Paths are not this filter's business: path-taking calls are allowed here
// and confined by Landlock (see confinement.h). Arguments are checked only
// where a call has a dangerous mode the child never needs (ioctl requests,
// PROT_EXEC mappings, fcntl commands, prlimit64 writes, linkat AT_EMPTY_PATH).
//
// Thread-safety: the table is immutable; CompileSeccompAllowList() may be
// called from any thread.
#pragma once

#include <linux/filter.h>

#include <span>
#include <vector>

#include "snakecage/status.h"

namespace snakecage::executor {

// What a table entry requires of the call's arguments.
enum class SeccompArgRule {
  kAny,               // any arguments
  kNoExecMapping,     // mmap/mprotect: (prot & PROT_EXEC) == 0
  kIoctlQuery,        // ioctl: request in {FIONREAD, TCGETS}
  kFcntlFdFlags,      // fcntl: cmd in {F_GETFD, F_SETFD, F_GETFL, F_SETFL}
  kFcntlDupCloexec,   // fcntl: cmd == F_DUPFD_CLOEXEC
  kPrlimitReadSelf,   // prlimit64: pid == 0 and new_limit == NULL
  kLinkatNoEmptyPath, // linkat: (flags & AT_EMPTY_PATH) == 0
  kForkOnly,          // clone: flags exactly those of glibc's fork()
  kNoFlags,           // pidfd_open: flags == 0
};

// Which children a program is for.
enum class SeccompProfile {
  kExecution,        // an execution's child: SeccompAllowList()
  kLiveInterpreter,  // a child that may become a session's live interpreter
                     // (ExecutionPolicy::keep_state): SeccompAllowList() and
                     // SeccompLiveAdditions()
  kResident,         // a child that may serve further requests of the same
                     // confinement (zygote_child.h, "Residents"):
                     // SeccompAllowList() and SeccompResidentAdditions()
};

struct AllowedSyscall {
  const char* name;  // as libseccomp spells it (seccomp_syscall_resolve_name)
  SeccompArgRule rule;
};

// The allow-list, in the order of seccomp_policy.cc. Names a given
// architecture lacks (e.g. "open" on aarch64) are skipped when compiling.
std::span<const AllowedSyscall> SeccompAllowList();

// What a live interpreter needs besides: forking the child that runs each
// cell (clone with fork's flags only), waiting for it (wait4), a pidfd of
// it for the executor, which kills a cell through it (pidfd_open, no
// flags; the live interpreter itself sends no signal), the pipe its child
// tells it about a commit on (pipe2), the cell's timer (setitimer), and
// messages on its live socket (recvmsg, sendmsg: a connected socket; none
// can be made).
std::span<const AllowedSyscall> SeccompLiveAdditions();

// What a resident child needs besides: the next request and its result
// pipe on its connected socket to the zygote, and "idle" back (recvmsg,
// sendmsg), each request's timer (setitimer), and copies of the request's
// preopened directories (fcntl F_DUPFD_CLOEXEC).
std::span<const AllowedSyscall> SeccompResidentAdditions();

// Compiles the profile's allow-list with libseccomp for the native
// architecture into a classic BPF program for
// seccomp(SECCOMP_SET_MODE_FILTER). Allocates; call it before fork. Fails
// (kInternal) if libseccomp rejects a rule or a name is unknown to it (a
// typo in the table), naming the call.
StatusOr<std::vector<sock_filter>> CompileSeccompAllowList(
    SeccompProfile profile = SeccompProfile::kExecution);

}  // namespace snakecage::executor
