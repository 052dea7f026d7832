// Tests of src/executor/confinement.h. Each test forks a child; the child
// confines itself (all layers, or one) and then acts; the parent checks the
// exact outcome: how the child ended (waitpid status) and what it wrote to a
// pipe. Children report with write(2) and end with _exit, so neither
// GoogleTest nor atexit handlers run in them.
#include "executor/confinement.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/sanitizers.h"
#include "common/temp_dir.h"
#include "executor/seccomp_policy.h"

namespace snakecage::executor {
namespace {

namespace fs = std::filesystem;
using snakecage::testing::ReadFile;
using snakecage::testing::TempDir;
using snakecage::testing::WriteFile;

// ---- running a child -----------------------------------------------------------

struct ChildResult {
  int status = 0;      // from waitpid
  std::string output;  // everything the child wrote to its pipe
};

// Runs `body(out_fd)` in a forked child and returns how it ended. The body's
// return value is the child's exit code. A child still alive after 30 s is
// ended by SIGALRM (armed before any confinement).
ChildResult RunChild(const std::function<int(int out_fd)>& body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    alarm(30);
    _exit(body(fds[1]));
  }
  close(fds[1]);
  ChildResult result;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}
std::string Exited(int code) { return "exited " + std::to_string(code); }
std::string KilledBy(int sig) { return std::string("killed by ") + sigabbrev_np(sig); }

// printf to the pipe, without allocating.
__attribute__((format(printf, 2, 3))) void Emit(int fd, const char* format, ...) {
  char buf[1024];
  va_list args;
  va_start(args, format);
  const int n = vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  if (n > 0) {
    const ssize_t ignored =
        write(fd, buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
    (void)ignored;
  }
}

// "OK" or the errno's name, for a call that returned `rc`.
const char* Outcome(long rc) {
  if (rc >= 0) return "OK";
  const char* name = strerrorname_np(errno);
  return name != nullptr ? name : "?";
}

// open(2) and close; "OK" or the errno's name.
const char* OpenOutcome(const fs::path& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
  return Outcome(fd);
}

const SeccompProgram& Seccomp() {
  static const SeccompProgram* program = [] {
    StatusOr<SeccompProgram> p = SeccompProgram::Compile();
    if (!p.ok()) {
      std::fprintf(stderr, "SeccompProgram::Compile: %s\n",
                   p.status().message().c_str());
      std::abort();
    }
    return new SeccompProgram(std::move(p).value());
  }();
  return *program;
}

// Confines with every layer; on failure reports the Status and returns false.
bool Confine(const ConfinementSpec& spec, int out) {
  StatusOr<ConfinementReport> report = ConfineChild(spec, Seccomp());
  if (!report.ok()) {
    Emit(out, "ConfineChild failed: %s\n", report.status().message().c_str());
    return false;
  }
  return true;
}

constexpr int kConfineFailed = 100;

// A temporary tree:  rw/ (granted read-write), ro/ (granted read-only), and
// outside/ (a sibling, not granted).
class ConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rw_ = tmp_.Make("rw");
    ro_ = tmp_.Make("ro");
    outside_ = tmp_.Make("outside");
    WriteFile(ro_ / "data.txt", "read-only data");
    WriteFile(rw_ / "existing.txt", "hello");
    WriteFile(outside_ / "secret.txt", "secret");
    spec_.read_write_dirs = {rw_};
    spec_.read_only_dirs = {ro_};
    spec_.cpu_seconds = 20;
    spec_.file_size_bytes = 64u << 20;
    spec_.open_files = 64;
    (void)Seccomp();  // compiled in the parent, before any fork
  }

  TempDir tmp_;
  fs::path rw_, ro_, outside_;
  ConfinementSpec spec_;
};

// ---- Landlock, with every layer ------------------------------------------------

TEST_F(ConfinementTest, HostFilesOutsideTheGrantsAreDeniedWithEacces) {
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    Emit(out, "sibling=%s\n", OpenOutcome(outside_ / "secret.txt", O_RDONLY));
    Emit(out, "passwd=%s\n", OpenOutcome("/etc/passwd", O_RDONLY));
    Emit(out, "parent_dir=%s\n",
         OpenOutcome(tmp_.path(), O_RDONLY | O_DIRECTORY));
    Emit(out, "create_in_sibling=%s\n",
         OpenOutcome(outside_ / "new.txt", O_WRONLY | O_CREAT));
    Emit(out, "proc_maps=%s\n", OpenOutcome("/proc/self/maps", O_RDONLY));
    Emit(out, "dev_null=%s\n", OpenOutcome("/dev/null", O_WRONLY));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output,
            "sibling=EACCES\n"
            "passwd=EACCES\n"
            "parent_dir=EACCES\n"
            "create_in_sibling=EACCES\n"
            "proc_maps=EACCES\n"
            "dev_null=EACCES\n");
  EXPECT_FALSE(fs::exists(outside_ / "new.txt"));
}

