#include "common/temp_dir.h"
#include "snakecage/telemetry.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/iso_time.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

using snakecage::testing::TempDir;

std::vector<std::string> ReadLines(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---- wire names ----------------------------------------------------------------

TEST(TelemetryEventTest, WireNamesAreTheGoldenList) {
  const std::vector<std::string> golden = {
      "execution.start",          "execution.complete",       "session.created",
      "session.retrieved",        "session.deleted",          "session.file.list",
      "session.file.read",        "session.file.write",       "session.file.delete",
      "session.metadata.created", "session.metadata.updated", "session.prune.started",
      "session.prune.candidate",  "session.prune.deleted",    "session.prune.skipped",
      "session.prune.error",      "session.prune.completed",  "security.path_denied",
      "executor.landlock_unavailable",
  };
  std::vector<std::string> actual;
#define SNAKECAGE_X(e, wire) actual.emplace_back(TelemetryEventName(TelemetryEvent::e));
  SNAKECAGE_TELEMETRY_EVENTS(SNAKECAGE_X)
#undef SNAKECAGE_X
  EXPECT_EQ(actual, golden);
  ASSERT_EQ(actual.size(), 19u);
  // Enumerators are numbered in list order.
  EXPECT_EQ(TelemetryEventName(static_cast<TelemetryEvent>(17)), "security.path_denied");
  EXPECT_EQ(TelemetryEventName(TelemetryEvent::kSessionPruneCandidate), "session.prune.candidate");
}

TEST(TelemetryEventTest, LevelNames) {
  EXPECT_EQ(LogLevelName(LogLevel::kDebug), "debug");
  EXPECT_EQ(LogLevelName(LogLevel::kInfo), "info");
  EXPECT_EQ(LogLevelName(LogLevel::kWarning), "warning");
  EXPECT_EQ(LogLevelName(LogLevel::kError), "error");
}

// ---- the line ------------------------------------------------------------------

const std::regex kTsPrefix(R"re(^\{"ts":"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)",)re");

// The line with its timestamp value replaced by "TS".
std::string WithoutTs(const std::string& line) {
  return std::regex_replace(line, kTsPrefix, R"({"ts":"TS",)",
                            std::regex_constants::format_first_only);
}

TEST(FormatTelemetryLineTest, GoldenShapeAndKeyOrder) {
  nlohmann::ordered_json fields;
  fields["session_id"] = "s1";
  fields["path"] = "dir/a.txt";
  fields["bytes"] = 5;
  fields["overwrite"] = true;
  const std::string line = FormatTelemetryLine(LogLevel::kInfo, "snakecage.session",
                                               TelemetryEvent::kSessionFileWrite, fields);
  EXPECT_TRUE(std::regex_search(line, kTsPrefix)) << line;
  EXPECT_EQ(WithoutTs(line), R"({"ts":"TS","level":"info","logger":"snakecage.session",)"
                             R"("event":"session.file.write","session_id":"s1","path":"dir/a.txt",)"
                             R"("bytes":5,"overwrite":true})");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(FormatTelemetryLineTest, FieldsKeepTheirOrderNotAlphabetical) {
  nlohmann::ordered_json fields;
  fields["zeta"] = 1;
  fields["alpha"] = nullptr;
  fields["mid"] = nlohmann::ordered_json::array({1, "x"});
  const std::string line = FormatTelemetryLine(LogLevel::kError, "snakecage.sandbox",
                                               TelemetryEvent::kExecutionComplete, fields);
  EXPECT_EQ(WithoutTs(line),
            R"({"ts":"TS","level":"error","logger":"snakecage.sandbox",)"
            R"("event":"execution.complete","zeta":1,"alpha":null,"mid":[1,"x"]})");
}

TEST(FormatTelemetryLineTest, EmptyFieldsGiveTheEnvelopeOnly) {
  const std::string line =
      FormatTelemetryLine(LogLevel::kDebug, "snakecage.sandbox", TelemetryEvent::kExecutionStart,
                          nlohmann::ordered_json::object());
  EXPECT_EQ(
      WithoutTs(line),
      R"({"ts":"TS","level":"debug","logger":"snakecage.sandbox","event":"execution.start"})");
}

TEST(FormatTelemetryLineTest, EnvelopeKeysInFieldsAreRenamedNotOverwritten) {
  nlohmann::ordered_json fields;
  fields["event"] = "spoofed";
  fields["ts"] = "spoofed";
  fields["ok"] = 1;
  const std::string line = FormatTelemetryLine(LogLevel::kWarning, "snakecage.security",
                                               TelemetryEvent::kSecurityPathDenied, fields);
  EXPECT_EQ(
      WithoutTs(line),
      R"({"ts":"TS","level":"warning","logger":"snakecage.security",)"
      R"("event":"security.path_denied","field_event":"spoofed","field_ts":"spoofed","ok":1})");
}

TEST(FormatTelemetryLineTest, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::ordered_json fields;
  fields["path"] = std::string(
      "a\xff"
      "b");
  std::string line;
  ASSERT_NO_THROW(line = FormatTelemetryLine(LogLevel::kInfo, "snakecage.session",
                                             TelemetryEvent::kSessionFileRead, fields));
  EXPECT_NE(line.find("\"path\":\"a\xEF\xBF\xBD"
                      "b\""),
            std::string::npos)
      << line;
}

TEST(FormatTelemetryLineTest, TimestampIsNowInUtc) {
  const auto before = system_clock::now();
  const std::string line = FormatTelemetryLine(
      LogLevel::kInfo, "x", TelemetryEvent::kExecutionStart, nlohmann::ordered_json::object());
  const auto after = system_clock::now();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, kTsPrefix)) << line;
  const auto ts = telemetry::ParseIsoUtcText(m[1].str());
  ASSERT_TRUE(ts.has_value());
  EXPECT_GE(*ts, std::chrono::floor<std::chrono::microseconds>(before));
  EXPECT_LE(*ts, after);
}

