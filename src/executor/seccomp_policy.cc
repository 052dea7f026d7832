#include "executor/seccomp_policy.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/unique_fd.h"

namespace snakecage::executor {
namespace {

using R = SeccompArgRule;

// Deliberately absent (the default action kills the child with SIGSYS):
//   socket, socketpair, connect, bind, listen, accept, accept4, sendto,
//   recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, shutdown, setsockopt:
//     the guest has no network; results leave through an inherited pipe with
//     write(2).
//   execve, execveat, fork, vfork, clone, clone3: no new programs, processes
//     or threads in the child (run the guest on the child's only thread).
//   ptrace, process_vm_readv/writev, kcmp, pidfd_*: no looking into others.
//   kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo: no signals to
//     anyone. glibc's abort() raises SIGABRT with tgkill on itself; that now
//     ends in SIGSYS instead, which the executor reports as a signal death
//     just the same.
//   mount, umount2, pivot_root, chroot, unshare, setns, open_tree, move_mount,
//     fsopen, fsmount, ...: no namespace or mount changes.
//   setuid, setgid, setreuid, setresuid, setgroups, capset, ...: no identity
//     changes (the child may run as root).
//   bpf, perf_event_open, keyctl, add_key, request_key, io_uring_*,
//     userfaultfd, personality, seccomp, prctl, landlock_*, memfd_create,
//     dup/dup2/dup3, pipe/pipe2, setrlimit and prlimit64 writes, chmod/chown,
//     mknod, sysinfo, uname, syslog, reboot, init_module, ...: not needed.
//   ioctl requests other than FIONREAD and TCGETS (e.g. TIOCSTI, TIOCSCTTY,
//     FIOCLEX, device ioctls).
constexpr AllowedSyscall kAllowList[] = {
    // -- Leaving. The child ends with _exit/exit_group after sending its
    //    result; exit is what a returning thread makes.
    {"exit_group", R::kAny},
    {"exit", R::kAny},

    // -- Signals. The engine's SIGSEGV/SIGBUS handler runs on a sigaltstack
    //    and leaves by siglongjmp (rt_sigprocmask restores the mask) or
    //    returns (rt_sigreturn); forward_fault() resets the disposition
    //    (rt_sigaction). restart_syscall resumes a sleep interrupted by
    //    SIGSTOP/SIGCONT.
    {"rt_sigreturn", R::kAny},
    {"rt_sigprocmask", R::kAny},
    {"rt_sigaction", R::kAny},
    {"sigaltstack", R::kAny},
    {"restart_syscall", R::kAny},

    // -- Memory. Linear memory is a PROT_NONE reservation made readable and
    //    writable by mprotect as it grows and reset with mmap(MAP_FIXED) or
    //    madvise(MADV_DONTNEED); malloc uses brk, mmap, munmap, mremap and
    //    madvise. Never executable: nothing in the child generates code.
    {"brk", R::kAny},
    {"mmap", R::kNoExecMapping},
    {"mprotect", R::kNoExecMapping},
    {"munmap", R::kAny},
    {"mremap", R::kAny},
    {"madvise", R::kAny},

    // -- Data on open descriptors. fd_read/fd_write/fd_pread/fd_pwrite use
    //    readv/writev/preadv/pwritev; the result pipe uses write; fd_seek and
    //    fd_tell use lseek.
    {"read", R::kAny},
    {"write", R::kAny},
    {"readv", R::kAny},
    {"writev", R::kAny},
    {"pread64", R::kAny},
    {"pwrite64", R::kAny},
    {"preadv", R::kAny},
    {"pwritev", R::kAny},
    {"preadv2", R::kAny},
    {"pwritev2", R::kAny},
    {"lseek", R::kAny},
    {"close", R::kAny},

    // -- Metadata and maintenance of open descriptors. fd_filestat_get
    //    (fstat is newfstatat(AT_EMPTY_PATH) in glibc >= 2.33), statx for
    //    newer callers, fstatfs for glibc's posix_fallocate fallback;
    //    fd_fdstat_set_flags (fcntl F_GETFL/F_SETFL only), fd_filestat_
    //    set_size, fd_sync, fd_datasync, fd_allocate, fd_advise, fd_readdir
    //    (getdents64), fd_filestat_set_times (futimens is utimensat);
    //    poll_oneoff asks how much a pipe holds with ioctl(FIONREAD).
    //    ioctl(TCGETS) is isatty(): nothing in the host calls it, but glibc's
    //    stdio does on the first buffered write to a character device (a
    //    terminal, /dev/null), and so does GoogleTest's colour check; it only
    //    reads terminal attributes of a descriptor the child already holds.
    {"fstat", R::kAny},
    {"newfstatat", R::kAny},
    {"statx", R::kAny},
    {"fstatfs", R::kAny},
    {"fcntl", R::kFcntlFdFlags},
    {"ftruncate", R::kAny},
    {"fsync", R::kAny},
    {"fdatasync", R::kAny},
    {"fallocate", R::kAny},
    {"fadvise64", R::kAny},
    {"getdents64", R::kAny},
    {"utimensat", R::kAny},
    {"ioctl", R::kIoctlQuery},

    // -- Paths. Landlock, not this filter, decides which paths these may
    //    touch; the WASI host resolves guest paths with openat2
    //    (RESOLVE_BENEATH) and then acts with the *at calls. The legacy
    //    x86_64 forms (open, stat, unlink, ...) are what glibc issues for the
    //    plain POSIX functions there; they reach nothing the *at forms do not.
    {"openat", R::kAny},
    {"openat2", R::kAny},
    {"mkdirat", R::kAny},
    {"unlinkat", R::kAny},
    {"renameat", R::kAny},
    {"renameat2", R::kAny},
    {"linkat", R::kLinkatNoEmptyPath},
    {"symlinkat", R::kAny},
    {"readlinkat", R::kAny},
    {"faccessat", R::kAny},
    {"faccessat2", R::kAny},
    {"truncate", R::kAny},
    {"open", R::kAny},
    {"stat", R::kAny},
    {"lstat", R::kAny},
    {"access", R::kAny},
    {"mkdir", R::kAny},
    {"rmdir", R::kAny},
    {"unlink", R::kAny},
    {"rename", R::kAny},
    {"link", R::kAny},
    {"readlink", R::kAny},
    {"symlink", R::kAny},
    // std::filesystem::absolute/current_path (only the name of the cwd).
    {"getcwd", R::kAny},

    // -- Time. clock_time_get/clock_res_get (vDSO first; these are the
    //    fallbacks, and the only path for CPU-time clocks); sleeps.
    {"clock_gettime", R::kAny},
    {"clock_getres", R::kAny},
    {"gettimeofday", R::kAny},
    {"time", R::kAny},
    {"clock_nanosleep", R::kAny},
    {"nanosleep", R::kAny},

    // -- Waiting. CancelToken::WaitUntil and other condition variables and
    //    glibc locks use futex; poll_oneoff on descriptors uses ppoll;
    //    sched_yield is WASI's sched_yield.
    {"futex", R::kAny},
    {"ppoll", R::kAny},
    {"poll", R::kAny},
    {"sched_yield", R::kAny},

    // -- Randomness. random_get; glibc's malloc seeds its tcache key.
    {"getrandom", R::kAny},

    // -- Reading own identity and limits. glibc (raise, assert, the main
    //    thread's pthread_getattr_np) reads its pid/tid and RLIMIT_STACK;
    //    prlimit64 only with pid 0 and no new limit, i.e. a read.
    {"getpid", R::kAny},
    {"gettid", R::kAny},
    {"getrlimit", R::kAny},
    {"prlimit64", R::kPrlimitReadSelf},
#if defined(SNAKECAGE_SANITIZE_BUILD)
    // -- Sanitizer builds only (make test-sanitize): before the engine's
    //    fault handler leaves by siglongjmp, ASan unpoisons the thread's
    //    stack and finds it with pthread_getattr_np, which reads the thread's
    //    CPU mask. Production builds do not allow it.
    {"sched_getaffinity", R::kAny},
#endif
};

// One argument comparison, every field set (libseccomp's SCMP_A* macros
// leave datum_b to zero-initialisation, which -Wextra flags).
scmp_arg_cmp Arg(unsigned int arg, scmp_compare op, uint64_t a, uint64_t b) {
  scmp_arg_cmp cmp{};
  cmp.arg = arg;
  cmp.op = op;
  cmp.datum_a = a;
  cmp.datum_b = b;
  return cmp;
}

// Adds the rule(s) for one resolved call. Several rules for one call are
// alternatives (libseccomp ORs them); the conditions inside one rule AND.
constexpr AllowedSyscall kLiveAdditions[] = {
    {"clone", R::kForkOnly},
    {"set_robust_list", R::kAny},  // glibc's fork re-registers it in the child
    {"wait4", R::kAny},
    // The live socket: a request and its result pipe (SCM_RIGHTS) come in,
    // "started" (with the cell's pidfd: the executor kills a cell, never the
    // live interpreter) and "exited" go out. The socket is connected; no
    // socket can be made or connected (socket, socketpair, connect stay
    // absent), and no signal sent (kill stays absent).
    {"recvmsg", R::kAny},
    {"sendmsg", R::kAny},
    {"pidfd_open", R::kNoFlags},
    {"pipe2", R::kAny},
    {"setitimer", R::kAny},
};

constexpr AllowedSyscall kResidentAdditions[] = {
    // The socket to the zygote: the next request and its result pipe
    // (SCM_RIGHTS) come in, "idle" goes out. Connected; none can be made.
    {"recvmsg", R::kAny},
    {"sendmsg", R::kAny},
    // Each request's own wall-clock timer.
    {"setitimer", R::kAny},
    // Each request's WASI host keeps copies of its preopened directories
    // (wasi_host.cc), made after confinement in a resident.
    {"fcntl", R::kFcntlDupCloexec},
};

// The flags glibc's fork() passes to clone (sysdeps/unix/sysv/linux/
// arch-fork.h): a new process, never a thread or a namespace.
constexpr uint64_t kForkCloneFlags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;

int AddRule(scmp_filter_ctx ctx, int nr, SeccompArgRule rule) {
  switch (rule) {
    case R::kAny:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    case R::kNoExecMapping:
      // prot is argument 2 of both mmap and mprotect.
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              Arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    case R::kIoctlQuery:
      for (const unsigned long request : {FIONREAD, TCGETS}) {
        const int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                        Arg(1, SCMP_CMP_EQ, request, 0));
        if (rc != 0) return rc;
      }
      return 0;
    case R::kFcntlFdFlags:
      for (const int cmd : {F_GETFD, F_SETFD, F_GETFL, F_SETFL}) {
        const int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                        Arg(1, SCMP_CMP_EQ, static_cast<uint64_t>(cmd), 0));
        if (rc != 0) return rc;
      }
      return 0;
    case R::kFcntlDupCloexec:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              Arg(1, SCMP_CMP_EQ, static_cast<uint64_t>(F_DUPFD_CLOEXEC), 0));
    case R::kPrlimitReadSelf:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
                              Arg(0, SCMP_CMP_EQ, 0, 0),
                              Arg(2, SCMP_CMP_EQ, 0, 0));
    case R::kLinkatNoEmptyPath:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              Arg(4, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
    case R::kForkOnly:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                              Arg(0, SCMP_CMP_EQ, kForkCloneFlags, 0));
    case R::kNoFlags:
      return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, Arg(1, SCMP_CMP_EQ, 0, 0));
  }
  return -EINVAL;
}