TEST_F(ConfinementTest, ReadWriteDirIsUsableAndReadOnlyDirOnlyReadable) {
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    // Read-write: create, write, read back, make dirs, move between them,
    // link, symlink, truncate, remove.
    int fd = open((rw_ / "new.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    Emit(out, "rw_create=%s\n", Outcome(fd));
    Emit(out, "rw_write=%s\n", Outcome(write(fd, "written", 7)));
    close(fd);
    char buf[64] = {};
    fd = open((rw_ / "existing.txt").c_str(), O_RDONLY | O_CLOEXEC);
    const ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    Emit(out, "rw_read=%s:%s\n", Outcome(n), buf);
    Emit(out, "rw_mkdir=%s\n", Outcome(mkdir((rw_ / "a").c_str(), 0755)));
    Emit(out, "rw_mkdir2=%s\n", Outcome(mkdir((rw_ / "b").c_str(), 0755)));
    Emit(out, "rw_rename_between_dirs=%s\n",
         Outcome(rename((rw_ / "new.txt").c_str(), (rw_ / "a/new.txt").c_str())));
    Emit(out, "rw_rename_reparent=%s\n",
         Outcome(rename((rw_ / "a/new.txt").c_str(), (rw_ / "b/moved.txt").c_str())));
    Emit(out, "rw_link=%s\n",
         Outcome(link((rw_ / "b/moved.txt").c_str(), (rw_ / "a/hard.txt").c_str())));
    Emit(out, "rw_symlink=%s\n",
         Outcome(symlink("b/moved.txt", (rw_ / "sym").c_str())));
    Emit(out, "rw_truncate=%s\n",
         Outcome(truncate((rw_ / "existing.txt").c_str(), 2)));
    Emit(out, "rw_unlink=%s\n", Outcome(unlink((rw_ / "a/hard.txt").c_str())));
    Emit(out, "rw_rmdir=%s\n", Outcome(rmdir((rw_ / "a").c_str())));
    // Read-only: reading works, every change is refused.
    memset(buf, 0, sizeof buf);
    fd = open((ro_ / "data.txt").c_str(), O_RDONLY | O_CLOEXEC);
    const ssize_t m = read(fd, buf, sizeof buf - 1);
    close(fd);
    Emit(out, "ro_read=%s:%s\n", Outcome(m), buf);
    Emit(out, "ro_list=%s\n", OpenOutcome(ro_, O_RDONLY | O_DIRECTORY));
    Emit(out, "ro_open_write=%s\n", OpenOutcome(ro_ / "data.txt", O_WRONLY));
    Emit(out, "ro_open_trunc=%s\n",
         OpenOutcome(ro_ / "data.txt", O_RDONLY | O_TRUNC));
    Emit(out, "ro_create=%s\n", OpenOutcome(ro_ / "new.txt", O_WRONLY | O_CREAT));
    Emit(out, "ro_truncate=%s\n", Outcome(truncate((ro_ / "data.txt").c_str(), 0)));
    Emit(out, "ro_unlink=%s\n", Outcome(unlink((ro_ / "data.txt").c_str())));
    Emit(out, "ro_mkdir=%s\n", Outcome(mkdir((ro_ / "d").c_str(), 0755)));
    Emit(out, "ro_symlink=%s\n", Outcome(symlink("x", (ro_ / "s").c_str())));
    Emit(out, "ro_rename_out=%s\n",
         Outcome(rename((ro_ / "data.txt").c_str(), (rw_ / "stolen.txt").c_str())));
    Emit(out, "ro_link_into_rw=%s\n",
         Outcome(link((ro_ / "data.txt").c_str(), (rw_ / "linked.txt").c_str())));
    Emit(out, "rw_rename_into_ro=%s\n",
         Outcome(rename((rw_ / "existing.txt").c_str(), (ro_ / "planted.txt").c_str())));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output,
            "rw_create=OK\n"
            "rw_write=OK\n"
            "rw_read=OK:hello\n"
            "rw_mkdir=OK\n"
            "rw_mkdir2=OK\n"
            "rw_rename_between_dirs=OK\n"
            "rw_rename_reparent=OK\n"
            "rw_link=OK\n"
            "rw_symlink=OK\n"
            "rw_truncate=OK\n"
            "rw_unlink=OK\n"
            "rw_rmdir=OK\n"
            "ro_read=OK:read-only data\n"
            "ro_list=OK\n"
            "ro_open_write=EACCES\n"
            "ro_open_trunc=EACCES\n"
            "ro_create=EACCES\n"
            "ro_truncate=EACCES\n"
            "ro_unlink=EACCES\n"
            "ro_mkdir=EACCES\n"
            "ro_symlink=EACCES\n"
            "ro_rename_out=EACCES\n"
            "ro_link_into_rw=EXDEV\n"
            "rw_rename_into_ro=EACCES\n");
  EXPECT_EQ(ReadFile(ro_ / "data.txt"), "read-only data");
  EXPECT_EQ(ReadFile(rw_ / "b/moved.txt"), "written");
  EXPECT_EQ(ReadFile(rw_ / "existing.txt"), "he");
  EXPECT_FALSE(fs::exists(rw_ / "stolen.txt"));
  EXPECT_FALSE(fs::exists(rw_ / "linked.txt"));
  EXPECT_FALSE(fs::exists(ro_ / "planted.txt"));
}

// ---- seccomp, with every layer -------------------------------------------------

struct ForbiddenCall {
  const char* name;
  void (*call)();
};

void PrintTo(const ForbiddenCall& call, std::ostream* os) { *os << call.name; }

void* ThreadMain(void*) { return nullptr; }

// The test process: the confined child's parent. Read before fork, because
// getppid() is not on the allow-list either.
pid_t g_test_process = 0;

// Each is made after full confinement and must kill the child with SIGSYS.
const ForbiddenCall kForbiddenCalls[] = {
    {"socket_inet", [] { (void)socket(AF_INET, SOCK_STREAM, 0); }},
    {"socket_unix", [] { (void)socket(AF_UNIX, SOCK_STREAM, 0); }},
    {"socketpair", [] { int sv[2]; (void)socketpair(AF_UNIX, SOCK_STREAM, 0, sv); }},
    {"sendto_on_pipe", [] { (void)sendto(1, "x", 1, 0, nullptr, 0); }},
    {"execve", [] {
       char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
       (void)execve("/bin/true", argv, environ);
     }},
    {"fork", [] { (void)fork(); }},
    {"vfork_syscall", [] { (void)syscall(SYS_vfork); }},
    {"clone_syscall", [] { (void)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); }},
    {"clone3_syscall", [] {
       clone_args args{};
       args.exit_signal = SIGCHLD;
       (void)syscall(SYS_clone3, &args, sizeof args);
     }},
    {"pthread_create", [] {
       pthread_t t;
       (void)pthread_create(&t, nullptr, ThreadMain, nullptr);
     }},
    {"ptrace", [] { (void)ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); }},
    {"process_vm_readv", [] {
       char a = 0, b = 0;
       iovec local{&a, 1}, remote{&b, 1};
       (void)process_vm_readv(g_test_process, &local, 1, &remote, 1, 0);
     }},
    {"kill_parent", [] { (void)kill(g_test_process, 0); }},
    {"tgkill_self", [] { (void)syscall(SYS_tgkill, getpid(), gettid(), 0); }},
    {"abort", [] { abort(); }},
    {"setuid", [] { (void)syscall(SYS_setuid, 0); }},
    {"unshare", [] { (void)unshare(CLONE_NEWUSER); }},
    {"setns", [] { (void)setns(0, 0); }},
    {"mount", [] { (void)mount("none", "/tmp", "tmpfs", 0, nullptr); }},
    {"umount2", [] { (void)umount2("/tmp", 0); }},
    {"chroot", [] { (void)chroot("/"); }},
    {"bpf", [] { (void)syscall(SYS_bpf, 0, nullptr, 0); }},
    {"perf_event_open", [] { (void)syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }},
    {"keyctl", [] { (void)syscall(SYS_keyctl, 0, 0, 0, 0, 0); }},
    {"io_uring_setup", [] { (void)syscall(SYS_io_uring_setup, 1, nullptr); }},
    {"userfaultfd", [] { (void)syscall(SYS_userfaultfd, 0); }},
    {"personality", [] { (void)personality(0xffffffff); }},
    {"memfd_create", [] { (void)memfd_create("x", 0); }},
    {"prctl", [] { (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }},
    {"seccomp_again", [] { (void)syscall(SYS_seccomp, 0, 0, nullptr); }},
    {"dup", [] { (void)dup(0); }},
    {"fcntl_dupfd", [] { (void)fcntl(0, F_DUPFD, 0); }},
    {"ioctl_tiocsti", [] { char c = 'x'; (void)ioctl(0, TIOCSTI, &c); }},
    {"ioctl_fioclex", [] { (void)ioctl(0, FIOCLEX); }},
    {"mmap_exec", [] {
       (void)mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
     }},
    {"mprotect_exec", [] {
       void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
       (void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
     }},
    {"setrlimit_raise", [] {
       rlimit l{RLIM_INFINITY, RLIM_INFINITY};
       (void)setrlimit(RLIMIT_NOFILE, &l);
     }},
    {"prlimit_other_pid", [] {
       rlimit l{};
       (void)prlimit(g_test_process, RLIMIT_NOFILE, nullptr, &l);
     }},
    {"linkat_empty_path", [] { (void)linkat(0, "", AT_FDCWD, "/tmp/x", AT_EMPTY_PATH); }},
    {"chmod", [] { (void)chmod("/tmp", 0777); }},
#if defined(__x86_64__)
    // x32 numbers pass the x86_64 architecture check; libseccomp must still
    // refuse them.
    {"x32_socket", [] { (void)syscall(0x40000000 | SYS_socket, AF_UNIX, SOCK_STREAM, 0); }},
#endif
};

class ForbiddenCallTest : public ConfinementTest,
                          public ::testing::WithParamInterface<ForbiddenCall> {};

TEST_P(ForbiddenCallTest, KillsTheChildWithSigsys) {
  const ForbiddenCall call = GetParam();
  g_test_process = getpid();
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    Emit(out, "before\n");
    call.call();
    Emit(out, "survived\n");
    return 0;
  });
  EXPECT_EQ(Describe(r.status), KilledBy(SIGSYS)) << r.output;
  EXPECT_EQ(r.output, "before\n");
}

