#include "core/per_thread.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ml_exporter::internal {
namespace {

TEST(PerThreadTest, EachThreadHasItsOwnInstanceAndForEachSeesAll) {
  PerThread<int> counts;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&counts, t] {
      for (int i = 0; i <= t; ++i) ++counts.Local(0);
    });
  }
  for (auto& t : threads) t.join();
  ++counts.Local(100);  // this thread's, created with 100
  std::vector<int> seen;
  counts.ForEach([&](int& v) { seen.push_back(v); });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 101}));
}

// Reloads build and destroy collectors, each with PerThreads: a thread's
// lookup table must not grow with every one ever built, and an index taken
// over by a new PerThread (of another type) must never hand out the
// destroyed one's instance.
TEST(PerThreadTest, IndexesAreReusedAndStaleEntriesNeverMatch) {
  std::thread worker([] {
    const size_t table_before = ThreadSlots().size();
    for (int round = 0; round < 10000; ++round) {
      auto numbers = std::make_unique<PerThread<int>>();
      EXPECT_EQ(numbers->Local(round), round);
      numbers.reset();
      // Likely the same index as `numbers` had, with a new generation.
      PerThread<std::string> names;
      EXPECT_EQ(names.Local("fresh"), "fresh") << round;
    }
    EXPECT_LE(ThreadSlots().size(), table_before + 2);
  });
  worker.join();
}

}  // namespace
}  // namespace ml_exporter::internal
