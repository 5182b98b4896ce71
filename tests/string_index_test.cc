#include "core/string_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ml_exporter::internal {
namespace {

// Every length from 0 to 40 (each branch of SameShortString and memcmp
// beyond 16), a difference at every position, and views into larger
// buffers (no reads outside the view change the answer).
TEST(SameShortStringTest, AgreesWithStringCompareAtEveryLengthAndPosition) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    const std::string padded_a = "#" + a + "#";
    const std::string padded_b = "$" + a + "$";
    const std::string_view va(padded_a.data() + 1, n);
    const std::string_view vb(padded_b.data() + 1, n);
    EXPECT_TRUE(SameShortString(va, vb)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x20);
      EXPECT_FALSE(SameShortString(a, b)) << n << " at " << i;
      EXPECT_FALSE(SameShortString(b, a)) << n << " at " << i;
    }
    EXPECT_FALSE(SameShortString(a, a + "z")) << n;
    EXPECT_FALSE(SameShortString(a + "z", a)) << n;
  }
  EXPECT_TRUE(SameShortString("", ""));
  EXPECT_FALSE(SameShortString("", "a"));
}

TEST(StringIndexTest, FindsWhatWasInsertedAcrossRehashes) {
  StringIndex index;
  EXPECT_EQ(index.Find("f0"), StringIndex::kNotFound);
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back("feature_" + std::to_string(i));
  keys.push_back("");
  keys.push_back(std::string(100, 'k'));
  for (size_t i = 0; i < keys.size(); ++i) {
    index.Insert(keys[i], static_cast<uint32_t>(i * 3));
    EXPECT_EQ(index.Find(keys[i]), i * 3);
  }
  EXPECT_EQ(index.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(index.Find(keys[i]), i * 3) << keys[i];
  }
  EXPECT_EQ(index.Find("feature_1000"), StringIndex::kNotFound);
  EXPECT_EQ(index.Find("feature_"), StringIndex::kNotFound);
  EXPECT_EQ(index.Find(std::string(99, 'k')), StringIndex::kNotFound);
}

}  // namespace
}  // namespace ml_exporter::internal
