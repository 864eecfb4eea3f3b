#include "core/log_view.hpp"

#include <gtest/gtest.h>

#include "core/quorum.hpp"

namespace raft::core {
namespace {

LogView make(std::vector<uint64_t> terms, Index snapshot = Index(0), Term snapshot_term = Term(0)) {
  LogView v(snapshot, snapshot_term);
  for (uint64_t t : terms) v.append(Entry{v.last_index() + 1, Term(t), EntryType::kCommand, Buffer::copy_of("x")});
  return v;
}

TEST(LogViewTest, TermAtCoversSnapshotPointAndLog) {
  LogView v = make({3, 3, 4}, Index(10), Term(2));
  EXPECT_EQ(v.first_index(), Index(11));
  EXPECT_EQ(v.last_index(), Index(13));
  EXPECT_EQ(v.term_at(Index(10)), Term(2));
  EXPECT_EQ(v.term_at(Index(12)), Term(3));
  EXPECT_FALSE(v.term_at(Index(9)).has_value());
  EXPECT_FALSE(v.term_at(Index(14)).has_value());
}

TEST(LogViewTest, TruncateAndCompact) {
  LogView v = make({1, 1, 2, 2, 3});
  v.truncate_from(Index(4));
  EXPECT_EQ(v.last_index(), Index(3));
  v.compact(Index(2), Term(1));
  EXPECT_EQ(v.first_index(), Index(3));
  EXPECT_EQ(v.at(Index(3)).term, Term(2));
  // Compacting to a point the log does not hold discards it all.
  v.compact(Index(7), Term(5));
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.last_index(), Index(7));
  EXPECT_EQ(v.last_term(), Term(5));
}

TEST(LogViewTest, CompactHandsBackWhatItDropsAndKeepsTheRestInOrder) {
  auto indexes = [](const std::deque<Entry>& d) {
    std::vector<uint64_t> out;
    for (const Entry& e : d) out.push_back(e.index.value);
    return out;
  };
  LogView v = make({1, 1, 1, 2, 2, 2, 2, 2, 3, 3});  // indexes 1..10
  // Fewer dropped than kept.
  auto d = v.compact(Index(3), Term(1));
  EXPECT_EQ(indexes(d), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(v.first_index(), Index(4));
  // More dropped than kept (the usual case: the log since the last
  // snapshot goes, the trailing entries stay).
  d = v.compact(Index(8), Term(2));
  EXPECT_EQ(indexes(d), (std::vector<uint64_t>{4, 5, 6, 7, 8}));
  for (const Entry& e : d) EXPECT_EQ(e.data.view(), "x");  // the entries themselves, not moved-from husks
  EXPECT_EQ(v.first_index(), Index(9));
  EXPECT_EQ(v.last_index(), Index(10));
  EXPECT_EQ(v.at(Index(9)).term, Term(3));
  EXPECT_EQ(v.at(Index(10)).data.view(), "x");
  v.append(Entry{Index(11), Term(3), EntryType::kCommand, Buffer::copy_of("y")});
  EXPECT_EQ(v.at(Index(11)).data.view(), "y");
  // A point at or before the snapshot drops nothing; one the log does not
  // hold drops everything.
  EXPECT_TRUE(v.compact(Index(8), Term(2)).empty());
  d = v.compact(Index(20), Term(4));
  EXPECT_EQ(indexes(d), (std::vector<uint64_t>{9, 10, 11}));
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.last_index(), Index(20));
}

TEST(LogViewTest, CopyToAppendsARunAfterWhatIsThere) {
  LogView v = make({1, 1, 2, 2, 3}, Index(10), Term(1));  // indexes 11..15
  std::vector<Entry> out;
  v.copy_to(Index(12), Index(14), &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].index, Index(12));
  EXPECT_EQ(out[2].index, Index(14));
  EXPECT_EQ(out[2].term, Term(2));
  v.copy_to(Index(15), Index(14), &out);  // an empty run adds nothing
  EXPECT_EQ(out.size(), 3u);
  v.copy_to(Index(11), Index(15), &out);  // the whole log, after the three
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[3].index, Index(11));
  EXPECT_EQ(out[7].index, Index(15));
  EXPECT_EQ(out[7].data.view(), "x");
  v.compact(Index(13), Term(2));
  out.clear();
  v.copy_to(Index(14), Index(15), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].index, Index(14));
  EXPECT_EQ(out[1].term, Term(3));
}

