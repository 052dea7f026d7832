// The extern "C" shims: forwarding, and the unwind through wasm_rt_trap.
#include <gtest/gtest.h>

#include <chrono>

#include "fake_guest.h"
#include "fake_trap.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_imports.h"

namespace snakecage::wasi {
namespace {

using testing::FakeGuest;
using testing::MakeHost;

// What one shim call did.
struct ShimCall {
  bool trapped = false;
  wasm_rt_trap_t code = WASM_RT_TRAP_NONE;
  uint32_t result = 0;
};

// Context for the trampoline; plain data only (the longjmp skips frames).
struct Ctx {
  Z_wasi_snapshot_preview1_instance_t* instance;
  uint32_t (*call)(Z_wasi_snapshot_preview1_instance_t*, uint32_t*);
  uint32_t* args;
  uint32_t result;
};

ShimCall RunShim(Z_wasi_snapshot_preview1_instance_t* instance,
             uint32_t (*call)(Z_wasi_snapshot_preview1_instance_t*, uint32_t*),
             uint32_t* args) {
  Ctx ctx{instance, call, args, 0};
  ShimCall out;
  out.trapped = RunCatchingTrap(
                    [](void* p) {
                      auto* c = static_cast<Ctx*>(p);
                      c->result = c->call(c->instance, c->args);
                    },
                    &ctx, &out.code) != 0;
  out.result = ctx.result;
  return out;
}

uint32_t FdWrite(Z_wasi_snapshot_preview1_instance_t* i, uint32_t* a) {
  return Z_wasi_snapshot_preview1Z_fd_write(i, a[0], a[1], a[2], a[3]);
}
uint32_t ProcExit(Z_wasi_snapshot_preview1_instance_t* i, uint32_t* a) {
  Z_wasi_snapshot_preview1Z_proc_exit(i, a[0]);
  return 0xabcdef;  // never reached: proc_exit always unwinds
}
uint32_t ArgsSizesGet(Z_wasi_snapshot_preview1_instance_t* i, uint32_t* a) {
  return Z_wasi_snapshot_preview1Z_args_sizes_get(i, a[0], a[1]);
}
uint32_t PathOpen(Z_wasi_snapshot_preview1_instance_t* i, uint32_t* a) {
  return Z_wasi_snapshot_preview1Z_path_open(i, 3, 1, a[0], a[1], 0,
                                             ~uint64_t{0}, ~uint64_t{0}, 0,
                                             a[2]);
}

TEST(WasiShimTest, ForwardsAndReturnsTheErrno) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), g.raw()};
  const uint32_t buf = g.Put("hi!");
  uint32_t args[4] = {1, g.PutIovecs({{buf, 3}}), 1, g.Alloc(4)};
  ShimCall c = RunShim(&inst, FdWrite, args);
  EXPECT_FALSE(c.trapped);
  EXPECT_EQ(c.result, abi::kSuccess);
  EXPECT_EQ(g.Load<uint32_t>(args[3]), 3u);
  EXPECT_EQ(host->stdout_sink().data(), "hi!");
  args[0] = 77;  // no such fd: an errno, not a trap
  c = RunShim(&inst, FdWrite, args);
  EXPECT_FALSE(c.trapped);
  EXPECT_EQ(c.result, abi::kBadf);
}

TEST(WasiShimTest, BadPointerTrapsThroughWasmRtTrap) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), g.raw()};
  uint32_t args[4] = {1, 0xfffffff8u, 2, g.Alloc(4)};
  const ShimCall c = RunShim(&inst, FdWrite, args);
  EXPECT_TRUE(c.trapped);
  EXPECT_EQ(c.code, WASM_RT_TRAP_UNREACHABLE);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kMemoryOutOfBounds);
  EXPECT_EQ(host->unwind()->message.rfind("fd_write: ", 0), 0u);
}

TEST(WasiShimTest, ProcExitTrapsAndRecordsTheCode) {
  auto host = MakeHost(WasiConfig{});
  FakeGuest g;
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), g.raw()};
  uint32_t args[1] = {7};
  const ShimCall c = RunShim(&inst, ProcExit, args);
  EXPECT_TRUE(c.trapped);
  EXPECT_EQ(c.code, WASM_RT_TRAP_UNREACHABLE);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit);
  EXPECT_EQ(host->unwind()->exit_code, 7u);
  // First cause wins: a later bad pointer still unwinds but keeps exit(7).
  uint32_t bad[2] = {0xffffffffu, 0};
  const ShimCall later = RunShim(&inst, ArgsSizesGet, bad);
  EXPECT_TRUE(later.trapped);
  EXPECT_EQ(host->unwind()->kind, Unwind::Kind::kExit);
  EXPECT_EQ(host->unwind()->exit_code, 7u);
}

TEST(WasiShimTest, DeadlinePassedTrapsWithTimeout) {
  WasiConfig c;
  c.deadline = std::chrono::steady_clock::now();
  auto host = MakeHost(c);
  FakeGuest g;
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), g.raw()};
  uint32_t args[2] = {g.Alloc(4), g.Alloc(4)};
  const ShimCall r = RunShim(&inst, ArgsSizesGet, args);
  EXPECT_TRUE(r.trapped);
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kTimeout);
}

TEST(WasiShimTest, MissingMemoryIsAHostErrorTrap) {
  auto host = MakeHost(WasiConfig{});
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), nullptr};
  uint32_t args[2] = {0, 4};
  const ShimCall r = RunShim(&inst, ArgsSizesGet, args);
  EXPECT_TRUE(r.trapped);
  ASSERT_TRUE(host->unwind().has_value());
  EXPECT_EQ(host->unwind()->trap_reason, TrapReason::kHostError);
  EXPECT_EQ(host->unwind()->message,
            "args_sizes_get: guest memory not attached");
}

TEST(WasiShimTest, PathDeniedReachesTheCallbackThroughTheShim) {
  testing::TempDir ws;
  WasiConfig c;
  c.preopens = {{ws.path(), "/app", false}};
  std::vector<testing::Denial> denials;
  auto host = MakeHost(c, &denials);
  FakeGuest g;
  Z_wasi_snapshot_preview1_instance_t inst{host.get(), g.raw()};
  uint32_t args[3] = {g.Put("../../etc/shadow"), 16, g.Alloc(4)};
  const ShimCall r = RunShim(&inst, PathOpen, args);
  EXPECT_FALSE(r.trapped);
  EXPECT_EQ(r.result, abi::kNotcapable);
  EXPECT_EQ(denials,
            (std::vector<testing::Denial>{{"path_open", "../../etc/shadow"}}));
}

}  // namespace
}  // namespace snakecage::wasi
