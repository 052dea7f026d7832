#include "executor/confinement.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/errno_text.h"

#include "base/unique_fd.h"
#include "executor/seccomp_policy.h"

// Debian bookworm's <linux/landlock.h> describes ABI 2 (Linux 6.1); the kernel
// here speaks ABI 7. Later constants, from the upstream UAPI header:
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3, Linux 6.2
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5, Linux 6.10
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)  // ABI 4, Linux 6.7
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)  // ABI 4, Linux 6.7
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  // ABI 6, Linux 6.12
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)  // ABI 6, Linux 6.12
#endif
// The Landlock system call numbers are the same on every architecture.
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif

namespace snakecage::executor {
namespace {

// struct landlock_ruleset_attr as of ABI 6 (the header's has only the first
// field). The kernel is given the prefix its ABI knows (RulesetAttrSize).
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI >= 4
  uint64_t scoped;              // ABI >= 6
};

// ABI 7 added audit logging flags only; nothing newer is known here. A newer
// kernel is used at this level: unknown access bits are never requested.
constexpr int kNewestKnownLandlockAbi = 7;

// Every filesystem right the ABI can restrict. All of them are handled
// (denied unless a rule grants them), so nothing is left open by omission.
uint64_t HandledFsAccess(int abi) {
  uint64_t access = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0-12
  if (abi >= 2) access |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) access |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) access |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return access;
}

size_t RulesetAttrSize(int abi) {
  if (abi >= 6) return sizeof(RulesetAttr);
  if (abi >= 4) return offsetof(RulesetAttr, scoped);
  return offsetof(RulesetAttr, handled_access_net);
}

// Granted beneath a read-write directory: everything a workspace needs,
// including moving and linking files between granted directories (REFER).
// Not granted: EXECUTE, device/socket/fifo creation, device ioctls.
constexpr uint64_t kReadWriteAccess =
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER;
// Granted beneath a read-only directory.
constexpr uint64_t kReadOnlyAccess =
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
// The rights the kernel accepts on a rule for a non-directory.
constexpr uint64_t kFileOnlyAccess =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
    LANDLOCK_ACCESS_FS_IOCTL_DEV;

// One granted path, opened with O_PATH before any limit applies.
struct Grant {
  const char* field = "";  // "read_write_dirs" or "read_only_dirs"
  std::filesystem::path path;
  UniqueFd fd;
  bool is_dir = false;
  bool writable = false;
};

Status ValidateLimits(const ConfinementSpec& spec) {
  if (spec.cpu_seconds == 0) {
    return InvalidArgument("ConfinementSpec.cpu_seconds must be > 0");
  }
  if (spec.file_size_bytes == 0) {
    return InvalidArgument("ConfinementSpec.file_size_bytes must be > 0");
  }
  if (spec.open_files == 0) {
    return InvalidArgument("ConfinementSpec.open_files must be > 0");
  }
  return Status::Ok();
}

Status OpenGrantList(const char* field,
                     const std::vector<std::filesystem::path>& paths,
                     bool writable, std::vector<Grant>& out) {
  for (const std::filesystem::path& path : paths) {
    if (!path.is_absolute()) {
      return InvalidArgument(std::string("ConfinementSpec.") + field + ": \"" +
                             path.string() + "\" is not an absolute path");
    }
    Grant grant;
    grant.field = field;
    grant.path = path;
    grant.writable = writable;
    grant.fd.Reset(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!grant.fd.valid()) {
      const int err = errno;
      std::string message = std::string("ConfinementSpec.") + field +
                            ": cannot open \"" + path.string() +
                            "\": " + ErrnoNameAndText(err);
      if (err == ENOENT) return NotFound(std::move(message));
      return Internal(std::move(message));
    }
    struct stat st {};
    if (::fstat(grant.fd.get(), &st) != 0) {
      return Internal(std::string("ConfinementSpec.") + field + ": fstat \"" +
                      path.string() + "\": " + ErrnoNameAndText(errno));
    }
    grant.is_dir = S_ISDIR(st.st_mode);
    out.push_back(std::move(grant));
  }
  return Status::Ok();
}

StatusOr<std::vector<Grant>> OpenGrants(const ConfinementSpec& spec) {
  std::vector<Grant> grants;
  grants.reserve(spec.read_write_dirs.size() + spec.read_only_dirs.size());
  Status s = OpenGrantList("read_write_dirs", spec.read_write_dirs, true, grants);
  if (!s.ok()) return s;
  s = OpenGrantList("read_only_dirs", spec.read_only_dirs, false, grants);
  if (!s.ok()) return s;
  return grants;
}