INSTANTIATE_TEST_SUITE_P(
    AfterConfinement, ForbiddenCallTest, ::testing::ValuesIn(kForbiddenCalls),
    [](const ::testing::TestParamInfo<ForbiddenCall>& info) {
      return std::string(info.param.name);
    });

TEST(SeccompPolicyTest, TableHasNoForbiddenCallAndCompiles) {
  const char* const forbidden[] = {
      "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
      "sendto", "recvfrom", "sendmsg", "recvmsg", "execve", "execveat", "ptrace",
      "fork", "vfork", "clone", "clone3", "mount", "umount2", "bpf", "kill",
      "tkill", "tgkill", "setuid", "setgid", "setreuid", "setresuid", "unshare",
      "setns", "keyctl", "perf_event_open", "io_uring_setup", "io_uring_enter",
      "io_uring_register", "userfaultfd", "process_vm_readv", "process_vm_writev",
      "personality", "seccomp", "prctl", "dup", "dup2", "dup3", "setrlimit"};
  std::vector<std::string> names;
  for (const AllowedSyscall& entry : SeccompAllowList()) names.push_back(entry.name);
  for (const char* name : forbidden) {
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name;
  }
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
      << "a name appears twice in the allow-list";
  StatusOr<SeccompProgram> program = SeccompProgram::Compile();
  ASSERT_TRUE(program.ok()) << program.status().message();
  EXPECT_GT(program->instruction_count(), names.size());
}

// A live interpreter (keep_state) may fork the process of each cell, open
// a pidfd of it (for the executor, which kills cells through it), wait for
// it and arm a timer; it sends no signal, and nothing else that the
// execution profile forbids becomes possible.
TEST_F(ConfinementTest, TheLiveInterpreterProfileAllowsForkAndAPidfdOnly) {
  StatusOr<SeccompProgram> live = SeccompProgram::Compile(SeccompProfile::kLiveInterpreter);
  ASSERT_TRUE(live.ok()) << live.status().message();
  const ChildResult allowed = RunChild([&](int out) {
    if (!ConfineChild(spec_, *live).ok()) return kConfineFailed;
    const itimerval off{};
    Emit(out, "setitimer=%s\n", Outcome(setitimer(ITIMER_REAL, &off, nullptr)));
    int gate[2];
    Emit(out, "pipe2=%s\n", Outcome(pipe2(gate, O_CLOEXEC)));
    const pid_t pid = fork();
    if (pid == 0) {
      char c;
      (void)!read(gate[0], &c, 1);  // until the parent holds its pidfd
      _exit(7);
    }
    Emit(out, "fork=%s\n", Outcome(pid));
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    Emit(out, "pidfd_open=%s\n", Outcome(pidfd));
    (void)!write(gate[1], "x", 1);
    int status = 0;
    Emit(out, "wait=%s exit=%d\n", Outcome(waitpid(pid, &status, 0)),
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
  });
  EXPECT_EQ(Describe(allowed.status), Exited(0)) << allowed.output;
  EXPECT_EQ(allowed.output, "setitimer=OK\npipe2=OK\nfork=OK\npidfd_open=OK\nwait=OK exit=7\n");

  const std::pair<const char*, void (*)()> forbidden[] = {
      {"pthread_create", [] {
         pthread_t t;
         (void)pthread_create(&t, nullptr, ThreadMain, nullptr);
       }},
      {"clone_new_user", [] { (void)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0); }},
      {"clone3", [] {
         clone_args args{};
         args.exit_signal = SIGCHLD;
         (void)syscall(SYS_clone3, &args, sizeof args);
       }},
      {"kill_sigkill", [] { (void)kill(getpid(), SIGKILL); }},
      {"kill_sigterm", [] { (void)kill(getpid(), SIGTERM); }},
      {"pidfd_open_flags", [] { (void)syscall(SYS_pidfd_open, getpid(), 04000); }},
      {"pidfd_send_signal", [] { (void)syscall(SYS_pidfd_send_signal, 0, SIGKILL, nullptr, 0); }},
      {"socket", [] { (void)socket(AF_UNIX, SOCK_STREAM, 0); }},
      {"execve", [] {
         char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
         (void)execve("/bin/true", argv, environ);
       }},
  };
  for (const auto& [name, call] : forbidden) {
    const ChildResult r = RunChild([&](int) {
      if (!ConfineChild(spec_, *live).ok()) return kConfineFailed;
      call();
      return 0;
    });
    EXPECT_EQ(Describe(r.status), KilledBy(SIGSYS)) << name << ": " << r.output;
  }
}