// ---- timestamps ------------------------------------------------------------------

TEST(IsoTimeTest, FormatGolden) {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 11 / 26} + hours{6} + minutes{40} + seconds{1} +
                 microseconds{123456} + nanoseconds{999};
  EXPECT_EQ(telemetry::FormatIsoUtcMicros(system_clock::time_point{
                duration_cast<system_clock::duration>(t.time_since_epoch())}),
            "2026-11-26T06:40:01.123456Z");
  EXPECT_EQ(telemetry::FormatIsoUtcMicros(system_clock::time_point{}),
            "1970-01-01T00:00:00.000000Z");
  // Before the epoch: floored, not truncated toward zero.
  EXPECT_EQ(telemetry::FormatIsoUtcMicros(system_clock::time_point{} - microseconds{1}),
            "1969-12-31T23:59:59.999999Z");
}

TEST(IsoTimeTest, ParseAcceptsAndRejects) {
  using namespace std::chrono;
  const auto base = system_clock::time_point{sys_days{year{2026} / 11 / 26}.time_since_epoch()} +
                    hours{6} + minutes{40} + seconds{1};
  EXPECT_EQ(telemetry::ParseIsoUtcText("2026-11-26T06:40:01Z"), base);
  EXPECT_EQ(telemetry::ParseIsoUtcText("2026-11-26T06:40:01.5Z"), base + milliseconds{500});
  EXPECT_EQ(telemetry::ParseIsoUtcText("2026-11-26T06:40:01.123456Z"), base + microseconds{123456});
  for (const char* bad : {"", "2026-11-26T06:40:01", "2026-11-26 06:40:01Z", "2026-02-30T00:00:00Z",
                          "2026-11-26T24:00:00Z", "2026-11-26T06:60:01Z", "2026-11-26T06:40:01.Z",
                          "2026-11-26T06:40:01.1234567890Z", "2026-11-26T06:40:01+00:00",
                          "2026-1-26T06:40:01Z", "x026-11-26T06:40:01Z"}) {
    EXPECT_FALSE(telemetry::ParseIsoUtcText(bad).has_value()) << bad;
  }
}

// ---- JsonLinesLogger -------------------------------------------------------------

TEST(JsonLinesLoggerTest, WritesOneLinePerEventWithMode0600) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  const mode_t old_umask = ::umask(022);
  auto logger = JsonLinesLogger::Open(file);
  ::umask(old_umask);
  ASSERT_TRUE(logger.ok()) << logger.status().message();
  nlohmann::ordered_json f;
  f["session_id"] = "abc";
  (*logger)->Log(LogLevel::kInfo, "snakecage.session", TelemetryEvent::kSessionCreated, f);
  (*logger)->Log(LogLevel::kInfo, "snakecage.session", TelemetryEvent::kSessionRetrieved, f);
  logger->reset();

  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      WithoutTs(lines[0]),
      R"({"ts":"TS","level":"info","logger":"snakecage.session","event":"session.created","session_id":"abc"})");
  EXPECT_EQ(
      WithoutTs(lines[1]),
      R"({"ts":"TS","level":"info","logger":"snakecage.session","event":"session.retrieved","session_id":"abc"})");
}

TEST(JsonLinesLoggerTest, AppendsToExistingContent) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  { std::ofstream(file) << "previous line\n"; }
  auto logger = JsonLinesLogger::Open(file);
  ASSERT_TRUE(logger.ok());
  (*logger)->Log(LogLevel::kInfo, "l", TelemetryEvent::kExecutionStart,
                 nlohmann::ordered_json::object());
  const auto lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "previous line");
  EXPECT_EQ(WithoutTs(lines[1]),
            R"({"ts":"TS","level":"info","logger":"l","event":"execution.start"})");
}

