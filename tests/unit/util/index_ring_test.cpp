#include "util/index_ring.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

namespace raft {
namespace {

TEST(IndexRingTest, ValuesAreFoundByIndexAndTheFrontAdvancesAsTheyLeave) {
  IndexRing<std::string> r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.find(1), nullptr);
  EXPECT_TRUE(r.insert(10, "a"));
  EXPECT_TRUE(r.insert(11, "b"));
  EXPECT_TRUE(r.insert(14, "c"));  // a gap: 12 and 13 hold nothing
  EXPECT_FALSE(r.insert(11, "x")) << "an occupied index keeps its value";
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(*r.find(11), "b");
  EXPECT_EQ(r.find(12), nullptr);
  EXPECT_EQ(r.find(9), nullptr);
  EXPECT_EQ(r.find(15), nullptr);

  r.erase(11);  // from the middle
  EXPECT_EQ(r.find(11), nullptr);
  EXPECT_EQ(*r.find(10), "a");
  r.erase(10);  // the front: everything up to 14 goes
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(*r.find(14), "c");
  r.erase(13);  // nothing there
  EXPECT_EQ(r.size(), 1u);
  r.erase(14);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.insert(3, "after empty, any index"));
  EXPECT_EQ(*r.find(3), "after empty, any index");
  EXPECT_TRUE(r.insert(1, "below the lowest"));
  EXPECT_EQ(*r.find(1), "below the lowest");
  EXPECT_EQ(*r.find(3), "after empty, any index");
  EXPECT_EQ(r.find(2), nullptr);
  r.erase(1);
  EXPECT_EQ(*r.find(3), "after empty, any index");
  EXPECT_EQ(r.size(), 1u);
}

TEST(IndexRingTest, ForEachVisitsInIndexOrderAndClearStartsOver) {
  IndexRing<int> r;
  for (uint64_t i : {5, 6, 9, 12}) ASSERT_TRUE(r.insert(i, static_cast<int>(i * 10)));
  std::vector<std::pair<uint64_t, int>> seen;
  r.for_each([&](uint64_t i, int& v) { seen.emplace_back(i, v); });
  EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, int>>{{5, 50}, {6, 60}, {9, 90}, {12, 120}}));
  r.clear();
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.find(5), nullptr);
  EXPECT_TRUE(r.insert(1, 7));
}

TEST(IndexRingTest, AgreesWithAMapUnderRandomUse) {
  // Inserts at increasing indexes with gaps; erases mostly the oldest,
  // sometimes any; move-only values.
  std::mt19937_64 rng(42);
  IndexRing<std::unique_ptr<uint64_t>> r;
  std::map<uint64_t, uint64_t> m;
  uint64_t next = 1;
  for (int step = 0; step < 20000; ++step) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      next += rng() % 3;  // gaps
      ASSERT_TRUE(r.insert(next, std::make_unique<uint64_t>(next * 7)));
      m[next] = next * 7;
      ++next;
    } else if (!m.empty()) {
      auto it = op < 8 ? m.begin() : std::next(m.begin(), static_cast<long>(rng() % m.size()));
      r.erase(it->first);
      m.erase(it);
    }
    if (rng() % 500 == 0) {
      r.clear();
      m.clear();
    }
    ASSERT_EQ(r.size(), m.size());
    uint64_t probe = next > 50 ? next - rng() % 50 : next;
    auto* v = r.find(probe);
    auto it = m.find(probe);
    ASSERT_EQ(v != nullptr, it != m.end()) << "index " << probe;
    if (v) {
      ASSERT_EQ(**v, it->second);
    }
  }
}

}  // namespace
}  // namespace raft
