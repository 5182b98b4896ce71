// Regression tests for what fuzzing found (tests/fuzz, docs/reliability.md).
// Each input that crashed a fuzz target is also replayed from
// tests/fuzz/corpus/<target>/ by the fuzz.<target> tests; these say what
// the bug was and check the behaviour around the fix.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

#include "media/image_stats.h"
#include "profile/reference.h"

namespace ml_exporter {
namespace {

using media::AnalyzeImage;
using media::DecodeError;
using media::ImageStats;
using media::ImageStatsOptions;

std::string ReadCorpusFile(const std::string& target, const std::string& name) {
  std::ifstream in(std::string(FUZZ_CORPUS_DIR) + "/" + target + "/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << target << "/" << name;
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// A DHT segment defining one table with `codes` codes (16 code-length
// counts, then the values), as bytes after the JPEG's SOI.
std::string DhtSegment(int codes) {
  std::string counts(16, '\0');
  int left = codes;
  for (int i = 15; i >= 0 && left > 0; --i) {
    const int c = std::min(left, 255);
    counts[i] = static_cast<char>(c);
    left -= c;
  }
  const std::string body = std::string(1, '\x00') + counts +  // DC table 0
                           std::string(codes, '\x01');
  const size_t length = body.size() + 2;
  return std::string("\xFF\xC4", 2) + static_cast<char>(length >> 8) +
         static_cast<char>(length & 0xFF) + body;
}

// stb_image 2.27 (Debian's) wrote the code lengths and values of a
// Huffman table with more than 256 codes past its arrays: found by
// fuzz_image (UBSan: index 257 out of bounds for stbi_uc[257]); the check
// of 2.28 is added to our copy (cmake/StbImageChecked.cmake).
TEST(BadImageTest, HuffmanTableOfMoreThan256CodesIsRefused) {
  const std::string jpeg = ReadCorpusFile("image", "seed-jpeg_rgb");
  ImageStats stats;
  DecodeError error{};
  ASSERT_TRUE(AnalyzeImage(jpeg, ImageStatsOptions{}, &stats, &error));

  for (int codes : {257, 300, 16 * 255}) {
    SCOPED_TRACE(codes);
    const std::string bad =
        jpeg.substr(0, 2) + DhtSegment(codes) + jpeg.substr(2);
    EXPECT_FALSE(AnalyzeImage(bad, ImageStatsOptions{}, &stats, &error));
    EXPECT_EQ(error, DecodeError::kDecodeFailed);
  }
  const std::string found =
      ReadCorpusFile("image", "crash-jpeg-dht-over-256-codes");
  EXPECT_FALSE(AnalyzeImage(found, ImageStatsOptions{}, &stats, &error));
  EXPECT_EQ(error, DecodeError::kDecodeFailed);
}

TEST(BadImageTest, HuffmanTableCheckLeavesValidFilesAlone) {
  const std::string jpeg = ReadCorpusFile("image", "seed-jpeg_rgb");
  ImageStats plain;
  DecodeError error{};
  ASSERT_TRUE(AnalyzeImage(jpeg, ImageStatsOptions{}, &plain, &error));

  // A table of exactly 256 codes is allowed by the format (stb_image then
  // refuses the made-up code lengths, as it always did).
  const std::string full = jpeg.substr(0, 2) + DhtSegment(256) + jpeg.substr(2);
  ImageStats stats;
  AnalyzeImage(full, ImageStatsOptions{}, &stats, &error);
  EXPECT_NE(error, DecodeError::kNotImage);

  // Bytes that look like an oversized DHT inside a comment segment, which
  // the decoder skips, do not make a valid file invalid.
  const std::string fake = DhtSegment(300);
  const size_t length = fake.size() + 2;
  const std::string comment = std::string("\xFF\xFE", 2) +
                              static_cast<char>(length >> 8) +
                              static_cast<char>(length & 0xFF) + fake;
  const std::string with_comment = jpeg.substr(0, 2) + comment + jpeg.substr(2);
  ASSERT_TRUE(AnalyzeImage(with_comment, ImageStatsOptions{}, &stats, &error));
  EXPECT_EQ(stats.width, plain.width);
  EXPECT_EQ(stats.height, plain.height);
  EXPECT_DOUBLE_EQ(stats.brightness_ratio, plain.brightness_ratio);

  // Progressive JPEGs define tables between scans: still measured.
  const std::string progressive =
      ReadCorpusFile("image", "seed-jpeg_progressive");
  EXPECT_TRUE(AnalyzeImage(progressive, ImageStatsOptions{}, &stats, &error));
}

// A numeric field with no values was not checked at all, so a profile
// whose edges held a NaN loaded (found by fuzz_profile); its live bins then
// disagreed with the reference's edge list.
TEST(BadProfileTest, EdgesAreCheckedEvenWithoutValues) {
  profile::v1::ReferenceProfile proto;
  for (const char* numeric : {"edges: 1 edges: nan", "edges: 2 edges: 1",
                              "quantile_edges: inf", "edges: 1 edges: 1"}) {
    SCOPED_TRACE(numeric);
    const std::string text =
        std::string("features { name: \"age\" kind: NUMERIC numeric { ") +
        numeric + " } }";
    const Status s = profile::ParseProfile(text, "p.profile", &proto);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("features[0] \"age\": numeric."),
              std::string::npos)
        << s.message();
  }
  // Without values and with sound edges (or none) a field still loads.
  for (const char* numeric : {"", "edges: 1 edges: 2 quantile_edges: 0"}) {
    SCOPED_TRACE(numeric);
    const std::string text =
        std::string("features { name: \"age\" kind: NUMERIC numeric { ") +
        numeric + " } }";
    const Status s = profile::ParseProfile(text, "p.profile", &proto);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  const std::string found =
      ReadCorpusFile("profile", "crash-nan-edge-without-values");
  const Status s = profile::ParseProfile(found, "p.profile", &proto);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("numeric.edges[3] is not finite"),
            std::string::npos)
      << s.message();
}

// stb_image 2.27 read a Huffman symbol at a negative index for a code
// outside the table: found by fuzz_image (UBSan: index -6 out of bounds for
// stbi_uc[256]); our copy returns the decoder's error instead. Under
// scripts/test --sanitize the fuzz.image replay checks the read itself.
TEST(BadImageTest, HuffmanCodeOutsideTheTableIsAnError) {
  const std::string found =
      ReadCorpusFile("image", "crash-jpeg-huffman-symbol-index-negative");
  ImageStats stats;
  DecodeError error{};
  EXPECT_FALSE(AnalyzeImage(found, ImageStatsOptions{}, &stats, &error));
  EXPECT_EQ(error, DecodeError::kDecodeFailed);
}

// A JPEG whose scan uses Huffman tables that no DHT segment defined (the
// seeds with their DHT segments cut out). stb_image 2.27 decoded with
// uninitialized tables, and its slow-path code search could run past
// maxcode[17] (UBSan, found by fuzz_image in CI). Our copy starts with empty
// tables, so the first code read is an error.
TEST(BadImageTest, ScanWithUndefinedHuffmanTablesIsAnError) {
  for (const char* name : {"crash-jpeg-no-dht-grey", "crash-jpeg-no-dht-rgb"}) {
    const std::string found = ReadCorpusFile("image", name);
    ImageStats stats;
    DecodeError error{};
    EXPECT_FALSE(AnalyzeImage(found, ImageStatsOptions{}, &stats, &error))
        << name;
    EXPECT_EQ(error, DecodeError::kDecodeFailed) << name;
  }
}

// A PNG whose first IDAT chunk is empty made stb_image copy zero bytes from
// a null pointer (UBSan, found by fuzz_image). Our copy skips the copy; an
// empty IDAT chunk before the data is valid PNG and changes nothing.
TEST(BadImageTest, EmptyIdatChunkBeforeTheData) {
  const std::string png = ReadCorpusFile("image", "seed-png_rgb");
  ImageStats plain;
  DecodeError error{};
  ASSERT_TRUE(AnalyzeImage(png, ImageStatsOptions{}, &plain, &error));
  // Length 0, "IDAT", the CRC of "IDAT", before the first IDAT chunk.
  const size_t idat = png.find("IDAT") - 4;
  const std::string empty("\0\0\0\0IDAT\x35\xAF\x06\x1E", 12);
  const std::string with_empty = png.substr(0, idat) + empty + png.substr(idat);
  ImageStats stats;
  ASSERT_TRUE(AnalyzeImage(with_empty, ImageStatsOptions{}, &stats, &error));
  EXPECT_EQ(stats.width, plain.width);
  EXPECT_DOUBLE_EQ(stats.brightness_ratio, plain.brightness_ratio);
}

}  // namespace
}  // namespace ml_exporter