TEST(JsonLinesLoggerTest, MissingDirectoryIsNotFoundNamingThePath) {
  TempDir dir;
  const fs::path file = dir.path() / "no-such-dir" / "events.jsonl";
  auto logger = JsonLinesLogger::Open(file);
  ASSERT_FALSE(logger.ok());
  EXPECT_EQ(logger.status().code(), StatusCode::kNotFound);
  EXPECT_NE(logger.status().message().find(file.string()), std::string::npos)
      << logger.status().message();
}

TEST(JsonLinesLoggerTest, DescriptorIsCloseOnExec) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  auto logger = JsonLinesLogger::Open(file);
  ASSERT_TRUE(logger.ok());
  // Find our descriptor among /proc/self/fd by its target.
  bool found = false;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(entry.path(), ec) != file) continue;
    const int fd = std::stoi(entry.path().filename().string());
    const int flags = ::fcntl(fd, F_GETFD);
    EXPECT_NE(flags & FD_CLOEXEC, 0);
    const int fl = ::fcntl(fd, F_GETFL);
    EXPECT_NE(fl & O_APPEND, 0);
    found = true;
  }
  EXPECT_TRUE(found);
}

// Two processes with two threads each append large lines to one file at
// the same time; every line must come out whole and every event once.
TEST(JsonLinesLoggerTest, ConcurrentAppendsFromProcessesAndThreadsNeverInterleave) {
  TempDir dir;
  const fs::path file = dir.path() / "events.jsonl";
  constexpr int kProcesses = 2, kThreads = 2, kEvents = 300;
  const std::string payload(6000, 'p');  // lines bigger than a pipe buffer page

  const auto run_writer = [&](int process) {
    auto logger = JsonLinesLogger::Open(file);
    if (!logger.ok()) return false;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEvents; ++i) {
          nlohmann::ordered_json f;
          f["writer"] = process * kThreads + t;
          f["seq"] = i;
          f["payload"] = payload;
          (*logger)->Log(LogLevel::kInfo, "snakecage.test", TelemetryEvent::kExecutionStart, f);
        }
      });
    }
    for (auto& th : threads) th.join();
    return true;
  };

  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) ::_exit(run_writer(p) ? 0 : 1);
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }

  const auto lines = ReadLines(file);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kProcesses * kThreads * kEvents));
  std::map<int, int> next_seq;
  for (const std::string& line : lines) {
    const auto j = nlohmann::ordered_json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line.substr(0, 200);
    ASSERT_EQ(j["payload"], payload);
    const int writer = j["writer"].get<int>();
    // Each writer's events appear in the order it logged them.
    EXPECT_EQ(j["seq"].get<int>(), next_seq[writer]++);
  }
  ASSERT_EQ(next_seq.size(), static_cast<size_t>(kProcesses * kThreads));
  for (const auto& [writer, count] : next_seq) EXPECT_EQ(count, kEvents) << writer;
}

// ---- RecordingLogger / NullLogger -----------------------------------------------

TEST(RecordingLoggerTest, KeepsEverythingInOrderAndFilters) {
  RecordingLogger rec;
  nlohmann::ordered_json a;
  a["n"] = 1;
  nlohmann::ordered_json b;
  b["n"] = 2;
  rec.Log(LogLevel::kInfo, "snakecage.session", TelemetryEvent::kSessionCreated, a);
  rec.Log(LogLevel::kWarning, "snakecage.security", TelemetryEvent::kSecurityPathDenied, b);
  rec.Log(LogLevel::kInfo, "snakecage.session", TelemetryEvent::kSessionCreated, b);
  const auto all = rec.records();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].level, LogLevel::kWarning);
  EXPECT_EQ(all[1].logger, "snakecage.security");
  EXPECT_EQ(all[1].event, TelemetryEvent::kSecurityPathDenied);
  EXPECT_EQ(all[1].fields, b);
  const auto created = rec.records(TelemetryEvent::kSessionCreated);
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].fields["n"], 1);
  EXPECT_EQ(created[1].fields["n"], 2);
  EXPECT_TRUE(rec.records(TelemetryEvent::kExecutionStart).empty());
}

TEST(RecordingLoggerTest, ConcurrentLogsAreAllKept) {
  RecordingLogger rec;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        rec.Log(LogLevel::kDebug, "x", TelemetryEvent::kExecutionStart,
                nlohmann::ordered_json::object());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(rec.records().size(), 4000u);
}

}  // namespace
}  // namespace snakecage
