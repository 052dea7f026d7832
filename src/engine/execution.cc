// RunPython() and its halves: the cold path, one execution in this process.
//
//   1. StageUserCode: check the workspace exists (the policy was validated
//      when built), write the code to <workspace>/user_code.py (never
//      through a symlink);
//   2. RunStagedCode: build the execution's context (WASI host from the
//      policy, a thread Watchdog for the timeout) and run the guest on a
//      thread with a large stack (guest_runner.h), serialised by a
//      process-wide lock. Start-up is shown StartupArgv/StartupEnv, the
//      user's code the whole argv and environment (engine/startup.h). When
//      the installation has a start-up snapshot for the policy's start-up
//      (startup_snapshot.h), the guest resumes from it instead of starting:
//      the same result and fuel, about 30 ms sooner.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>

#include "engine/guest_runner.h"
#include "engine/startup.h"
#include "engine/startup_key.h"
#include "engine/startup_snapshot.h"
#include "engine/watchdog.h"
#include "snakecage/execution.h"

namespace snakecage {
namespace {

std::mutex& EngineMutex() {
  static std::mutex mu;
  return mu;
}

// The workspace must exist when the guest runs; the policy was validated
// when it was built, but the directory may have gone since.
Status CheckWorkspace(const ExecutionPolicy& policy) {
  std::error_code ec;
  if (!std::filesystem::is_directory(policy.mount_host_dir(), ec)) {
    return NotFound("mount_host_dir: not an existing directory: " +
                    policy.mount_host_dir().string());
  }
  return Status::Ok();
}

// Opens user_code.py in `dir` for writing the new code: the file already
// there when it is a regular file of its own (so the inode is reused: on
// ext4 without a journal every new inode is a search past the recently
// deleted ones), else a new file. Never writes through a hard link or a
// symlink the guest left at that name. Returns the descriptor or -errno.
int OpenUserCode(int dir) {
  const char* const kUserCode = kUserCodeFileName.data();  // a literal: NUL-terminated
  int fd = openat(dir, kUserCode, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) return fd;
    close(fd);
  }
  if (unlinkat(dir, kUserCode, 0) != 0 && errno != ENOENT) return -errno;
  fd = openat(dir, kUserCode, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd >= 0 ? fd : -errno;
}

Status WriteUserCode(const std::filesystem::path& workspace, std::string_view code) {
  int dir = open(workspace.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0) {
    return Internal("mount_host_dir: cannot open " + workspace.string() + ": " +
                    std::strerror(errno));
  }
  const int fd = OpenUserCode(dir);
  close(dir);
  if (fd < 0) {
    return Internal("cannot write " + (workspace / kUserCodeFileName).string() + ": " +
                    std::strerror(-fd));
  }
  // Written over from the start, then cut to its length: truncating a file
  // to zero first would make ext4 start its writeback on close, which the
  // next execution's truncation would wait for.
  size_t off = 0;
  while (off < code.size()) {
    ssize_t n = pwrite(fd, code.data() + off, code.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      close(fd);
      return Internal("cannot write user_code.py: " + std::string(std::strerror(saved)));
    }
    off += static_cast<size_t>(n);
  }
  if (ftruncate(fd, static_cast<off_t>(code.size())) != 0) {
    const int saved = errno;
    close(fd);
    return Internal("cannot write user_code.py: " + std::string(std::strerror(saved)));
  }
  close(fd);
  return Status::Ok();
}

}  // namespace

Status StageUserCode(std::string_view code, const ExecutionPolicy& policy) {
  if (Status s = CheckWorkspace(policy); !s.ok()) return s;
  return WriteUserCode(policy.mount_host_dir(), code);
}

StatusOr<ExecutionResult> RunPython(std::string_view code, const ExecutionPolicy& policy) {
  if (Status s = StageUserCode(code, policy); !s.ok()) return s;
  return RunStagedCode(policy);
}

StatusOr<ExecutionResult> RunStagedCode(const ExecutionPolicy& policy) {
  if (Status s = CheckWorkspace(policy); !s.ok()) return s;

  std::lock_guard<std::mutex> engine_lock(EngineMutex());
  std::unique_ptr<TimeoutGuard> watchdog;
  if (policy.timeout_seconds()) watchdog = std::make_unique<Watchdog>();
  StatusOr<std::unique_ptr<ExecutionContext>> ctx =
      ExecutionContext::Create(policy, std::move(watchdog), std::chrono::steady_clock::now());
  if (!ctx.ok()) return ctx.status();

  // Start-up sees only what start-up reads (as in a zygote), the user's
  // code everything.
  (*ctx)->host().SetArgvAndEnv(StartupArgv(policy), StartupEnv(policy));
  const BeginHandler show_everything = [](ExecutionContext& current, uint64_t*) {
    current.host().SetArgvAndEnv(current.policy().argv(), current.policy().env());
    return &current;
  };
  // Mapped, not read: one execution touches a fraction of its pages. No
  // snapshot (another start-up, a build without one) means a start-up.
  std::optional<StartupSnapshot> snapshot;
  if (StatusOr<StartupSnapshot> found = OpenInstalledStartupSnapshot(StartupKeyFor(policy));
      found.ok()) {
    snapshot = std::move(*found);
    snapshot->load = StartupSnapshot::Load::kMap;
  }
  std::optional<StatusOr<ExecutionResult>> result;
  Status thread = RunOnGuestThread([&] {
    result = RunGuest(**ctx, show_everything, AfterRun::kFreeInstance, nullptr,
                      snapshot ? &*snapshot : nullptr);
  });
  if (!thread.ok()) return thread;
  return std::move(*result);
}

}  // namespace snakecage
