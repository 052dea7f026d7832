// Real wasm32-wasi guests (wasi-libc), translated by wasm2c, run against the
// shims with WABT's runtime: the ABI as wasi-libc uses it, end to end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "all_imports.h"
#include "fake_guest.h"
#include "fs_guest.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_imports.h"
#include "wasm-rt-impl.h"

namespace snakecage::wasi {
namespace {

using testing::Denial;
using testing::MakeHost;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class WasiGuestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { wasm_rt_init(); }
};

// Runs `start` on an instantiated module; returns the wasm_rt trap code
// (WASM_RT_TRAP_NONE when _start returned normally).
template <typename Instance>
wasm_rt_trap_t RunStart(void (*start)(Instance*), Instance* instance) {
  wasm_rt_trap_t code = static_cast<wasm_rt_trap_t>(wasm_rt_impl_try());
  if (code == WASM_RT_TRAP_NONE) start(instance);
  return code;
}

TEST_F(WasiGuestTest, AllImportsReachTheHostWithTheRightAnswers) {
  WasiConfig c;
  c.argv = {"x"};
  auto host = MakeHost(c);
  ASSERT_NE(host, nullptr);
  Z_all_imports_instance_t module;
  Z_wasi_snapshot_preview1_instance_t wasi{host.get(),
                                           Z_all_importsZ_memory(&module)};
  Z_all_imports_init_module();
  Z_all_imports_instantiate(&module, &wasi);
  const wasm_rt_trap_t code = RunStart(Z_all_importsZ_run, &module);
  EXPECT_EQ(code, WASM_RT_TRAP_UNREACHABLE);  // proc_exit unwinds
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit);
  // 0: every call answered as expected; 100 + i: call i did not.
  EXPECT_EQ(host->unwind()->exit_code, 0u);
  Z_all_imports_free(&module);
}

TEST_F(WasiGuestTest, LibcProgramUsesFilesMountsAndTime) {
  TempDir ws, data;
  WriteFile(data / "input.txt", "from the host\n");
  ASSERT_EQ(::symlink("/etc/passwd", (ws / "evil").c_str()), 0);
  WasiConfig c;
  c.argv = {"guest", "hello"};
  c.env = {{"FOO", "bar"}};
  c.preopens = {{ws.path(), "/app", false}, {data.path(), "/data", true}};
  std::vector<Denial> denials;
  auto host = MakeHost(c, &denials);
  ASSERT_NE(host, nullptr);

  Z_fs_guest_instance_t module;
  Z_wasi_snapshot_preview1_instance_t wasi{host.get(),
                                           Z_fs_guestZ_memory(&module)};
  Z_fs_guest_init_module();
  Z_fs_guest_instantiate(&module, &wasi);
  const wasm_rt_trap_t code = RunStart(Z_fs_guestZ__start, &module);
  EXPECT_EQ(code, WASM_RT_TRAP_UNREACHABLE);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit)
      << host->unwind()->message;
  EXPECT_EQ(host->unwind()->exit_code, 3u);

  EXPECT_EQ(host->stdout_sink().data(),
            "argc=2 argv0=guest argv1=hello\n"
            "FOO=bar HOME=(unset)\n"
            "app read: written by guest\n"
            "data read: from the host\n"
            "data create: -1 EROFS\n"
            "data unlink: -1 EROFS\n"
            "data truncate: -1 EROFS\n"
            "escape dotdot: -1 ENOTCAPABLE\n"
            "escape symlink: -1 ENOTCAPABLE\n"
            "mkdir: 0\n"
            "rename: 0\n"
            "stat: 0 size=17 regular=1\n"
            "symlink: 0 readlink=moved.txt\n"
            "via link: written by guest\n"
            "rename to data: -1 EROFS\n"
            "list /app: evil sub\n"
            "list /app/sub: link moved.txt\n"
            "list /data: input.txt\n"
            "slept at least 20ms: yes\n");
  EXPECT_EQ(host->stderr_sink().data(), "to stderr\n");
  EXPECT_EQ(denials, (std::vector<Denial>{{"path_open", "../etc/passwd"},
                                         {"path_open", "evil"}}));
  // What the guest did is on the host, beneath the workspace only.
  EXPECT_EQ(ReadFile(ws / "sub" / "moved.txt"), "written by guest\n");
  EXPECT_EQ(ReadFile(data / "input.txt"), "from the host\n");
  EXPECT_FALSE(std::filesystem::exists(data / "new.txt"));
  Z_fs_guest_free(&module);
}

}  // namespace
}  // namespace snakecage::wasi
