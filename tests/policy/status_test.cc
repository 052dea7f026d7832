// Status codes and their names: the names are what JSON replies (MCP tool
// errors, the zygote's result pipe) and Python's StatusError carry.
#include "snakecage/status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace snakecage {
namespace {

constexpr StatusCode kEveryCode[] = {
    StatusCode::kOk,           StatusCode::kInvalidArgument,   StatusCode::kNotFound,
    StatusCode::kAlreadyExists, StatusCode::kPermissionDenied, StatusCode::kResourceExhausted,
    StatusCode::kRateLimited,  StatusCode::kQuotaExceeded,     StatusCode::kInternal,
};

TEST(StatusCodeTest, EveryCodeHasItsOwnNameAndIsFoundByIt) {
  std::set<std::string> names;
  for (StatusCode code : kEveryCode) {
    const std::string name(StatusCodeName(code));
    EXPECT_TRUE(names.insert(name).second) << name << " names two codes";
    EXPECT_EQ(StatusCodeFromName(name), code) << name;
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kResourceExhausted), "resource_exhausted");
  EXPECT_EQ(StatusCodeName(StatusCode::kRateLimited), "rate_limited");
  EXPECT_EQ(StatusCodeName(StatusCode::kQuotaExceeded), "quota_exceeded");
}

TEST(StatusCodeTest, AnyOtherNameIsNoCode) {
  EXPECT_EQ(StatusCodeFromName(""), std::nullopt);
  EXPECT_EQ(StatusCodeFromName("NOT_FOUND"), std::nullopt);
  EXPECT_EQ(StatusCodeFromName("session_limit"), std::nullopt);
}

}  // namespace
}  // namespace snakecage
