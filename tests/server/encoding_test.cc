// Base64 and UTF-8 checks used by the file tools.
#include <gtest/gtest.h>

#include "server/encoding.h"

namespace snakecage::server {
namespace {

TEST(EncodingTest, Base64RoundTripsEveryLengthRemainder) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\x00\xff\x01\xfe", 4)), "AP8B/g==");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy"), "foobar");
}

TEST(EncodingTest, Base64RefusesMalformedInput) {
  EXPECT_EQ(Base64Decode("Zm9"), std::nullopt);     // not a multiple of 4
  EXPECT_EQ(Base64Decode("Zm=v"), std::nullopt);    // padding in the middle
  EXPECT_EQ(Base64Decode("Z==="), std::nullopt);    // too much padding
  EXPECT_EQ(Base64Decode("Zg==Zm8="), std::nullopt);  // padding before the end
  EXPECT_EQ(Base64Decode("Zm9*"), std::nullopt);    // not in the alphabet
}

TEST(EncodingTest, Utf8Validity) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x90\x8d"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated at the end
}

}  // namespace
}  // namespace snakecage::server
