// executor/confinement.h: confines an execution child by the kernel, right
// after fork and before it continues the guest.
//
// ConfineChild() is the one production entry. It fixes the order
//     rlimits -> PR_SET_NO_NEW_PRIVS -> Landlock -> seccomp
// and is called in the child and nowhere else. Afterwards the child can
//   - touch only read_write_dirs (read, write, create, remove, rename and
//     link within and between them) and read read_only_dirs (Landlock);
//     descriptors opened before stay usable as they are;
//   - make only the system calls of seccomp_policy.cc's table; any other
//     kills it with SIGSYS;
//   - use at most the CPU time, file size and descriptors of the spec; it
//     writes no core files.
//
// Preconditions for the whole sequence:
//   - The caller is single-threaded (a freshly forked child is). Landlock
//     confines only the calling thread; seccomp is loaded with TSYNC, but a
//     thread created before ConfineChild would escape Landlock.
//   - SeccompProgram::Compile() ran before fork: compiling allocates.
//   - If ConfineChild returns an error, the child is partly confined and must
//     _exit without running the guest; the message names the step and path.
//
// Allocation: ConfineChild allocates (opening paths, building a warning or an
// error) only before seccomp. Once seccomp is applied it returns the report
// by move, which does not allocate. SeccompProgram::Apply() never allocates
// on success.
//
// The layer functions (ApplyRlimits, SetNoNewPrivs, ApplyLandlock,
// SeccompProgram::Apply) are public so tests can check each layer alone; the
// executor must not call them individually.
//
// Thread-safety: SeccompProgram is immutable after Compile() and may be
// shared by reference; the rest acts on the calling process.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "executor/seccomp_policy.h"
#include "snakecage/status.h"

namespace snakecage::executor {

// What one execution child may use. Every path must be absolute and exist.
struct ConfinementSpec {
  // Full access beneath these (the session workspace).
  std::vector<std::filesystem::path> read_write_dirs;
  // Read files and list directories beneath these (data mount, extra
  // mounts, the guest stdlib). Not executable.
  std::vector<std::filesystem::path> read_only_dirs;
  // RLIMIT_CPU in seconds, > 0: a backstop to the wall-clock timeout. The
  // soft limit sends SIGXCPU (which ends the child), the hard limit, one
  // second later, SIGKILL.
  uint64_t cpu_seconds = 0;
  // RLIMIT_FSIZE in bytes, > 0. A write past it fails with EFBIG (SIGXFSZ is
  // ignored in the child, so it does not kill it).
  uint64_t file_size_bytes = 0;
  // RLIMIT_NOFILE, > 0: descriptors numbered at or above it cannot be
  // opened (EMFILE). Descriptors already open stay open.
  uint64_t open_files = 0;
  // RLIMIT_CORE is always 0. RLIMIT_AS is never set: the engine reserves
  // 8 GiB of address space for linear memory.
};

// The seccomp allow-list of seccomp_policy.h, compiled to BPF.
class SeccompProgram {
 public:
  // Compiles the allow-list for the native architecture. Allocates: call
  // before fork.
  static StatusOr<SeccompProgram> Compile(SeccompProfile profile = SeccompProfile::kExecution);

  // Loads the filter into the calling process (SECCOMP_FILTER_FLAG_TSYNC).
  // Only the seccomp(2) system call; async-signal-safe, no allocation unless
  // it fails (then the filter is not loaded and the Status names the errno).
  // REQUIRES: no_new_privs is set, or the caller has CAP_SYS_ADMIN.
  Status Apply() const;

  size_t instruction_count() const { return program_.size(); }

 private:
  explicit SeccompProgram(std::vector<sock_filter> program)
      : program_(std::move(program)) {}
  std::vector<sock_filter> program_;
};

// What ConfineChild did about Landlock. Rlimits, no_new_privs and seccomp
// either apply or ConfineChild fails; only Landlock may be missing.
struct ConfinementReport {
  bool landlock_applied = false;
  // The Landlock ABI the ruleset was built for: the kernel's highest, capped
  // at 7 (the newest this code knows; unknown rights are never requested).
  // 0 when Landlock was skipped.
  int landlock_abi = 0;
  // Non-empty exactly when Landlock was skipped: why, and what that leaves
  // unconfined. The caller logs it.
  std::string landlock_warning;
};

// The kernel's highest Landlock ABI version (>= 1), or -errno if it has none
// (-ENOSYS: built without Landlock; -EOPNOTSUPP: disabled at boot).
int KernelLandlockAbi();

// Test seam: a stand-in for KernelLandlockAbi().
using LandlockAbiProbe = int (*)();

// Confines the calling process (see the top of this file).
StatusOr<ConfinementReport> ConfineChild(const ConfinementSpec& spec,
                                         const SeccompProgram& seccomp);

// ConfineChild with the Landlock ABI taken from `probe` instead of the
// kernel: the same steps in the same order. Tests use it to take the
// no-Landlock path, or an older ABI. `probe` must return an ABI the kernel
// supports, or a negative errno.
StatusOr<ConfinementReport> ConfineChildWithLandlockProbe(
    const ConfinementSpec& spec, const SeccompProgram& seccomp,
    LandlockAbiProbe probe);

// ---- single layers, for tests ----------------------------------------------

// RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE (soft and hard, never above the
// current hard limit), RLIMIT_CORE = 0, and SIGXFSZ ignored. Fails with
// kInvalidArgument naming the field if a limit is 0.
Status ApplyRlimits(const ConfinementSpec& spec);

// prctl(PR_SET_NO_NEW_PRIVS, 1).
Status SetNoNewPrivs();

// Builds and enforces the Landlock ruleset for `spec` (ABI from `probe`).
// Fails with kInvalidArgument/kNotFound naming the field and path for a
// relative or missing path. REQUIRES: no_new_privs (or CAP_SYS_ADMIN).
StatusOr<ConfinementReport> ApplyLandlock(
    const ConfinementSpec& spec, LandlockAbiProbe probe = &KernelLandlockAbi);

}  // namespace snakecage::executor
