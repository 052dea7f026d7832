// A wasm32-wasi module that imports all 46 wasi_snapshot_preview1 functions.
//
// Built with -nostartfiles and exported as `run`. wasm2c's header for it is
// compiled next to src/wasi/wasi_imports.h (signature_check.cc), and the
// guest test links and runs it against the real shims: every call reaches
// the host and returns the errno the host must give for the arguments below
// (fd 1000 is never open). `run` ends with proc_exit(0) when every answer
// was right, else proc_exit(100 + index of the first wrong answer).
#include <stdint.h>
#include <string.h>
#include <wasi/api.h>

// proc_raise is no longer declared by wasi-libc's api.h but is still part
// of wasi_snapshot_preview1.
__wasi_errno_t raw_proc_raise(uint32_t sig)
    __attribute__((__import_module__("wasi_snapshot_preview1"),
                   __import_name__("proc_raise")));

static int index_;
static int first_wrong_ = -1;

static void expect(int got, int want) {
  if (got != want && first_wrong_ < 0) first_wrong_ = index_;
  ++index_;
}

__attribute__((export_name("run"))) void run(void) {
  enum { kBad = 1000 };
  uint8_t* ptrs[8];
  uint8_t buf[256];
  __wasi_size_t n1 = 0, n2 = 0;
  __wasi_timestamp_t t = 0;
  __wasi_fdstat_t fdstat;
  __wasi_filestat_t filestat;
  __wasi_prestat_t prestat;
  __wasi_iovec_t iov = {buf, sizeof(buf)};
  __wasi_ciovec_t ciov = {buf, 1};
  __wasi_filesize_t pos = 0;
  __wasi_fd_t fd = 0;
  __wasi_roflags_t roflags = 0;
  __wasi_subscription_t sub;
  __wasi_event_t ev;
  memset(&sub, 0, sizeof(sub));
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = 0;

  expect(__wasi_args_sizes_get(&n1, &n2), 0);
  expect(n1 <= 8 && n2 <= sizeof(buf) ? __wasi_args_get(ptrs, buf) : -1, 0);
  expect(__wasi_environ_sizes_get(&n1, &n2), 0);
  expect(n1 <= 8 && n2 <= sizeof(buf) ? __wasi_environ_get(ptrs, buf) : -1, 0);
  expect(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &t), 0);
  expect(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t), 0);
  expect(__wasi_fd_advise(kBad, 0, 0, __WASI_ADVICE_NORMAL), __WASI_ERRNO_BADF);
  expect(__wasi_fd_allocate(kBad, 0, 1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_close(kBad), __WASI_ERRNO_BADF);
  expect(__wasi_fd_datasync(kBad), __WASI_ERRNO_BADF);
  expect(__wasi_fd_fdstat_get(kBad, &fdstat), __WASI_ERRNO_BADF);
  expect(__wasi_fd_fdstat_set_flags(kBad, 0), __WASI_ERRNO_BADF);
  expect(__wasi_fd_fdstat_set_rights(kBad, 0, 0), __WASI_ERRNO_BADF);
  expect(__wasi_fd_filestat_get(kBad, &filestat), __WASI_ERRNO_BADF);
  expect(__wasi_fd_filestat_set_size(kBad, 0), __WASI_ERRNO_BADF);
  expect(__wasi_fd_filestat_set_times(kBad, 0, 0, 0), __WASI_ERRNO_BADF);
  expect(__wasi_fd_pread(kBad, &iov, 1, 0, &n1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_prestat_get(kBad, &prestat), __WASI_ERRNO_BADF);
  expect(__wasi_fd_prestat_dir_name(kBad, buf, 8), __WASI_ERRNO_BADF);
  expect(__wasi_fd_pwrite(kBad, &ciov, 1, 0, &n1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_read(kBad, &iov, 1, &n1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_readdir(kBad, buf, sizeof(buf), 0, &n1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_renumber(kBad, kBad + 1), __WASI_ERRNO_BADF);
  expect(__wasi_fd_seek(kBad, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_BADF);
  expect(__wasi_fd_sync(kBad), __WASI_ERRNO_BADF);
  expect(__wasi_fd_tell(kBad, &pos), __WASI_ERRNO_BADF);
  expect(__wasi_fd_write(kBad, &ciov, 1, &n1), __WASI_ERRNO_BADF);
  expect(__wasi_path_create_directory(kBad, "d"), __WASI_ERRNO_BADF);
  expect(__wasi_path_filestat_get(kBad, 0, "f", &filestat), __WASI_ERRNO_BADF);
  expect(__wasi_path_filestat_set_times(kBad, 0, "f", 0, 0, 0),
         __WASI_ERRNO_BADF);
  expect(__wasi_path_link(kBad, 0, "a", kBad, "b"), __WASI_ERRNO_BADF);
  expect(__wasi_path_open(kBad, 0, "f", 0, 0, 0, 0, &fd), __WASI_ERRNO_BADF);
  expect(__wasi_path_readlink(kBad, "l", buf, sizeof(buf), &n1),
         __WASI_ERRNO_BADF);
  expect(__wasi_path_remove_directory(kBad, "d"), __WASI_ERRNO_BADF);
  expect(__wasi_path_rename(kBad, "a", kBad, "b"), __WASI_ERRNO_BADF);
  expect(__wasi_path_symlink("a", kBad, "b"), __WASI_ERRNO_BADF);
  expect(__wasi_path_unlink_file(kBad, "f"), __WASI_ERRNO_BADF);
  expect(__wasi_poll_oneoff(&sub, &ev, 1, &n1), 0);
  expect(n1 == 1 && ev.type == __WASI_EVENTTYPE_CLOCK ? 0 : -1, 0);
  expect(raw_proc_raise(2), __WASI_ERRNO_NOTSUP);
  expect(__wasi_sched_yield(), 0);
  expect(__wasi_random_get(buf, sizeof(buf)), 0);
  expect(__wasi_sock_accept(kBad, 0, &fd), __WASI_ERRNO_NOTSUP);
  expect(__wasi_sock_recv(kBad, &iov, 1, 0, &n1, &roflags),
         __WASI_ERRNO_NOTSUP);
  expect(__wasi_sock_send(kBad, &ciov, 1, 0, &n1), __WASI_ERRNO_NOTSUP);
  expect(__wasi_sock_shutdown(kBad, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSUP);
  __wasi_proc_exit(first_wrong_ < 0 ? 0 : 100 + first_wrong_);
}
