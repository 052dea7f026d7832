// Base64 and UTF-8 checks used by the file tools.
#include <gtest/gtest.h>

#include "base/base64.h"

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

}  // namespace
}  // namespace snakecage::server
