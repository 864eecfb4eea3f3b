#include "util/types.hpp"

#include <gtest/gtest.h>

#include <type_traits>

namespace raft {
namespace {

static_assert(!std::is_convertible_v<Term, Index>, "a term is not an index");
static_assert(!std::is_convertible_v<uint64_t, Index>, "indexes are explicit");

Configuration three_voters_one_learner() {
  Configuration c;
  c.servers = {{NodeId(1), "127.0.0.1:9001", ServerRole::kVoter},
               {NodeId(2), "127.0.0.1:9002", ServerRole::kVoter},
               {NodeId(3), "127.0.0.1:9003", ServerRole::kVoter},
               {NodeId(4), "127.0.0.1:9004", ServerRole::kNonVoter}};
  return c;
}

TEST(ConfigurationTest, EncodeDecodeRoundTrip) {
  Configuration c = three_voters_one_learner();
  c.old_voters = {NodeId(1), NodeId(2), NodeId(5)};
  Buffer b = encode_configuration(c);
  Configuration d;
  ASSERT_TRUE(decode_configuration(b.span(), &d));
  EXPECT_EQ(c, d);
  EXPECT_TRUE(d.joint());
  EXPECT_TRUE(d.is_voter(NodeId(5)));
  EXPECT_FALSE(d.is_voter(NodeId(4)));
}

TEST(ConfigurationTest, DecodeRejectsEveryTruncation) {
  Buffer b = encode_configuration(three_voters_one_learner());
  for (size_t n = 0; n < b.size(); ++n) {
    Configuration d;
    EXPECT_FALSE(decode_configuration(b.span().first(n), &d)) << n;
  }
}

TEST(ConfigurationTest, DecodeRejectsTrailingBytes) {
  std::string s = encode_configuration(three_voters_one_learner()).to_string() + "x";
  Configuration d;
  EXPECT_FALSE(decode_configuration(Buffer::from_string(s).span(), &d));
}

TEST(ConfigurationTest, ValidRejectsDuplicatesAndNoVoters) {
  Configuration c = three_voters_one_learner();
  c.servers.push_back(c.servers[0]);
  std::string why;
  EXPECT_FALSE(c.valid(&why));
  EXPECT_NE(why.find("twice"), std::string::npos);
  Configuration learners;
  learners.servers = {{NodeId(1), "a", ServerRole::kNonVoter}};
  EXPECT_FALSE(learners.valid(&why));
}

TEST(ConfigurationTest, VotersAreSorted) {
  Configuration c;
  c.servers = {{NodeId(3), "", ServerRole::kVoter}, {NodeId(1), "", ServerRole::kVoter}};
  EXPECT_EQ(c.voters(), (std::vector<NodeId>{NodeId(1), NodeId(3)}));
}

}  // namespace
}  // namespace raft
