// executor/wire.h's decoder of what a child writes on its result pipe: the
// child is not trusted, so every input decodes to a result, an error that
// says why, or nothing.
#include "executor/wire.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace snakecage::executor {
namespace {

std::string ResultText(const ExecutionResult& r) {
  return nlohmann::ordered_json{{"result", ExecutionResultToJson(r)}}.dump();
}

TEST(ChildReportTest, AWholeResultDecodesToTheSameResult) {
  ExecutionResult r;
  r.stdout_text = "4\n";
  r.exit_code = 3;
  r.fuel_consumed = 399110;
  r.trap_reason = TrapReason::kOutOfFuel;
  r.trapped = true;
  r.path_denials = {{"path_open", "/etc/passwd"}};
  ChildReport report = DecodeChildReport(ResultText(r));
  ASSERT_TRUE(report.result.has_value());
  EXPECT_FALSE(report.error.has_value());
  EXPECT_EQ(ExecutionResultToJson(*report.result), ExecutionResultToJson(r));
}

TEST(ChildReportTest, ASaveCellsStateComesWithItsResultAndMustBeBase64) {
  ExecutionResult r;
  r.state_dropped = {"Point", "gen"};
  nlohmann::ordered_json j{{"result", ExecutionResultToJson(r)}, {"saved_state", "AAEC/w=="}};
  ChildReport report = DecodeChildReport(j.dump());
  ASSERT_TRUE(report.result.has_value());
  EXPECT_EQ(report.result->state_dropped, (std::vector<std::string>{"Point", "gen"}));
  EXPECT_EQ(report.saved_state, std::string("\x00\x01\x02\xff", 4));
  j["saved_state"] = "not base64!";
  ChildReport bad = DecodeChildReport(j.dump());
  EXPECT_FALSE(bad.result.has_value());
  ASSERT_TRUE(bad.error.has_value());
  EXPECT_EQ(bad.error->message(), "executor: the execution's process sent a malformed saved_state");
}

// The fuzz target's seeds that hold a whole result must still decode to one:
// a field added to the wire without them would leave the fuzzer starting
// from malformed results only.
TEST(ChildReportTest, TheFuzzSeedsOfWholeResultsDecode) {
  for (const char* name : {"result_ok", "result_trapped", "saved_state"}) {
    std::ifstream in(std::string(SNAKECAGE_CHILD_REPORT_CORPUS) + "/" + name);
    ASSERT_TRUE(in) << name;
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    ChildReport report = DecodeChildReport(bytes);
    EXPECT_TRUE(report.result.has_value())
        << name << ": " << (report.error ? report.error->message() : "nothing");
  }
}

TEST(ChildReportTest, AnErrorAlwaysSaysWhyAndKeepsOnlyNotFound) {
  ChildReport missing = DecodeChildReport(R"({"error":"workspace gone","code":"not_found"})");
  ASSERT_TRUE(missing.error.has_value());
  EXPECT_EQ(missing.error->code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.error->message(), "workspace gone");
  // Any other code the child claims is a host failure.
  ChildReport claimed = DecodeChildReport(R"({"error":"x","code":"invalid_argument"})");
  ASSERT_TRUE(claimed.error.has_value());
  EXPECT_EQ(claimed.error->code(), StatusCode::kInternal);
  // Found by fuzz/fuzz_child_report: an empty message reached the caller.
  ChildReport empty = DecodeChildReport(R"({"error":"","code":"not_found"})");
  ASSERT_TRUE(empty.error.has_value());
  EXPECT_EQ(empty.error->message(), "executor: the execution's process failed without saying why");
}

TEST(ChildReportTest, ValuesOutOfTheirFieldsRangeAreMalformedNotUndefined) {
  ExecutionResult r;
  std::string text = ResultText(r);
  const std::string field = "\"exit_code\":0";
  ASSERT_NE(text.find(field), std::string::npos);
  for (const char* bad : {"1e300", "4294967296", "\"0\"", "-1.5"}) {
    std::string changed = text;
    changed.replace(changed.find(field), field.size(), std::string("\"exit_code\":") + bad);
    ChildReport report = DecodeChildReport(changed);
    EXPECT_FALSE(report.result.has_value()) << bad;
    ASSERT_TRUE(report.error.has_value()) << bad;
    EXPECT_EQ(report.error->code(), StatusCode::kInternal);
    EXPECT_NE(report.error->message().find("exit_code"), std::string::npos)
        << report.error->message();
  }
}

TEST(ChildReportTest, NothingOrACutOffReportIsNeither) {
  for (const std::string& text : {std::string(), std::string("{\"result\":{\"stdout_text\":\"4"),
                                 std::string("\xff\xfe"), std::string("[1,2]")}) {
    ChildReport report = DecodeChildReport(text);
    EXPECT_FALSE(report.result.has_value());
    EXPECT_FALSE(report.error.has_value());
  }
}

}  // namespace
}  // namespace snakecage::executor
