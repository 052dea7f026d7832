#include "base/utf8.h"

#include <gtest/gtest.h>

namespace snakecage {
namespace {

TEST(Utf8Test, ValidTextIsUnchanged) {
  EXPECT_EQ(DecodeUtf8Lossy("plain ascii"), "plain ascii");
  EXPECT_EQ(DecodeUtf8Lossy("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D");
  EXPECT_EQ(DecodeUtf8Lossy(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(Utf8Test, EachMaximalIllFormedSubsequenceBecomesOneReplacement) {
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(DecodeUtf8Lossy("\xFF"), R);
  EXPECT_EQ(DecodeUtf8Lossy("\xC3"), R);                  // truncated at end
  EXPECT_EQ(DecodeUtf8Lossy("\xE2\x82"), R);              // truncated 3-byte
  EXPECT_EQ(DecodeUtf8Lossy("\xE2\x82x"), R + "x");       // interrupted
  EXPECT_EQ(DecodeUtf8Lossy("\xC0\xAF"), R + R);          // overlong
  EXPECT_EQ(DecodeUtf8Lossy("\xED\xA0\x80"), R + R + R);  // surrogate
  EXPECT_EQ(DecodeUtf8Lossy("\xF4\x90\x80\x80"), R + R + R + R);  // > U+10FFFF
  EXPECT_EQ(DecodeUtf8Lossy("\xFF\xFEok\xC3\n"), R + R + "ok" + R + "\n");
}

TEST(Utf8Test, ValidityAgreesWithTheRepair) {
  for (const std::string& text :
       {std::string("plain ascii"), std::string("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x90\x8d"),
        std::string("a\0b", 3)}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(DecodeUtf8Lossy(text), text);
  }
  for (const std::string& text :
       {std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
        std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82"),
        std::string("ok\xe2\x82")}) {
    EXPECT_FALSE(IsValidUtf8(text)) << text;
    EXPECT_TRUE(IsValidUtf8(DecodeUtf8Lossy(text))) << text;
  }
}

}  // namespace
}  // namespace snakecage