// A Landlock ruleset built but not yet enforced, or the reason it is skipped.
// Building it needs descriptors and memory; enforcing it is one system call.
struct PreparedLandlock {
  UniqueFd ruleset;  // invalid when Landlock is skipped
  ConfinementReport report;
};

StatusOr<PreparedLandlock> PrepareLandlock(const std::vector<Grant>& grants,
                                           LandlockAbiProbe probe) {
  PreparedLandlock prepared;
  ConfinementReport& report = prepared.report;
  const int probed = probe();
  if (probed < 0) {
    const int err = -probed;
    if (err != ENOSYS && err != EOPNOTSUPP) {
      return Internal("Landlock ABI probe (landlock_create_ruleset "
                      "LANDLOCK_CREATE_RULESET_VERSION) failed: " +
                      ErrnoNameAndText(err));
    }
    report.landlock_warning =
        "Landlock is unavailable (" + ErrnoNameAndText(err) + ": " +
        (err == ENOSYS ? "the kernel was built without Landlock"
                       : "Landlock is disabled at boot; add it to the lsm= "
                         "kernel parameter") +
        "); host filesystem access of the execution child is not confined "
        "by the kernel, only by the WASI host's path resolution "
        "(rlimits, no_new_privs and seccomp still apply)";
    return prepared;
  }
  if (probed == 0) {
    return Internal("Landlock ABI probe answered version 0");
  }
  const int abi = probed < kNewestKnownLandlockAbi ? probed
                                                   : kNewestKnownLandlockAbi;
  const uint64_t handled_fs = HandledFsAccess(abi);
  RulesetAttr attr{};
  attr.handled_access_fs = handled_fs;
  if (abi >= 4) {
    // No TCP rules: binding and connecting are denied (seccomp already
    // refuses socket(2); this holds even for an inherited socket).
    attr.handled_access_net =
        LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
  }
  if (abi >= 6) {
    // No signals to, and no abstract UNIX sockets of, processes outside.
    attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
  }
  prepared.ruleset.Reset(static_cast<int>(::syscall(
      __NR_landlock_create_ruleset, &attr, RulesetAttrSize(abi), 0u)));
  if (!prepared.ruleset.valid()) {
    return Internal("landlock_create_ruleset (ABI " + std::to_string(abi) +
                    "): " + ErrnoNameAndText(errno));
  }
  for (const Grant& grant : grants) {
    landlock_path_beneath_attr rule{};
    rule.allowed_access = (grant.writable ? kReadWriteAccess : kReadOnlyAccess) &
                          (grant.is_dir ? ~uint64_t{0} : kFileOnlyAccess) &
                          handled_fs;
    rule.parent_fd = grant.fd.get();
    if (rule.allowed_access == 0) continue;
    if (::syscall(__NR_landlock_add_rule, prepared.ruleset.get(),
                  LANDLOCK_RULE_PATH_BENEATH, &rule, 0u) != 0) {
      return Internal(std::string("landlock_add_rule for ") + grant.field + " \"" +
                      grant.path.string() + "\": " + ErrnoNameAndText(errno));
    }
  }
  report.landlock_applied = true;
  report.landlock_abi = abi;
  return prepared;
}

// Enforces a prepared ruleset on the calling thread; nothing to do when
// Landlock is skipped. No allocation unless it fails.
Status EnforceLandlock(const PreparedLandlock& prepared) {
  if (!prepared.ruleset.valid()) return Status::Ok();
  if (::syscall(__NR_landlock_restrict_self, prepared.ruleset.get(), 0u) != 0) {
    return Internal("landlock_restrict_self: " + ErrnoNameAndText(errno));
  }
  return Status::Ok();
}

// Sets soft and hard limits, never above the current hard limit (so this
// only ever lowers limits, and works without CAP_SYS_RESOURCE).
Status SetLimit(int resource, const char* name, uint64_t soft, uint64_t hard) {
  struct rlimit current {};
  if (::getrlimit(resource, &current) != 0) {
    return Internal(std::string("getrlimit(") + name + "): " + ErrnoNameAndText(errno));
  }
  struct rlimit want {};
  want.rlim_max = hard < current.rlim_max ? hard : current.rlim_max;
  want.rlim_cur = soft < want.rlim_max ? soft : want.rlim_max;
  if (::setrlimit(resource, &want) != 0) {
    return Internal(std::string("setrlimit(") + name + "): " + ErrnoNameAndText(errno));
  }
  return Status::Ok();
}

}  // namespace

// ---- SeccompProgram ----------------------------------------------------------

StatusOr<SeccompProgram> SeccompProgram::Compile(SeccompProfile profile) {
  StatusOr<std::vector<sock_filter>> program = CompileSeccompAllowList(profile);
  if (!program.ok()) return program.status();
  if (program->size() > BPF_MAXINSNS) {
    return Internal("the seccomp program has " +
                    std::to_string(program->size()) +
                    " instructions, more than BPF_MAXINSNS");
  }
  return SeccompProgram(std::move(program).value());
}