TEST(LogViewTest, ConflictHintSearches) {
  LogView v = make({1, 1, 4, 4, 4, 6});
  EXPECT_EQ(v.first_index_of_term_at(Index(5)), Index(3));
  EXPECT_EQ(v.first_index_of_term_at(Index(2)), Index(1));
  EXPECT_EQ(v.last_index_with_term_at_most(Term(4)), Index(5));
  EXPECT_EQ(v.last_index_with_term_at_most(Term(5)), Index(5));
  EXPECT_EQ(v.last_index_with_term_at_most(Term(0)), Index(0));
  EXPECT_EQ(v.last_index_with_term_at_most(Term(9)), Index(6));
}

TEST(LogViewTest, SliceRespectsCountAndBytesButSendsAtLeastOne) {
  LogView v;
  for (int i = 0; i < 5; ++i)
    v.append(Entry{v.last_index() + 1, Term(1), EntryType::kCommand, Buffer::copy_of(std::string(100, 'x'))});
  EXPECT_EQ(v.slice(Index(1), 3, 1 << 20).size(), 3u);
  EXPECT_EQ(v.slice(Index(1), 10, 250).size(), 2u);
  EXPECT_EQ(v.slice(Index(1), 10, 10).size(), 1u);
  auto tail = v.slice(Index(4), 10, 1 << 20);  // from the middle to the end
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].index, Index(4));
  EXPECT_EQ(tail[1].index, Index(5));
  EXPECT_TRUE(v.slice(Index(6), 10, 1 << 20).empty());  // just past the end
  EXPECT_TRUE(v.slice(Index(9), 10, 1 << 20).empty());  // beyond it
  v.compact(Index(2), Term(1));
  auto after = v.slice(Index(3), 1, 1 << 20);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].index, Index(3));
}

TEST(QuorumTest, MajorityIndexAndJointConfigurations_4_3) {
  VoterSets v{{NodeId(1), NodeId(2), NodeId(3)}, {}};
  auto match = [](NodeId id) { return Index(id.value * 10); };
  EXPECT_EQ(quorum_index(v, match), Index(20));
  // Joint: the old set {4,5,6} reaches 50; the new {1,2,3} only 20.
  VoterSets joint{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4), NodeId(5), NodeId(6)}};
  EXPECT_EQ(quorum_index(joint, match), Index(20));
  auto votes = [](NodeId id) { return id.value <= 2 ? 1 : 0; };
  EXPECT_EQ(tally(v, votes), VoteOutcome::kWon);
  EXPECT_EQ(tally(joint, votes), VoteOutcome::kPending) << "needs a majority of the old set too";
  auto rejected = [](NodeId id) { return id.value >= 2 ? -1 : 1; };
  EXPECT_EQ(tally(v, rejected), VoteOutcome::kLost);
}

TEST(QuorumTest, EvenClusterNeedsMoreThanHalf) {
  VoterSets v{{NodeId(1), NodeId(2), NodeId(3), NodeId(4)}, {}};
  auto votes = [](NodeId id) { return id.value <= 2 ? 1 : 0; };
  EXPECT_EQ(tally(v, votes), VoteOutcome::kPending);
  auto match = [](NodeId id) { return Index(id.value); };
  EXPECT_EQ(quorum_index(v, match), Index(2));  // 3 of 4 have >= 2
}

}  // namespace
}  // namespace raft::core
