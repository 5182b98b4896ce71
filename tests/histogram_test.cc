#include "core/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace ml_exporter::internal {
namespace {

TEST(BucketEdgesTest, BucketOfMatchesLowerBound) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-10, 10);
  // Both sides of BucketEdges::kLinearEdges (the linear and the binary
  // search).
  for (size_t n : {1u, 2u, 3u, 7u, 8u, 13u, 15u, 16u, 17u, 40u}) {
    std::vector<double> edges;
    for (size_t i = 0; i < n; ++i) edges.push_back(static_cast<double>(i) - 3);
    BucketEdges b(edges);
    for (int k = 0; k < 1000; ++k) {
      double v = k % 5 == 0 ? static_cast<double>(k % 11) - 4 : u(rng);
      size_t want =
          std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
      EXPECT_EQ(b.BucketOf(v), want) << "n=" << n << " v=" << v;
    }
    EXPECT_EQ(b.BucketOf(INFINITY), n) << "n=" << n;
    EXPECT_EQ(b.BucketOf(-INFINITY), 0u) << "n=" << n;
    EXPECT_EQ(b.BucketOf(edges.back()), n - 1) << "n=" << n;
  }
}

// Both linear counts (SSE2 always; AVX-512 where the CPU has it, as on the
// machines this project runs its tests on) against lower_bound, with
// values on, between and beyond the edges.
TEST(BucketEdgesTest, LinearCountsMatchLowerBoundOnEveryPath) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<double> u(-20, 20);
  for (size_t n = 0; n <= BucketEdges::kLinearEdges; ++n) {
    std::vector<double> edges;
    for (size_t i = 0; i < n; ++i)
      edges.push_back(static_cast<double>(i) * 1.5 - 7);
    const BucketEdges b(edges);
    std::vector<double> values = {INFINITY, -INFINITY, 0.0,
                                  -0.0,     1e300,     -1e300};
    for (double e : edges) {
      values.push_back(e);
      values.push_back(std::nextafter(e, INFINITY));
      values.push_back(std::nextafter(e, -INFINITY));
    }
    for (int k = 0; k < 500; ++k) values.push_back(u(rng));
    for (double v : values) {
      const size_t want =
          std::lower_bound(edges.begin(), edges.end(), v) - edges.begin();
      EXPECT_EQ(b.BucketOfSse2(v), want) << "n=" << n << " v=" << v;
      if (BucketEdges::CpuHasAvx512()) {
        EXPECT_EQ(b.BucketOfAvx512(v), want) << "n=" << n << " v=" << v;
      }
      EXPECT_EQ(b.BucketOf(v), want) << "n=" << n << " v=" << v;
    }
  }
}

TEST(BucketEdgesTest, NoEdges) {
  BucketEdges b({});
  EXPECT_EQ(b.bucket_count(), 1u);
  EXPECT_EQ(b.BucketOf(-1), 0u);
  EXPECT_EQ(b.BucketOf(INFINITY), 0u);
}

TEST(BucketEdgesTest, SortsAndDropsDuplicatesAndNonFinite) {
  BucketEdges b({3, 1, 1, INFINITY, 2, NAN});
  EXPECT_EQ(b.edges(), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(b.bucket_count(), 4u);
  EXPECT_EQ(b.BucketOf(0.5), 0u);
  EXPECT_EQ(b.BucketOf(1), 0u);  // le is inclusive
  EXPECT_EQ(b.BucketOf(1.5), 1u);
  EXPECT_EQ(b.BucketOf(99), 3u);
}

TEST(QuantileEdgesTest, EvenlySpacedQuantiles) {
  std::vector<double> sample;
  for (int i = 0; i <= 100; ++i) sample.push_back(i);
  EXPECT_EQ(QuantileEdges(&sample, 4),
            (std::vector<double>{0, 25, 50, 75, 100}));
}

TEST(QuantileEdgesTest, ConstantSampleGivesOneEdge) {
  std::vector<double> sample(50, 7.25);
  EXPECT_EQ(QuantileEdges(&sample, 10), (std::vector<double>{7.25}));
}

TEST(QuantileEdgesTest, RoundsToThreeSignificantDigits) {
  std::vector<double> sample = {0.123456, 0.987654};
  EXPECT_EQ(QuantileEdges(&sample, 1), (std::vector<double>{0.123, 0.988}));
}

TEST(QuantileEdgesTest, NarrowSpreadFarFromZeroKeepsItsEdges) {
  std::vector<double> sample;
  for (int i = 0; i <= 200; ++i) sample.push_back(500 + i * 0.01);
  const std::vector<double> edges = QuantileEdges(&sample, 10);
  EXPECT_EQ(edges.size(), 11u);
  EXPECT_EQ(edges.front(), 500);
  EXPECT_EQ(edges[1], 500.2);
  EXPECT_EQ(edges.back(), 502);
  std::vector<double> stamps;
  for (int i = 0; i < 300; ++i) stamps.push_back(1795884176.0 + i);
  EXPECT_EQ(QuantileEdges(&stamps, 10).size(), 11u);
}

TEST(LearnedEdgesTest, FreezesAfterWarmupAndCountsWarmupValues) {
  LearnedEdges learned({}, 5, 2);
  EXPECT_EQ(learned.edges(), nullptr);
  for (double v : {1.0, 2.0, 3.0, 4.0})
    EXPECT_EQ(learned.AddWarmup(v), nullptr);
  EXPECT_EQ(learned.AddWarmup(5.0), nullptr);  // buffered, then frozen
  ASSERT_NE(learned.edges(), nullptr);
  EXPECT_EQ(learned.edges()->edges(), (std::vector<double>{1, 3, 5}));
  HistogramSnapshot s = learned.WarmupSnapshot();
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{1, 2, 2, 0}));
  EXPECT_DOUBLE_EQ(s.sum, 15);
  EXPECT_EQ(learned.AddWarmup(6.0), learned.edges());  // caller observes
}

TEST(LearnedEdgesTest, ExplicitEdgesAreFrozenFromTheStart) {
  LearnedEdges learned({0.5, 0.1}, 1000, 10);
  ASSERT_NE(learned.edges(), nullptr);
  EXPECT_EQ(learned.edges()->edges(), (std::vector<double>{0.1, 0.5}));
}

TEST(LearnedEdgesTest, FreezesEarlyWhenOld) {
  LearnedEdges learned({}, 1000, 10);
  learned.AddWarmup(2);
  learned.FreezeIfOlderThan(std::chrono::hours(1));
  EXPECT_EQ(learned.edges(), nullptr);
  learned.FreezeIfOlderThan(std::chrono::seconds(0));
  ASSERT_NE(learned.edges(), nullptr);
  EXPECT_EQ(learned.WarmupSnapshot().counts, (std::vector<uint64_t>{1, 0}));
}

}  // namespace
}  // namespace ml_exporter::internal