Status SeccompProgram::Apply() const {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program_.size());
  prog.filter = const_cast<sock_filter*>(program_.data());
  const long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (rc == 0) return Status::Ok();
  if (rc > 0) {
    return Internal("seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): thread " +
                    std::to_string(rc) + " cannot be synchronised");
  }
  return Internal("seccomp(SECCOMP_SET_MODE_FILTER): " + ErrnoNameAndText(errno));
}

// ---- layers --------------------------------------------------------------------

int KernelLandlockAbi() {
  const long abi = ::syscall(__NR_landlock_create_ruleset, nullptr, 0,
                             LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) return -errno;
  return static_cast<int>(abi);
}

Status ApplyRlimits(const ConfinementSpec& spec) {
  Status s = ValidateLimits(spec);
  if (!s.ok()) return s;
  // SIGXFSZ would kill the child at the first write past RLIMIT_FSIZE; with
  // it ignored the write fails with EFBIG, which the WASI host hands to the
  // guest as an ordinary error.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGXFSZ, &ignore, nullptr) != 0) {
    return Internal("sigaction(SIGXFSZ, SIG_IGN): " + ErrnoNameAndText(errno));
  }
  // RLIMIT_CPU: SIGXCPU at the soft limit ends the child (nothing in it
  // handles the signal); SIGKILL at the hard limit one second later is the
  // backstop should SIGXCPU be blocked.
  const uint64_t cpu_hard =
      spec.cpu_seconds == UINT64_MAX ? UINT64_MAX : spec.cpu_seconds + 1;
  s = SetLimit(RLIMIT_CPU, "RLIMIT_CPU", spec.cpu_seconds, cpu_hard);
  if (!s.ok()) return s;
  s = SetLimit(RLIMIT_FSIZE, "RLIMIT_FSIZE", spec.file_size_bytes,
               spec.file_size_bytes);
  if (!s.ok()) return s;
  s = SetLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", spec.open_files, spec.open_files);
  if (!s.ok()) return s;
  return SetLimit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0);
}

Status SetNoNewPrivs() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return Internal("prctl(PR_SET_NO_NEW_PRIVS): " + ErrnoNameAndText(errno));
  }
  return Status::Ok();
}

StatusOr<ConfinementReport> ApplyLandlock(const ConfinementSpec& spec,
                                          LandlockAbiProbe probe) {
  StatusOr<std::vector<Grant>> grants = OpenGrants(spec);
  if (!grants.ok()) return grants.status();
  StatusOr<PreparedLandlock> landlock = PrepareLandlock(*grants, probe);
  if (!landlock.ok()) return landlock.status();
  Status s = EnforceLandlock(*landlock);
  if (!s.ok()) return s;
  return std::move(landlock->report);
}

StatusOr<ConfinementReport> ConfineChildWithLandlockProbe(
    const ConfinementSpec& spec, const SeccompProgram& seccomp,
    LandlockAbiProbe probe) {
  // Everything that can fail for a bad spec, and everything that needs
  // descriptors or memory, happens before the first restriction: the limits
  // are checked, the granted paths opened and the Landlock ruleset built
  // (a ruleset restricts nothing until landlock_restrict_self). So a small
  // open_files cannot starve the later steps.
  Status s = ValidateLimits(spec);
  if (!s.ok()) return s;
  StatusOr<PreparedLandlock> landlock = [&]() -> StatusOr<PreparedLandlock> {
    StatusOr<std::vector<Grant>> grants = OpenGrants(spec);
    if (!grants.ok()) return grants.status();
    return PrepareLandlock(*grants, probe);
  }();  // the O_PATH descriptors are closed here; the ruleset holds them
  if (!landlock.ok()) return landlock.status();

  // The restrictions, in this order and nowhere else.
  s = ApplyRlimits(spec);
  if (!s.ok()) return s;
  s = SetNoNewPrivs();
  if (!s.ok()) return s;
  s = EnforceLandlock(*landlock);
  if (!s.ok()) return s;
  landlock->ruleset.Reset();  // close(2); no longer needed once enforced
  s = seccomp.Apply();
  if (!s.ok()) return s;
  // From here on: no allocation. Moving the report does not allocate.
  return std::move(landlock->report);
}

StatusOr<ConfinementReport> ConfineChild(const ConfinementSpec& spec,
                                         const SeccompProgram& seccomp) {
  return ConfineChildWithLandlockProbe(spec, seccomp, &KernelLandlockAbi);
}

}  // namespace snakecage::executor