// A resident child (one that serves further requests of its confinement)
// may arm its timer and use the socket it was given; it still cannot fork,
// make a socket, signal or exec.
TEST_F(ConfinementTest, TheResidentProfileAllowsATimerAndItsSocketOnly) {
  StatusOr<SeccompProgram> resident = SeccompProgram::Compile(SeccompProfile::kResident);
  ASSERT_TRUE(resident.ok()) << resident.status().message();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(write(sv[1], "x", 1), 1);  // what the child's recvmsg gets
  const ChildResult allowed = RunChild([&](int out) {
    if (!ConfineChild(spec_, *resident).ok()) return kConfineFailed;
    const itimerval off{};
    Emit(out, "setitimer=%s\n", Outcome(setitimer(ITIMER_REAL, &off, nullptr)));
    char byte = 'I';
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    Emit(out, "sendmsg=%s\n", Outcome(static_cast<int>(sendmsg(sv[0], &msg, 0))));
    Emit(out, "recvmsg=%s\n", Outcome(static_cast<int>(recvmsg(sv[0], &msg, 0))));
    Emit(out, "dup=%s\n", Outcome(fcntl(out, F_DUPFD_CLOEXEC, 0)));
    return 0;
  });
  char echo = 0;
  ASSERT_EQ(read(sv[1], &echo, 1), 1);
  EXPECT_EQ(echo, 'I');
  close(sv[0]);
  close(sv[1]);
  EXPECT_EQ(Describe(allowed.status), Exited(0)) << allowed.output;
  EXPECT_EQ(allowed.output, "setitimer=OK\nsendmsg=OK\nrecvmsg=OK\ndup=OK\n");

  const std::pair<const char*, void (*)()> forbidden[] = {
      {"fork", [] { (void)fork(); }},
      {"fcntl_dupfd", [] { (void)fcntl(0, F_DUPFD, 0); }},
      {"kill_sigterm", [] { (void)kill(getpid(), SIGTERM); }},
      {"socket", [] { (void)socket(AF_UNIX, SOCK_STREAM, 0); }},
      {"pipe2", [] {
         int p[2];
         (void)pipe2(p, O_CLOEXEC);
       }},
      {"execve", [] {
         char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
         (void)execve("/bin/true", argv, environ);
       }},
  };
  for (const auto& [name, call] : forbidden) {
    const ChildResult r = RunChild([&](int) {
      if (!ConfineChild(spec_, *resident).ok()) return kConfineFailed;
      call();
      return 0;
    });
    EXPECT_EQ(Describe(r.status), KilledBy(SIGSYS)) << name << ": " << r.output;
  }
}

TEST(SeccompPolicyTest, TheResidentAdditionsAreFewAndNamed) {
  std::vector<std::string> names;
  for (const AllowedSyscall& entry : SeccompResidentAdditions()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"recvmsg", "sendmsg", "setitimer", "fcntl"}));
}

TEST(SeccompPolicyTest, TheLiveAdditionsAreFewAndNamed) {
  std::vector<std::string> names;
  for (const AllowedSyscall& entry : SeccompLiveAdditions()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"clone", "set_robust_list", "wait4", "recvmsg",
                                             "sendmsg", "pidfd_open", "pipe2", "setitimer"}));
}

// ---- each layer on its own -----------------------------------------------------

TEST_F(ConfinementTest, LandlockAloneDeniesTheOpenButNotTheSocket) {
  const ChildResult r = RunChild([&](int out) {
    Status s = SetNoNewPrivs();
    if (!s.ok()) return kConfineFailed;
    StatusOr<ConfinementReport> report = ApplyLandlock(spec_);
    if (!report.ok()) {
      Emit(out, "ApplyLandlock failed: %s\n", report.status().message().c_str());
      return kConfineFailed;
    }
    Emit(out, "sibling=%s\n", OpenOutcome(outside_ / "secret.txt", O_RDONLY));
    Emit(out, "passwd=%s\n", OpenOutcome("/etc/passwd", O_RDONLY));
    Emit(out, "rw=%s\n", OpenOutcome(rw_ / "existing.txt", O_RDWR));
    const int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    Emit(out, "socket=%s\n", Outcome(sock));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output, "sibling=EACCES\npasswd=EACCES\nrw=OK\nsocket=OK\n");
}

TEST_F(ConfinementTest, SeccompAloneKillsOnSocketButDoesNotConfinePaths) {
  const ChildResult r = RunChild([&](int out) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (!SetNoNewPrivs().ok() || !Seccomp().Apply().ok()) return kConfineFailed;
    Emit(out, "sibling=%s\n", OpenOutcome(outside_ / "secret.txt", O_RDONLY));
    Emit(out, "passwd=%s\n", OpenOutcome("/etc/passwd", O_RDONLY));
    (void)socket(AF_UNIX, SOCK_STREAM, 0);
    Emit(out, "survived\n");
    return 0;
  });
  EXPECT_EQ(Describe(r.status), KilledBy(SIGSYS)) << r.output;
  EXPECT_EQ(r.output, "sibling=OK\npasswd=OK\n");
}

// ---- rlimits -------------------------------------------------------------------

TEST_F(ConfinementTest, RlimitsAreSetAndEnforced) {
  spec_.cpu_seconds = 7;
  spec_.file_size_bytes = 4096;
  spec_.open_files = 16;
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    const struct {
      const char* name;
      int resource;
    } limits[] = {{"cpu", RLIMIT_CPU},
                  {"fsize", RLIMIT_FSIZE},
                  {"nofile", RLIMIT_NOFILE},
                  {"core", RLIMIT_CORE}};
    for (const auto& l : limits) {
      rlimit got{};
      if (getrlimit(l.resource, &got) != 0) return 1;
      Emit(out, "%s=%llu/%llu\n", l.name,
           static_cast<unsigned long long>(got.rlim_cur),
           static_cast<unsigned long long>(got.rlim_max));
    }
    struct sigaction xfsz {};
    sigaction(SIGXFSZ, nullptr, &xfsz);
    Emit(out, "sigxfsz=%s\n", xfsz.sa_handler == SIG_IGN ? "ignored" : "not ignored");

    // RLIMIT_FSIZE: up to the limit works, one byte past fails with EFBIG.
    const int fd = open((rw_ / "big.bin").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    static char block[4096];
    Emit(out, "write_4096=%zd\n", write(fd, block, sizeof block));
    const ssize_t past = write(fd, block, 1);
    Emit(out, "write_past=%s\n", Outcome(past));
    Emit(out, "pwrite_far=%s\n", Outcome(pwrite(fd, block, 1, 1 << 20)));
    Emit(out, "ftruncate_past=%s\n", Outcome(ftruncate(fd, 8192)));
    close(fd);

    // RLIMIT_NOFILE: descriptors up to 15 open, the next one fails.
    int highest = -1;
    int err = 0;
    for (int i = 0; i < 64; ++i) {
      const int f = open((rw_ / "existing.txt").c_str(), O_RDONLY | O_CLOEXEC);
      if (f < 0) {
        err = errno;
        break;
      }
      highest = f;
    }
    Emit(out, "highest_fd=%d open_error=%s\n", highest, strerrorname_np(err));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output,
            "cpu=7/8\n"
            "fsize=4096/4096\n"
            "nofile=16/16\n"
            "core=0/0\n"
            "sigxfsz=ignored\n"
            "write_4096=4096\n"
            "write_past=EFBIG\n"
            "pwrite_far=EFBIG\n"
            "ftruncate_past=EFBIG\n"
            "highest_fd=15 open_error=EMFILE\n");
  EXPECT_EQ(fs::file_size(rw_ / "big.bin"), 4096u);
}

