#include "cli/cli_args.h"

#include <gtest/gtest.h>

namespace snakecage::cli {
namespace {

TEST(ParseSizeTest, BytesAndPowerOf1024Suffixes) {
  EXPECT_EQ(*ParseSize("--memory", "4096"), 4096u);
  EXPECT_EQ(*ParseSize("--memory", "64K"), 65536u);
  EXPECT_EQ(*ParseSize("--memory", "64k"), 65536u);
  EXPECT_EQ(*ParseSize("--memory", "128M"), 134217728u);
  EXPECT_EQ(*ParseSize("--memory", "2G"), 2147483648u);
}

TEST(ParseSizeTest, RefusesGarbageZeroAndOverflowNamingTheFlag) {
  for (const char* bad : {"", "M", "12X", "1.5M", "-1", "0", "0K", "12 M", "99999999999999999999",
                          "17179869184G"}) {
    auto r = ParseSize("--stdout-max", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("--stdout-max: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

TEST(ParsePositiveIntegerTest, Fuel) {
  EXPECT_EQ(*ParsePositiveInteger("--fuel", "1"), 1u);
  EXPECT_EQ(*ParsePositiveInteger("--fuel", "5000000000"), 5000000000u);
  EXPECT_FALSE(ParsePositiveInteger("--fuel", "0").ok());
  EXPECT_FALSE(ParsePositiveInteger("--fuel", "1e9").ok());
  EXPECT_FALSE(ParsePositiveInteger("--fuel", "-5").ok());
  EXPECT_FALSE(ParsePositiveInteger("--fuel", "").ok());
}

TEST(ParseSecondsTest, FractionsAllowedNegativesNot) {
  EXPECT_DOUBLE_EQ(*ParseSeconds("--timeout", "2"), 2.0);
  EXPECT_DOUBLE_EQ(*ParseSeconds("--timeout", "0.25"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseSeconds("--timeout", "0"), 0.0);
  EXPECT_FALSE(ParseSeconds("--timeout", "-1").ok());
  EXPECT_FALSE(ParseSeconds("--timeout", "inf").ok());
  EXPECT_FALSE(ParseSeconds("--timeout", "nan").ok());
  EXPECT_FALSE(ParseSeconds("--timeout", "2s").ok());
}

TEST(ParseEnvAssignmentTest, SplitsAtTheFirstEquals) {
  auto kv = ParseEnvAssignment("--env", "A=b=c");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "A");
  EXPECT_EQ(kv->second, "b=c");
  EXPECT_EQ(ParseEnvAssignment("--env", "EMPTY=")->second, "");
  EXPECT_FALSE(ParseEnvAssignment("--env", "NOEQUALS").ok());
  EXPECT_FALSE(ParseEnvAssignment("--env", "=value").ok());
}

TEST(ParseMountTest, HostGuestAndReadOnlyMode) {
  auto m = ParseMount("--mount", "/srv/ref:/ref");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->host, "/srv/ref");
  EXPECT_EQ(m->guest, "/ref");
  EXPECT_EQ(ParseMount("--mount", "/srv/ref:/ref:ro")->guest, "/ref");
  auto rw = ParseMount("--mount", "/srv/ref:/ref:rw");
  ASSERT_FALSE(rw.ok());
  EXPECT_NE(rw.status().message().find("read-only"), std::string::npos);
  EXPECT_FALSE(ParseMount("--mount", "/srv/ref").ok());
  EXPECT_FALSE(ParseMount("--mount", ":/ref").ok());
  EXPECT_FALSE(ParseMount("--mount", "/srv/ref:").ok());
}


}  // namespace
}  // namespace snakecage::cli
