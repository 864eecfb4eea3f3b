// Majorities over a (possibly joint) configuration (thesis 3.6 and 4.3).
// During joint consensus every decision needs a majority of the old voters
// and, separately, a majority of the new ones.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "util/types.hpp"

namespace raft::core {

enum class VoteOutcome { kPending, kWon, kLost };

// The voter sets of a configuration, computed once per configuration
// change rather than on every commit check.
struct VoterSets {
  std::vector<NodeId> incoming;  // the new (or only) voters
  std::vector<NodeId> outgoing;  // the old voters of a joint configuration; else empty

  static VoterSets of(const Configuration& c) {
    VoterSets v{c.voters(), c.old_voters};
    std::sort(v.outgoing.begin(), v.outgoing.end());
    return v;
  }
  bool contains(NodeId id) const {
    return std::binary_search(incoming.begin(), incoming.end(), id) ||
           std::binary_search(outgoing.begin(), outgoing.end(), id);
  }
  // Every distinct voter.
  std::vector<NodeId> all() const {
    std::vector<NodeId> out;
    std::set_union(incoming.begin(), incoming.end(), outgoing.begin(), outgoing.end(),
                   std::back_inserter(out));
    return out;
  }
};

// The largest index reached by a majority of `voters` (an empty set places
// no constraint), given each voter's durable match index.
template <class MatchOf>
Index majority_index(const std::vector<NodeId>& voters, MatchOf&& match_of) {
  if (voters.empty()) return Index(UINT64_MAX);
  // Small clusters: copy to a fixed array to avoid allocating.
  Index buf[16];
  std::vector<Index> heap;
  Index* m = buf;
  if (voters.size() > 16) {
    heap.resize(voters.size());
    m = heap.data();
  }
  for (size_t i = 0; i < voters.size(); ++i) m[i] = match_of(voters[i]);
  // The (n/2+1)-th largest value is reached by a majority.
  size_t k = voters.size() / 2;
  std::nth_element(m, m + k, m + voters.size(), std::greater<>());
  return m[k];
}

template <class VoteOf>
VoteOutcome majority_tally(const std::vector<NodeId>& voters, VoteOf&& vote_of) {
  if (voters.empty()) return VoteOutcome::kWon;
  size_t yes = 0, no = 0;
  for (NodeId id : voters) {
    int v = vote_of(id);
    if (v > 0) ++yes;
    else if (v < 0) ++no;
  }
  size_t need = voters.size() / 2 + 1;
  if (yes >= need) return VoteOutcome::kWon;
  if (voters.size() - no < need) return VoteOutcome::kLost;
  return VoteOutcome::kPending;
}

template <class MatchOf>
Index quorum_index(const VoterSets& v, MatchOf&& match_of) {
  return std::min(majority_index(v.incoming, match_of), majority_index(v.outgoing, match_of));
}

// An election's state given the votes so far (`vote_of` returns +1
// granted, -1 rejected, 0 not heard).
template <class VoteOf>
VoteOutcome tally(const VoterSets& v, VoteOf&& vote_of) {
  VoteOutcome a = majority_tally(v.incoming, vote_of);
  VoteOutcome b = majority_tally(v.outgoing, vote_of);
  if (a == VoteOutcome::kLost || b == VoteOutcome::kLost) return VoteOutcome::kLost;
  if (a == VoteOutcome::kWon && b == VoteOutcome::kWon) return VoteOutcome::kWon;
  return VoteOutcome::kPending;
}

// Whether the voters for which `yes` holds form a majority (of each half).
template <class Yes>
bool has_quorum(const VoterSets& v, Yes&& yes) {
  return tally(v, [&](NodeId id) { return yes(id) ? 1 : 0; }) == VoteOutcome::kWon;
}

}  // namespace raft::core