class FilterContext {
 public:
  explicit FilterContext(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ~FilterContext() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  FilterContext(const FilterContext&) = delete;
  FilterContext& operator=(const FilterContext&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

std::string Errno(int negative_errno) {
  return std::strerror(-negative_errno);
}

}  // namespace

std::span<const AllowedSyscall> SeccompAllowList() { return kAllowList; }
std::span<const AllowedSyscall> SeccompLiveAdditions() { return kLiveAdditions; }
std::span<const AllowedSyscall> SeccompResidentAdditions() { return kResidentAdditions; }

StatusOr<std::vector<sock_filter>> CompileSeccompAllowList(SeccompProfile profile) {
  FilterContext ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (ctx.get() == nullptr) {
    return Internal(
        "seccomp_init(SCMP_ACT_KILL_PROCESS) failed (libseccomp or kernel "
        "without SECCOMP_RET_KILL_PROCESS)");
  }
  // A call made with another architecture's numbers (x32, i386 on x86_64)
  // kills the child too, instead of the default of killing one thread.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH,
                            SCMP_ACT_KILL_PROCESS);
  if (rc != 0) {
    return Internal("seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH): " + Errno(rc));
  }
  // A binary tree of syscall numbers instead of a linear chain: the kernel
  // runs the filter once per syscall number when it loads it (to cache the
  // always-allowed ones), so a linear filter made loading cost ~90 us per
  // child; a tree is O(log n) per run.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc != 0) {
    return Internal("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, 2): " + Errno(rc));
  }
  std::vector<AllowedSyscall> entries(std::begin(kAllowList), std::end(kAllowList));
  if (profile == SeccompProfile::kLiveInterpreter) {
    entries.insert(entries.end(), std::begin(kLiveAdditions), std::end(kLiveAdditions));
  }
  if (profile == SeccompProfile::kResident) {
    entries.insert(entries.end(), std::begin(kResidentAdditions), std::end(kResidentAdditions));
  }
  for (const AllowedSyscall& entry : entries) {
    const int nr = seccomp_syscall_resolve_name(entry.name);
    if (nr == __NR_SCMP_ERROR) {
      return Internal(std::string("seccomp allow-list: libseccomp does not "
                                  "know the system call \"") +
                      entry.name + "\"");
    }
    if (nr < 0) continue;  // a pseudo number: absent on this architecture
    rc = AddRule(ctx.get(), nr, entry.rule);
    if (rc != 0) {
      return Internal(std::string("seccomp allow-list: cannot add the rule "
                                  "for \"") +
                      entry.name + "\": " + Errno(rc));
    }
  }

