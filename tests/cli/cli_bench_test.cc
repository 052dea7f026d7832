// `snakecage bench` as a user runs it: the JSON it prints, the table, and
// its flag errors. Timings are never asserted, only that each was measured.
#include <sstream>
#include <string>

#include "cli_fixture.h"
#include "common/sanitizers.h"

namespace {

using namespace snakecage::cli_test;  // NOLINT
using nlohmann::ordered_json;

constexpr char kNativePython[] = "/usr/bin/python3.11";

// `key` holds a number > 0.
void ExpectPositive(const ordered_json& j, const std::string& key) {
  ASSERT_TRUE(j.contains(key)) << "no key " << key << " in " << j.dump();
  EXPECT_TRUE(j[key].is_number()) << key << ": " << j[key].dump();
  if (j[key].is_number()) EXPECT_GT(j[key].get<double>(), 0) << key;
}

// `key` holds {"median": >0, "p99": >= median} (p99 only when `with_p99`).
void ExpectLatency(const ordered_json& j, const std::string& key, bool with_p99 = true) {
  ASSERT_TRUE(j.contains(key) && j[key].is_object()) << key << " in " << j.dump();
  ExpectPositive(j[key], "median");
  if (!with_p99) return;
  ExpectPositive(j[key], "p99");
  EXPECT_GE(j[key]["p99"].get<double>(), j[key]["median"].get<double>()) << key;
}

TEST_F(CliTest, BenchJsonHasEveryMeasure) {
  Outcome o = Cli({"bench", "--json", "--executions", "50", "--threads", "2"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.err, "");
  // Exactly one JSON object on one line.
  ASSERT_FALSE(o.out.empty());
  EXPECT_EQ(o.out.find('\n'), o.out.size() - 1) << o.out;
  ordered_json j = ordered_json::parse(o.out);
  ASSERT_TRUE(j.is_object());

  EXPECT_EQ(j["executions"], 50);
  EXPECT_EQ(j["threads"], 2);
  ExpectLatency(j, "latency_ms");
  ExpectLatency(j, "import_latency_ms");
  ExpectLatency(j, "cold_ms", /*with_p99=*/false);
  ExpectLatency(j, "cold_cli_run_ms");
  ExpectLatency(j["zygote_start_ms"], "snapshot");
  ExpectLatency(j["zygote_start_ms"], "without_snapshot");
  // Each run's time in the child is part of its time around Executor::Run.
  for (const char* key : {"latency", "import_latency", "fresh_child_latency"}) {
    const std::string total = std::string(key) + "_ms";
    const std::string in_child = std::string(key) + "_in_child_ms";
    ExpectLatency(j, in_child);
    EXPECT_LE(j[in_child]["median"].get<double>(), j[total]["median"].get<double>()) << key;
    EXPECT_LE(j[in_child]["p99"].get<double>(), j[total]["p99"].get<double>()) << key;
  }
  // Through the servers, end to end: each includes an execution.
  for (const char* key : {"http_fresh_session_ms", "http_existing_session_ms", "mcp_stdio_ms"}) {
    ExpectLatency(j, key);
    EXPECT_GT(j[key]["median"].get<double>(), j["latency_in_child_ms"]["median"].get<double>())
        << key;
  }
  ExpectLatency(j, "kept_state_restore_100_globals_ms");
  ExpectLatency(j, "kept_state_evict_100_globals_ms");
  // Each run's time in the cell's process is part of its time around Run.
  for (const char* kind : {"commit", "same_code_commit", "rollback"}) {
    const std::string total = std::string("kept_state_") + kind + "_ms";
    const std::string in_child = std::string("kept_state_") + kind + "_in_child_ms";
    ExpectLatency(j, total.c_str());
    ExpectLatency(j, in_child.c_str());
    EXPECT_LE(j[in_child]["median"].get<double>(), j[total]["median"].get<double>()) << kind;
  }
  const ordered_json& idle = j["idle_live_interpreter_private_bytes"];
  ExpectPositive(idle, "empty_state");
  // The 10 MB list is the state's own: the interpreter holds at least it.
  EXPECT_GE(idle["with_10mb_list"].get<uint64_t>(),
            idle["empty_state"].get<uint64_t>() + 10'000'000);
  ExpectPositive(j, "executions_per_second");
  ExpectPositive(j, "private_memory_bytes");
  ExpectPositive(j, "pss_bytes");
  ExpectPositive(j, "zygote_rss_bytes");
  // Learned from the zygote's probe (page_warming.h); under ASan it teaches
  // no warm set (executor_test says why).
  if (!snakecage::testing::kUnderAddressSanitizer) ExpectPositive(j, "warm_pages");
  ASSERT_TRUE(j["private_memory_bytes"].is_number_unsigned());
  ASSERT_TRUE(j["zygote_rss_bytes"].is_number_unsigned());
  // A child shares the zygote's pages until it writes them.
  EXPECT_LT(j["private_memory_bytes"].get<uint64_t>(), j["zygote_rss_bytes"].get<uint64_t>());
  EXPECT_LE(j["private_memory_bytes"].get<uint64_t>(), j["pss_bytes"].get<uint64_t>());

  const double warm = j["latency_ms"]["median"].get<double>();
  const double cold = j["cold_ms"]["median"].get<double>();
  ASSERT_TRUE(j["ratios"].is_object());
  if (fs::exists(kNativePython)) {
    ExpectLatency(j, "native_subprocess_ms");
    const double native = j["native_subprocess_ms"]["median"].get<double>();
    ASSERT_TRUE(j["ratios"]["warm_vs_native_median"].is_number());
    ASSERT_TRUE(j["ratios"]["cold_vs_native_median"].is_number());
    EXPECT_NEAR(j["ratios"]["warm_vs_native_median"].get<double>(), warm / native, 1e-9);
    EXPECT_NEAR(j["ratios"]["cold_vs_native_median"].get<double>(), cold / native, 1e-9);
  } else {
    EXPECT_TRUE(j["native_subprocess_ms"].is_null());
    EXPECT_TRUE(j["ratios"]["warm_vs_native_median"].is_null());
    EXPECT_TRUE(j["native_note"].is_string());
  }

  // The targets say what the numbers say.
  const ordered_json& t = j["targets"];
  ASSERT_TRUE(t.is_object()) << j.dump();
  EXPECT_EQ(t["warm_median_le_0.5ms"], warm <= 0.5);
  EXPECT_EQ(t["warm_p99_le_1.5ms"], j["latency_ms"]["p99"].get<double>() <= 1.5);
  EXPECT_EQ(t["cold_cli_run_median_le_15ms"], j["cold_cli_run_ms"]["median"].get<double>() <= 15.0);
  EXPECT_EQ(t["executions_per_second_ge_2000"],
            j["executions_per_second"].get<double>() >= 2000.0);
  EXPECT_EQ(t["private_memory_le_4mb"], j["private_memory_bytes"].get<uint64_t>() <= 4'000'000);
  EXPECT_EQ(t["http_fresh_session_median_le_1ms"],
            j["http_fresh_session_ms"]["median"].get<double>() <= 1.0);
  EXPECT_EQ(t["http_existing_session_median_le_0.8ms"],
            j["http_existing_session_ms"]["median"].get<double>() <= 0.8);
  EXPECT_EQ(t["mcp_stdio_median_le_1ms"], j["mcp_stdio_ms"]["median"].get<double>() <= 1.0);
  EXPECT_EQ(t["kept_state_commit_median_le_1ms"],
            j["kept_state_commit_ms"]["median"].get<double>() <= 1.0);
  EXPECT_EQ(t["kept_state_rollback_le_commit"],
            j["kept_state_rollback_ms"]["median"].get<double>() <=
                j["kept_state_commit_ms"]["median"].get<double>());
  EXPECT_EQ(t["idle_live_interpreter_le_2mb_above_its_state"],
            idle["empty_state"].get<uint64_t>() <= 2'000'000 &&
                idle["with_10mb_list"].get<uint64_t>() <= 12'000'000);
  if (fs::exists(kNativePython)) {
    const double native = j["native_subprocess_ms"]["median"].get<double>();
    EXPECT_NEAR(j["ratios"]["cold_cli_run_vs_native_median"].get<double>(),
                j["cold_cli_run_ms"]["median"].get<double>() / native, 1e-9);
    EXPECT_NEAR(j["ratios"]["mcp_stdio_vs_native_median"].get<double>(),
                j["mcp_stdio_ms"]["median"].get<double>() / native, 1e-9);
    EXPECT_NEAR(j["ratios"]["fresh_child_vs_native_median"].get<double>(),
                j["fresh_child_latency_ms"]["median"].get<double>() / native, 1e-9);
    for (const char* kind : {"commit", "same_code_commit", "rollback"}) {
      const std::string key = std::string("kept_state_") + kind;
      EXPECT_NEAR(j["ratios"][key + "_vs_native_median"].get<double>(),
                  j[key + "_ms"]["median"].get<double>() / native, 1e-9)
          << kind;
    }
  }

  EXPECT_TRUE(fs::is_empty(dir_ / "tmp")) << "the bench left its workspaces behind";
}

TEST_F(CliTest, BenchTableNamesEveryMeasureAndTarget) {
  Outcome o = Cli({"bench", "--executions", "3", "--threads", "1", "--native-runs", "3",
                   "--cold-runs", "1", "--memory-samples", "1"});
  ASSERT_EQ(o.status, 0) << o.err;
  for (const char* row :
       {"print(2+2), warm executor, median", "print(2+2), warm executor, p99",
        "of which in the child, median", "import json, re, datetime, warm, median",
        "print(2+2), fresh child each run, median", "print(2+2), fresh child each run, p99",
        "executions/s, 1 threads",
        "private memory of one execution", "its Pss", "its zygote's Rss",
        "print(2+2), cold RunPython(), median", "<= 0.5 ms", "<= 1.5 ms", "<= 1 ms", ">= 2000 /s", "<= 4 MB",
        "print(2+2), HTTP /v1/execute, fresh session, median",
        "print(2+2), HTTP /v1/execute, existing session, median",
        "print(2+2), MCP tools/call over stdio, median", "<= 0.8 ms",
        "x += 1, kept state, committed, median",
        "x += 1; SystemExit(0), kept state, committed, median",
        "x += 1; SystemExit(1), kept state, rolled back, median",
        "idle live interpreter, empty state, private memory", "holding a 10 MB list",
        "kept state of 100 globals, saved and dropped, median",
        "then restored by the next execution, median",
        "snakecage run -c 'print(2+2)', median", "<= 15 ms",
        "zygote start + first execution, from the snapshot, median",
        "starting the interpreter instead, median"}) {
    EXPECT_NE(o.out.find(row), std::string::npos) << "no \"" << row << "\" in\n" << o.out;
  }
  // Each target row says met or NOT MET.
  size_t verdicts = 0;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.ends_with(" met") || line.ends_with(" NOT MET")) ++verdicts;
  }
  EXPECT_EQ(verdicts, 12u) << o.out;
}

TEST_F(CliTest, BenchBadCountsAreUsageErrors) {
  ExpectUsageError({"bench", "--executions", "0"}, "--executions");
  ExpectUsageError({"bench", "--executions", "abc"}, "--executions");
  ExpectUsageError({"bench", "--threads", "0"}, "--threads");
  ExpectUsageError({"bench", "--threads", "100000"}, "--threads");
  ExpectUsageError({"bench", "--json", "--memory-samples", "-1"}, "--memory-samples");
}

}  // namespace