TEST_F(ConfinementTest, CpuLimitEndsABusyChildWithSigxcpu) {
  spec_.cpu_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    Emit(out, "spinning\n");
    volatile uint64_t x = 0;
    for (;;) x = x + 1;
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(Describe(r.status), KilledBy(SIGXCPU)) << r.output;
  EXPECT_EQ(r.output, "spinning\n");
  EXPECT_LT(seconds, 20.0);  // 1 s of CPU; generous for a loaded machine
}

TEST_F(ConfinementTest, OneOpenFileStillConfinesBecausePathsAreOpenedFirst) {
  spec_.open_files = 1;
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    Emit(out, "passwd=%s\n", OpenOutcome("/etc/passwd", O_RDONLY));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  // The pipe is fd >= 3 and stays open; no new descriptor fits under 1.
  EXPECT_EQ(r.output, "passwd=EMFILE\n");
}

// ---- the work the WASI host and the engine do ----------------------------------

sigjmp_buf g_fault_jump;
char* g_alt_stack = nullptr;
size_t g_alt_stack_bytes = 0;
volatile sig_atomic_t g_handler_on_alt_stack = 0;
void* volatile g_fault_address = nullptr;

void LongjmpOnFault(int, siginfo_t* info, void*) {
  char local = 0;
  g_handler_on_alt_stack =
      &local >= g_alt_stack && &local < g_alt_stack + g_alt_stack_bytes;
  g_fault_address = info->si_addr;
  siglongjmp(g_fault_jump, 1);
}

// Makes the faulting page writable and returns (rt_sigreturn): the access
// is retried and succeeds.
void UnprotectOnFault(int, siginfo_t* info, void*) {
  const uintptr_t page = reinterpret_cast<uintptr_t>(info->si_addr) & ~uintptr_t{4095};
  mprotect(reinterpret_cast<void*>(page), 4096, PROT_READ | PROT_WRITE);
}