  // libseccomp 2.5 exports only to a descriptor: a memfd, read back whole.
  UniqueFd out(memfd_create("snakecage-seccomp-bpf", MFD_CLOEXEC));
  if (!out.valid()) {
    return Internal(std::string("memfd_create for the seccomp program: ") +
                    std::strerror(errno));
  }
  rc = seccomp_export_bpf(ctx.get(), out.get());
  if (rc != 0) return Internal("seccomp_export_bpf: " + Errno(rc));
  struct stat st {};
  if (fstat(out.get(), &st) != 0) {
    return Internal(std::string("fstat of the exported seccomp program: ") +
                    std::strerror(errno));
  }
  const size_t bytes = static_cast<size_t>(st.st_size);
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0) {
    return Internal("the exported seccomp program has " +
                    std::to_string(bytes) +
                    " bytes, not a whole number of BPF instructions");
  }
  std::vector<sock_filter> program(bytes / sizeof(sock_filter));
  size_t done = 0;
  auto* dst = reinterpret_cast<char*>(program.data());
  while (done < bytes) {
    const ssize_t n = pread(out.get(), dst + done, bytes - done,
                            static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Internal(std::string("reading the exported seccomp program: ") +
                      (n < 0 ? std::strerror(errno) : "unexpected end"));
    }
    done += static_cast<size_t>(n);
  }
  return program;
}

}  // namespace snakecage::executor
