// Session ids (CheckSessionId, NewSessionId) and the metadata time format.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "session_test_util.h"
#include "snakecage/session.h"

namespace snakecage {
namespace {

struct IdCase {
  std::string id;
  bool valid_any;   // CheckSessionId(id, /*allow_non_uuid=*/true)
  bool valid_uuid;  // CheckSessionId(id, /*allow_non_uuid=*/false)
};

TEST(CheckSessionIdTest, Table) {
  const std::vector<IdCase> cases = {
      {"a", true, false},
      {"my-session_1.v2", true, false},
      {std::string(128, 'x'), true, false},
      {"...", true, false},
      {".hidden", true, false},
      {"0f8e2c1a-5b7d-4e3f-9a1b-2c3d4e5f6a7b", true, true},
      {"00000000-0000-0000-0000-000000000000", true, true},
      {"0F8E2C1A-5B7D-4E3F-9A1B-2C3D4E5F6A7B", true, false},  // upper case
      {"0f8e2c1a5b7d4e3f9a1b2c3d4e5f6a7b", true, false},      // no dashes
      {"0f8e2c1a-5b7d-4e3f-9a1b-2c3d4e5f6a7", true, false},   // 35 chars
      {"0f8e2c1a-5b7d-4e3f-9a1b-2c3d4e5f6a7g", true, false},  // 'g'
      {"0f8e2c1a-5b7d4-e3f-9a1b-2c3d4e5f6a7b", true, false},  // dash moved
      {"", false, false},
      {".", false, false},
      {"..", false, false},
      {std::string(129, 'x'), false, false},
      {"a/b", false, false},
      {"a b", false, false},
      {"a\\b", false, false},
      {"caf\xc3\xa9", false, false},  // non-ASCII (UTF-8 e-acute)
      {std::string("a\0b", 3), false, false},
      {"a\n", false, false},
      {"+staging-1", false, false},
      {"/abs", false, false},
      {"a:b", false, false},
  };
  for (const IdCase& c : cases) {
    const Status any = CheckSessionId(c.id, true);
    const Status uuid = CheckSessionId(c.id, false);
    EXPECT_EQ(any.ok(), c.valid_any) << "id " << c.id << ": " << any.message();
    EXPECT_EQ(uuid.ok(), c.valid_uuid) << "id " << c.id << ": " << uuid.message();
    if (!any.ok()) EXPECT_EQ(any.code(), StatusCode::kInvalidArgument);
    if (!uuid.ok()) EXPECT_EQ(uuid.code(), StatusCode::kInvalidArgument);
  }
}

TEST(CheckSessionIdTest, MessageQuotesTheId) {
  EXPECT_EQ(CheckSessionId("a b").message(),
            "session id \"a b\" is invalid: use 1-128 characters of [A-Za-z0-9._-], not \".\" or "
            "\"..\"");
  EXPECT_EQ(CheckSessionId("caf\xc3\xa9").message().substr(0, 28),
            "session id \"caf\\xc3\\xa9\" is ");
  EXPECT_EQ(CheckSessionId("abc", false).message(),
            "session id \"abc\" is not a canonical lower-case UUID (8-4-4-4-12 hex digits)");
}

TEST(NewSessionIdTest, IsAVersion4UuidAndValid) {
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = NewSessionId();
    ASSERT_TRUE(std::regex_match(id, uuid4)) << id;
    ASSERT_TRUE(CheckSessionId(id, false).ok()) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(IsoUtcTest, FormatAndParseRoundTrip) {
  testing::FakeClock clock;
  const auto t = clock.now() + std::chrono::microseconds{123456};
  EXPECT_EQ(FormatIsoUtc(t), "2026-11-26T06:40:01.123456Z");
  EXPECT_EQ(ParseIsoUtc("2026-11-26T06:40:01.123456Z"), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-26T06:40:01Z"), clock.now());
  EXPECT_FALSE(ParseIsoUtc("2026-11-26T06:40:01").has_value());
  EXPECT_FALSE(ParseIsoUtc("yesterday").has_value());
  // Sub-microsecond parts are dropped by the format.
  EXPECT_EQ(FormatIsoUtc(t + std::chrono::nanoseconds{999}), "2026-11-26T06:40:01.123456Z");
}

}  // namespace
}  // namespace snakecage
