#include "base/text.h"

#include <gtest/gtest.h>

#include "base/errno_text.h"

namespace snakecage {
namespace {

TEST(QuoteTest, ShowsEveryByteOutsidePrintableAsciiAsHex) {
  EXPECT_EQ(Quote("plain/path"), "\"plain/path\"");
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
  EXPECT_EQ(Quote(std::string("a\0b", 3)), "\"a\\x00b\"");
  EXPECT_EQ(Quote("tab\there\n"), "\"tab\\x09here\\x0a\"");
  EXPECT_EQ(Quote("caf\xc3\xa9\x7f"), "\"caf\\xc3\\xa9\\x7f\"");
}

TEST(ErrnoTextTest, TextAndName) {
  EXPECT_EQ(ErrnoText(ENOENT), "No such file or directory");
  EXPECT_EQ(ErrnoNameAndText(ENOENT), "ENOENT (No such file or directory)");
  EXPECT_EQ(ErrnoNameAndText(99999).rfind("errno 99999 (", 0), 0u) << ErrnoNameAndText(99999);
}

}  // namespace
}  // namespace snakecage
