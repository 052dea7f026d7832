// Runs the snakecage-fuel-meter binary as a subprocess on files made here.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuel/fuel_instrumenter.h"
#include "fuel_test_util.h"

extern char** environ;

namespace snakecage::fuel {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct ToolRun {
  int exit_status = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

class FuelMeterToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "fuel-tool-XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
  }

  // Runs the tool with `args`, stdout and stderr captured in files.
  ToolRun Run(const std::vector<std::string>& args) {
    const fs::path out_path = dir_ / "stdout.txt";
    const fs::path err_path = dir_ / "stderr.txt";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv_storage = {SNAKECAGE_FUEL_METER_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_storage) argv.push_back(arg.data());
    argv.push_back(nullptr);

    ToolRun run;
    pid_t pid = 0;
    const int spawn_error =
        posix_spawn(&pid, SNAKECAGE_FUEL_METER_PATH, &actions, nullptr,
                    argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawn_error, 0);
    if (spawn_error != 0) return run;
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) run.exit_status = WEXITSTATUS(status);
    run.out = ReadText(out_path);
    run.err = ReadText(err_path);
    return run;
  }

  fs::path dir_;
};

TEST_F(FuelMeterToolTest, InstrumentsAFileAndTheOutputValidatesAndRuns) {
  // loop body: local.get, i32.const, i32.add, local.tee, local.get,
  // i32.lt_s, br_if = 7 per iteration, 3 iterations => 21;
  // after the loop: local.get 1 => 22.
  const std::vector<uint8_t> wasm = testing::WatToWasm(R"wat(
    (module
      (func (export "run") (param $n i32) (result i32) (local $i i32)
        loop $l
          local.get $i
          i32.const 1
          i32.add
          local.tee $i
          local.get $n
          i32.lt_s
          br_if $l
        end
        local.get $i))
  )wat");
  ASSERT_FALSE(wasm.empty());
  const fs::path in = dir_ / "in.wasm";
  const fs::path out = dir_ / "out.wasm";
  WriteBytes(in, wasm);

  ToolRun run = Run({in.string(), out.string()});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_THAT(run.out, StartsWith("snakecage-fuel-meter: "));
  // One function; charges: loop header 7 and the tail 1; checks: entry and
  // the loop header.
  EXPECT_THAT(run.out, HasSubstr("1 functions instrumented, 2 charge points, "
                                 "2 checks"));
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 1);

  const std::string bytes = ReadText(out);
  const std::vector<uint8_t> output(bytes.begin(), bytes.end());
  EXPECT_EQ(testing::ValidationErrors(output), "");
  testing::FuelRunner runner(output);
  ASSERT_TRUE(runner.ok());
  testing::RunResult result = runner.Call("run", {3}, 1000);
  EXPECT_FALSE(result.trapped) << result.trap_message;
  EXPECT_EQ(result.consumed, 22);
}

TEST_F(FuelMeterToolTest, GarbageInputFailsWithAMessage) {
  const fs::path in = dir_ / "garbage.wasm";
  const fs::path out = dir_ / "out.wasm";
  WriteBytes(in, {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02});
  ToolRun run = Run({in.string(), out.string()});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.err, HasSubstr("garbage.wasm"));
  EXPECT_THAT(run.err, HasSubstr("not a WebAssembly binary module"));
  EXPECT_EQ(run.out, "");
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(FuelMeterToolTest, AlreadyInstrumentedInputFails) {
  const fs::path in = dir_ / "in.wasm";
  WriteBytes(
      in, testing::WatToWasm("(module (global (export \"snakecage_fuel\") i64 "
                             "(i64.const 0)))"));
  ToolRun run = Run({in.string(), (dir_ / "out.wasm").string()});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.err, HasSubstr("already exports \"snakecage_fuel\""));
}

TEST_F(FuelMeterToolTest, MissingInputFileFails) {
  ToolRun run =
      Run({(dir_ / "nope.wasm").string(), (dir_ / "out.wasm").string()});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.err, HasSubstr("cannot open input file"));
  EXPECT_THAT(run.err, HasSubstr("nope.wasm"));
}

TEST_F(FuelMeterToolTest, WrongArgumentCountPrintsUsage) {
  ToolRun run = Run({"only-one.wasm"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("usage:"));
}

}  // namespace
}  // namespace snakecage::fuel