TEST_F(ConfinementTest, WasiHostAndEngineWorkSurvivesFullConfinement) {
  // This child faults on its main thread. Under ASan, leaving the fault
  // handler by siglongjmp makes ASan find the main thread's stack in
  // /proc/self/maps, which Landlock denies (a CHECK failure, then SIGSYS on
  // the symbolizer's pipe). Production runs the guest on a thread of its own
  // (the zygote's escape tests cover that path under ASan too).
  if (snakecage::testing::kUnderAddressSanitizer) GTEST_SKIP() << "main-thread fault under ASan";
  WriteFile(ro_ / "lib.py", "print('stdlib')\n");
  fs::create_directories(ro_ / "pkg");
  const ChildResult r = RunChild([&](int out) {
    int poll_pipe[2];
    if (pipe2(poll_pipe, O_CLOEXEC) != 0) return 2;
    const int dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);  // inherited, like stdout
    if (dev_null < 0) return 3;
    StatusOr<ConfinementReport> report = ConfineChild(spec_, Seccomp());
    if (!report.ok()) {
      Emit(out, "ConfineChild failed: %s\n", report.status().message().c_str());
      return kConfineFailed;
    }
    int step = 0;
#define STEP(ok, what)                                                   \
  do {                                                                   \
    ++step;                                                              \
    if (!(ok)) {                                                         \
      Emit(out, "FAIL %d %s: %s\n", step, what, strerrorname_np(errno)); \
      return 10 + step;                                                  \
    }                                                                    \
  } while (0)

    // Preopens and openat2 beneath them.
    const int ws = open(rw_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    STEP(ws >= 0, "open workspace");
    const int lib = open(ro_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    STEP(lib >= 0, "open read-only mount");
    STEP(mkdirat(ws, "sub", 0755) == 0, "mkdirat");
    open_how how{};
    how.flags = O_RDWR | O_CREAT | O_CLOEXEC;
    how.mode = 0644;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const int f = static_cast<int>(syscall(SYS_openat2, ws, "sub/file.txt", &how, sizeof how));
    STEP(f >= 0, "openat2 create beneath");
    open_how escape{};
    escape.flags = O_RDONLY | O_CLOEXEC;
    escape.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    STEP(syscall(SYS_openat2, ws, "../outside/secret.txt", &escape, sizeof escape) < 0 &&
             errno == EXDEV,
         "openat2 escape refused with EXDEV");
    const int ro_file = static_cast<int>(syscall(SYS_openat2, lib, "lib.py", &escape, sizeof escape));
    STEP(ro_file >= 0, "openat2 read-only file");

    // fd_write/fd_read/fd_pwrite/fd_pread/fd_seek/fd_tell.
    const char text[] = "hello, wasi";
    iovec wv[2] = {{const_cast<char*>(text), 5}, {const_cast<char*>(text + 5), 6}};
    STEP(writev(f, wv, 2) == 11, "writev");
    STEP(pwritev(f, wv, 1, 20) == 5, "pwritev");
    STEP(pwrite(f, "!", 1, 30) == 1, "pwrite");
    STEP(lseek(f, 0, SEEK_SET) == 0, "lseek");
    STEP(lseek(f, 0, SEEK_CUR) == 0, "lseek tell");
    char rbuf[64] = {};
    iovec rv[1] = {{rbuf, 11}};
    STEP(readv(f, rv, 1) == 11 && memcmp(rbuf, text, 11) == 0, "readv");
    rv[0].iov_len = 5;
    STEP(preadv(f, rv, 1, 20) == 5 && memcmp(rbuf, "hello", 5) == 0, "preadv");
    STEP(pread(f, rbuf, 1, 30) == 1 && rbuf[0] == '!', "pread");
    STEP(read(ro_file, rbuf, sizeof rbuf) == 16, "read read-only file");

    // fd_fdstat_set_flags, fd_filestat_*, fd_sync, fd_allocate, fd_advise.
    const int fl = fcntl(f, F_GETFL);
    STEP(fl >= 0, "fcntl F_GETFL");
    STEP(fcntl(f, F_SETFL, fl | O_APPEND) == 0, "fcntl F_SETFL");
    STEP(fcntl(f, F_GETFD) == FD_CLOEXEC, "fcntl F_GETFD");
    struct stat st {};
    STEP(fstat(f, &st) == 0 && st.st_size == 31, "fstat");
    STEP(fstatat(ws, "sub/file.txt", &st, AT_SYMLINK_NOFOLLOW) == 0, "fstatat");
    STEP(stat((rw_ / "existing.txt").c_str(), &st) == 0, "stat");
    struct statx stx {};
    STEP(statx(ws, "sub", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
             S_ISDIR(stx.stx_mode),
         "statx");
    struct statfs sfs {};
    STEP(fstatfs(f, &sfs) == 0, "fstatfs");
    STEP(ftruncate(f, 40) == 0, "ftruncate");
    STEP(fsync(f) == 0, "fsync");
    STEP(fdatasync(f) == 0, "fdatasync");
    STEP(posix_fallocate(f, 0, 8192) == 0, "posix_fallocate");
    STEP(posix_fadvise(f, 0, 0, POSIX_FADV_SEQUENTIAL) == 0, "posix_fadvise");
    const timespec times[2] = {{1, 0}, {2, 0}};
    STEP(futimens(f, times) == 0, "futimens");
    STEP(utimensat(ws, "sub/file.txt", times, AT_SYMLINK_NOFOLLOW) == 0, "utimensat");
    // The path resolver's AtTarget for "." or a followed link: an O_PATH
    // descriptor with AT_EMPTY_PATH.
    const int opath = openat(ws, "sub", O_PATH | O_CLOEXEC);
    STEP(opath >= 0, "openat O_PATH");
    STEP(fstatat(opath, "", &st, AT_EMPTY_PATH) == 0, "fstatat AT_EMPTY_PATH");
    STEP(utimensat(opath, "", times, AT_EMPTY_PATH) == 0, "utimensat AT_EMPTY_PATH");
    STEP(close(opath) == 0, "close");

    // path_* calls.
    STEP(symlinkat("file.txt", ws, "sub/link") == 0, "symlinkat");
    char target[64] = {};
    STEP(readlinkat(ws, "sub/link", target, sizeof target) == 8, "readlinkat");
    STEP(linkat(ws, "sub/file.txt", ws, "hard.txt", 0) == 0, "linkat");
    STEP(mkdirat(ws, "other", 0755) == 0, "mkdirat 2");
    STEP(renameat(ws, "hard.txt", ws, "other/hard.txt") == 0, "renameat");
    STEP(renameat2(ws, "other/hard.txt", ws, "sub/again.txt", RENAME_NOREPLACE) == 0,
         "renameat2");
    STEP(unlinkat(ws, "sub/again.txt", 0) == 0, "unlinkat");
    STEP(unlinkat(ws, "other", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR");
    STEP(faccessat(ws, "sub/file.txt", R_OK, 0) == 0, "faccessat");

    // fd_readdir: getdents64 directly and through glibc, std::filesystem.
    alignas(8) char dents[4096];
    STEP(lseek(lib, 0, SEEK_SET) == 0, "lseek dir");
    const long nd = syscall(SYS_getdents64, lib, dents, sizeof dents);
    STEP(nd > 0, "getdents64");
    DIR* dir = opendir(ro_.c_str());
    STEP(dir != nullptr, "opendir");
    int entries = 0;
    while (readdir(dir) != nullptr) ++entries;
    STEP(entries == 5, "readdir (., .., data.txt, lib.py, pkg)");
    STEP(closedir(dir) == 0, "closedir");
    int fs_entries = 0;
    for (const auto& e : fs::directory_iterator(rw_)) {
      (void)e;
      ++fs_entries;
    }
    STEP(fs_entries == 2, "std::filesystem::directory_iterator (existing.txt, sub)");

    // stdio to a regular file.
    FILE* log = fopen((rw_ / "log.txt").c_str(), "w");
    STEP(log != nullptr, "fopen");
    STEP(fprintf(log, "%d %s\n", 42, "lines") == 9, "fprintf");
    STEP(fclose(log) == 0, "fclose");

    // Linear memory: a large PROT_NONE reservation, grown by mprotect, reset
    // by madvise and by mmap(MAP_FIXED), released.
    const size_t reserve = size_t{8} << 30;
    char* mem = static_cast<char*>(mmap(nullptr, reserve, PROT_NONE,
                                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    STEP(mem != MAP_FAILED, "mmap 8 GiB PROT_NONE");
    STEP(mprotect(mem, 1 << 20, PROT_READ | PROT_WRITE) == 0, "mprotect grow");
    memset(mem, 7, 1 << 20);
    STEP(madvise(mem, 1 << 20, MADV_DONTNEED) == 0 && mem[100] == 0, "madvise");
    STEP(mmap(mem, 1 << 20, PROT_NONE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) == mem,
         "mmap MAP_FIXED reset");

    // The fault handler on an alternate stack; leaving by siglongjmp
    // (rt_sigprocmask) and by returning (rt_sigreturn).
    g_alt_stack_bytes = 64 * 1024;
    g_alt_stack = static_cast<char*>(mmap(nullptr, g_alt_stack_bytes, PROT_READ | PROT_WRITE,
                                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0));
    STEP(g_alt_stack != MAP_FAILED, "mmap alt stack");
    stack_t ss{};
    ss.ss_sp = g_alt_stack;
    ss.ss_size = g_alt_stack_bytes;
    STEP(sigaltstack(&ss, nullptr) == 0, "sigaltstack");
    struct sigaction sa {}, previous {};
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sa.sa_sigaction = LongjmpOnFault;
    STEP(sigaction(SIGSEGV, &sa, &previous) == 0, "sigaction SIGSEGV");
    volatile char* probe = mem + (size_t{4} << 30);
    if (sigsetjmp(g_fault_jump, 1) == 0) {
      *probe = 1;  // faults: PROT_NONE
      STEP(false, "the access should have faulted");
    }
    STEP(g_handler_on_alt_stack == 1 && g_fault_address == probe,
         "handler ran on the alternate stack for the faulting address");
    sa.sa_sigaction = UnprotectOnFault;
    STEP(sigaction(SIGSEGV, &sa, nullptr) == 0, "sigaction SIGSEGV 2");
    *probe = 9;  // faults, the handler unprotects, the store is retried
    STEP(*probe == 9, "handler returned (rt_sigreturn) and the store succeeded");
    STEP(sigaction(SIGSEGV, &previous, nullptr) == 0, "sigaction restore");
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    STEP(sigaltstack(&off, nullptr) == 0, "sigaltstack disable");
    STEP(munmap(g_alt_stack, g_alt_stack_bytes) == 0, "munmap alt stack");
    STEP(munmap(mem, reserve) == 0, "munmap reservation");

    // Clocks, sleeps, condition variable waits, yield, randomness.
    timespec ts{};
    for (clockid_t c : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                        CLOCK_THREAD_CPUTIME_ID}) {
      STEP(clock_gettime(c, &ts) == 0, "clock_gettime");
      STEP(clock_getres(c, &ts) == 0, "clock_getres");
    }
    timeval tv{};
    STEP(gettimeofday(&tv, nullptr) == 0, "gettimeofday");
    STEP(time(nullptr) > 0, "time");
    const timespec ms{0, 1'000'000};
    STEP(clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, nullptr) == 0, "clock_nanosleep");
    STEP(nanosleep(&ms, nullptr) == 0, "nanosleep");
    {
      std::mutex m;
      std::condition_variable cv;
      std::unique_lock<std::mutex> lock(m);
      const bool woke = cv.wait_until(lock, std::chrono::steady_clock::now() +
                                                std::chrono::milliseconds(5),
                                      [] { return false; });
      STEP(!woke, "condition_variable::wait_until (futex) times out");
      const bool woke_rt = cv.wait_until(lock, std::chrono::system_clock::now() +
                                                   std::chrono::milliseconds(5),
                                         [] { return false; });
      STEP(!woke_rt, "condition_variable::wait_until system_clock");
    }
    STEP(sched_yield() == 0, "sched_yield");
    unsigned char random[64];
    STEP(getrandom(random, sizeof random, 0) == 64, "getrandom");

    // poll_oneoff on a pipe: ppoll, then ioctl(FIONREAD).
    STEP(write(poll_pipe[1], "abc", 3) == 3, "write pipe");
    pollfd pfd{poll_pipe[0], POLLIN, 0};
    const timespec zero{0, 0};
    STEP(ppoll(&pfd, 1, &zero, nullptr) == 1 && (pfd.revents & POLLIN), "ppoll");
    STEP(poll(&pfd, 1, 0) == 1, "poll");
    int avail = 0;
    STEP(ioctl(poll_pipe[0], FIONREAD, &avail) == 0 && avail == 3, "ioctl FIONREAD");
    termios tio{};
    STEP(ioctl(poll_pipe[0], TCGETS, &tio) < 0 && errno == ENOTTY, "ioctl TCGETS (isatty)");

    // stdio's first buffered write to a character device asks isatty().
    FILE* dev = fdopen(dev_null, "w");
    STEP(dev != nullptr, "fdopen /dev/null");
    STEP(fprintf(dev, "discarded\n") == 10 && fflush(dev) == 0, "fprintf to a character device");
    STEP(fclose(dev) == 0, "fclose /dev/null");

    // malloc/free small and large, realloc (mremap), C++ containers.
    std::vector<void*> small;
    for (int i = 0; i < 10000; ++i) small.push_back(malloc(16 + i % 200));
    for (void* p : small) free(p);
    char* big = static_cast<char*>(malloc(size_t{64} << 20));
    STEP(big != nullptr, "malloc 64 MiB");
    memset(big, 1, size_t{64} << 20);
    big = static_cast<char*>(realloc(big, size_t{256} << 20));
    STEP(big != nullptr && big[(size_t{64} << 20) - 1] == 1, "realloc 256 MiB");
    free(big);
    void* zeroed = calloc(1, 1 << 20);
    STEP(zeroed != nullptr, "calloc");
    free(zeroed);
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "x";
    STEP(s.size() == 100000, "std::string growth");

    // Own limits and identity, read-only.
    rlimit stack{};
    STEP(getrlimit(RLIMIT_STACK, &stack) == 0, "getrlimit");
    STEP(getpid() > 0 && gettid() > 0, "getpid/gettid");

    STEP(close(f) == 0 && close(ro_file) == 0 && close(ws) == 0 && close(lib) == 0,
         "close all");
#undef STEP
    Emit(out, "ok after %d steps\n", step);
    return 0;  // _exit: exit_group
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  // 91 STEPs run once (the one after the faulting store never runs), the two
  // in the clock loop four times.
  EXPECT_EQ(r.output, "ok after 97 steps\n");
  EXPECT_EQ(ReadFile(rw_ / "log.txt"), "42 lines\n");
  EXPECT_EQ(fs::file_size(rw_ / "sub/file.txt"), 8192u);
  EXPECT_EQ(fs::read_symlink(rw_ / "sub/link"), "file.txt");
  EXPECT_FALSE(fs::exists(rw_ / "other"));
}

// The engine's prepare_thread() on the main thread calls
// pthread_getattr_np(), which reads /proc/self/maps: after confinement that
// read is refused, so it fails cleanly (no SIGSYS) and the stack bounds stay
// unknown. Call wasm_rt_init() in the zygote, before fork.
TEST_F(ConfinementTest, MainThreadStackQueryFailsCleanlyAfterConfinement) {
  const ChildResult r = RunChild([&](int out) {
    if (!Confine(spec_, out)) return kConfineFailed;
    pthread_attr_t attr;
    const int rc = pthread_getattr_np(pthread_self(), &attr);
    Emit(out, "pthread_getattr_np=%s\n", rc == 0 ? "OK" : strerrorname_np(rc));
    if (rc == 0) pthread_attr_destroy(&attr);
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output, "pthread_getattr_np=EACCES\n");
}

// ---- the Landlock report and ABI handling --------------------------------------

TEST_F(ConfinementTest, ReportNamesTheKernelAbiWhenLandlockApplies) {
  const int kernel_abi = KernelLandlockAbi();
  ASSERT_GE(kernel_abi, 1) << "this kernel has Landlock (ABI 7 expected)";
  const ChildResult r = RunChild([&](int out) {
    StatusOr<ConfinementReport> report = ConfineChild(spec_, Seccomp());
    if (!report.ok()) return kConfineFailed;
    Emit(out, "applied=%d abi=%d warning=[%s]\n", report->landlock_applied,
         report->landlock_abi, report->landlock_warning.c_str());
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output, "applied=1 abi=" + std::to_string(std::min(kernel_abi, 7)) +
                          " warning=[]\n");
}

int ProbeEnosys() { return -ENOSYS; }
int ProbeEopnotsupp() { return -EOPNOTSUPP; }
int ProbeEperm() { return -EPERM; }
int ProbeAbi1() { return 1; }

// Without Landlock: the report says so, paths are open to the child, and
// every other layer is unchanged (rlimits set, seccomp kills on socket).
void ExpectSkippedLandlock(const ConfinementSpec& spec,
                           const fs::path& outside, LandlockAbiProbe probe,
                           const std::string& expected_warning) {
  const ChildResult r = RunChild([&](int out) {
    StatusOr<ConfinementReport> report =
        ConfineChildWithLandlockProbe(spec, Seccomp(), probe);
    if (!report.ok()) {
      Emit(out, "failed: %s\n", report.status().message().c_str());
      return kConfineFailed;
    }
    Emit(out, "applied=%d abi=%d\nwarning=%s\n", report->landlock_applied,
         report->landlock_abi, report->landlock_warning.c_str());
    rlimit nofile{}, core{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_CORE, &core);
    Emit(out, "nofile=%llu core=%llu\n", static_cast<unsigned long long>(nofile.rlim_cur),
         static_cast<unsigned long long>(core.rlim_max));
    Emit(out, "sibling=%s\n", OpenOutcome(outside / "secret.txt", O_RDONLY));
    (void)socket(AF_UNIX, SOCK_STREAM, 0);
    Emit(out, "survived\n");
    return 0;
  });
  EXPECT_EQ(Describe(r.status), KilledBy(SIGSYS)) << r.output;
  EXPECT_EQ(r.output, "applied=0 abi=0\nwarning=" + expected_warning +
                          "\nnofile=64 core=0\nsibling=OK\n");
}

TEST_F(ConfinementTest, WithoutLandlockTheReportWarnsAndOtherLayersHold) {
  ExpectSkippedLandlock(
      spec_, outside_, &ProbeEnosys,
      "Landlock is unavailable (ENOSYS (Function not implemented): the kernel "
      "was built without Landlock); host filesystem access of the execution "
      "child is not confined by the kernel, only by the WASI host's path "
      "resolution (rlimits, no_new_privs and seccomp still apply)");
}

TEST_F(ConfinementTest, LandlockDisabledAtBootIsReportedToo) {
  ExpectSkippedLandlock(
      spec_, outside_, &ProbeEopnotsupp,
      "Landlock is unavailable (EOPNOTSUPP (Operation not supported): Landlock "
      "is disabled at boot; add it to the lsm= kernel parameter); host "
      "filesystem access of the execution child is not confined by the "
      "kernel, only by the WASI host's path resolution (rlimits, "
      "no_new_privs and seccomp still apply)");
}

TEST_F(ConfinementTest, AnotherLandlockProbeErrorFailsConfinement) {
  const ChildResult r = RunChild([&](int out) {
    StatusOr<ConfinementReport> report =
        ConfineChildWithLandlockProbe(spec_, Seccomp(), &ProbeEperm);
    if (report.ok()) return 0;
    Emit(out, "code=%d message=%s\n", static_cast<int>(report.status().code()),
         report.status().message().c_str());
    return 1;
  });
  EXPECT_EQ(Describe(r.status), Exited(1)) << r.output;
  EXPECT_EQ(r.output, "code=" + std::to_string(static_cast<int>(StatusCode::kInternal)) +
                          " message=Landlock ABI probe (landlock_create_ruleset "
                          "LANDLOCK_CREATE_RULESET_VERSION) failed: EPERM "
                          "(Operation not permitted)\n");
}

// At ABI 1 the REFER right does not exist (reparenting is always refused)
// and must be masked out of the rules, or landlock_add_rule fails.
TEST_F(ConfinementTest, AbiOneMasksReferAndRefusesReparenting) {
  fs::create_directories(rw_ / "a");
  fs::create_directories(rw_ / "b");
  WriteFile(rw_ / "a/f.txt", "f");
  const ChildResult r = RunChild([&](int out) {
    StatusOr<ConfinementReport> report =
        ConfineChildWithLandlockProbe(spec_, Seccomp(), &ProbeAbi1);
    if (!report.ok()) {
      Emit(out, "failed: %s\n", report.status().message().c_str());
      return kConfineFailed;
    }
    Emit(out, "applied=%d abi=%d\n", report->landlock_applied, report->landlock_abi);
    Emit(out, "same_dir_rename=%s\n",
         Outcome(rename((rw_ / "a/f.txt").c_str(), (rw_ / "a/g.txt").c_str())));
    Emit(out, "reparent=%s\n",
         Outcome(rename((rw_ / "a/g.txt").c_str(), (rw_ / "b/g.txt").c_str())));
    Emit(out, "passwd=%s\n", OpenOutcome("/etc/passwd", O_RDONLY));
    return 0;
  });
  EXPECT_EQ(Describe(r.status), Exited(0)) << r.output;
  EXPECT_EQ(r.output, "applied=1 abi=1\nsame_dir_rename=OK\nreparent=EXDEV\npasswd=EACCES\n");
}

// ---- bad specs fail before any restriction -------------------------------------

TEST_F(ConfinementTest, BadSpecsFailNamingTheFieldBeforeRestricting) {
  struct Case {
    std::function<void(ConfinementSpec&)> mutate;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ConfinementSpec& s) { s.cpu_seconds = 0; }, StatusCode::kInvalidArgument,
       "ConfinementSpec.cpu_seconds must be > 0"},
      {[](ConfinementSpec& s) { s.file_size_bytes = 0; }, StatusCode::kInvalidArgument,
       "ConfinementSpec.file_size_bytes must be > 0"},
      {[](ConfinementSpec& s) { s.open_files = 0; }, StatusCode::kInvalidArgument,
       "ConfinementSpec.open_files must be > 0"},
      {[](ConfinementSpec& s) { s.read_only_dirs.push_back("relative/dir"); },
       StatusCode::kInvalidArgument,
       "ConfinementSpec.read_only_dirs: \"relative/dir\" is not an absolute path"},
      {[&](ConfinementSpec& s) { s.read_write_dirs.push_back(tmp_.path() / "missing"); },
       StatusCode::kNotFound,
       "ConfinementSpec.read_write_dirs: cannot open \"" + (tmp_.path() / "missing").string() +
           "\": ENOENT (No such file or directory)"},
  };
  for (const Case& c : cases) {
    ConfinementSpec spec = spec_;
    c.mutate(spec);
    const ChildResult r = RunChild([&](int out) {
      StatusOr<ConfinementReport> report = ConfineChild(spec, Seccomp());
      if (report.ok()) return 0;
      Emit(out, "code=%d message=%s\n", static_cast<int>(report.status().code()),
           report.status().message().c_str());
      // Nothing was restricted: a socket still works, /etc/passwd opens, and
      // the limits are the parent's.
      rlimit core{};
      getrlimit(RLIMIT_NOFILE, &core);
      Emit(out, "socket=%s passwd=%s nofile_changed=%d\n",
           Outcome(socket(AF_UNIX, SOCK_STREAM, 0)), OpenOutcome("/etc/passwd", O_RDONLY),
           core.rlim_cur == spec_.open_files);
      return 1;
    });
    EXPECT_EQ(Describe(r.status), Exited(1)) << r.output;
    EXPECT_EQ(r.output, "code=" + std::to_string(static_cast<int>(c.code)) +
                            " message=" + c.message +
                            "\nsocket=OK passwd=OK nofile_changed=0\n");
  }
}

}  // namespace
}  // namespace snakecage::executor
