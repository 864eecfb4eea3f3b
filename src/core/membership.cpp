// Configurations in the log (thesis 4.1): a server uses the latest
// configuration in its log, committed or not, and falls back to the
// previous one if that entry is truncated away.
#include "core/raft.hpp"
#include "util/assert.hpp"

namespace raft::core {

Status Raft::bootstrap(const Configuration& configuration) {
  std::string why;
  if (!configuration.valid(&why)) return invalid_argument("bad configuration: " + why);
  if (configuration.joint()) return invalid_argument("a first configuration cannot be joint");
  if (log_.last_index() != Index(0) || hs_.term != Term(0))
    return Status(ErrorCode::kAlreadyExists, "this node already has state (term " +
                                                 std::to_string(hs_.term.value) + ", last index " +
                                                 std::to_string(log_.last_index().value) + ")");
  // Every initial member writes the same entry (1, 1): their logs match
  // from the start, and any of them may win the first election.
  set_term(Term(1));
  log_.append(Entry{Index(1), Term(1), EntryType::kConfiguration, encode_configuration(configuration)});
  config_appended(log_.at(Index(1)));
  reset_election_timer();
  return Status();
}

const Configuration& Raft::committed_configuration() const {
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it)
    if (it->index <= commit_) return it->config;
  return configs_.front().config;
}

void Raft::config_appended(const Entry& e) {
  Configuration c;
  // receive() drops messages carrying undecodable configurations, and
  // storage checksums what it returns, so this holds.
  RAFT_ASSERT_MSG(decode_configuration(e.data.span(), &c), "undecodable configuration entry");
  configs_.push_back({e.index, std::move(c)});
  apply_configuration_change();
}

void Raft::configs_truncated(Index from) {
  bool changed = false;
  while (configs_.size() > 1 && configs_.back().index >= from) {
    configs_.pop_back();
    changed = true;
  }
  if (changed) apply_configuration_change();
}

void Raft::apply_configuration_change() {
  const Configuration& c = configuration();
  voters_ = VoterSets::of(c);
  if (role_ != Role::kLeader) return;
  // Replicate to every member (voters and non-voters) but ourselves.
  std::vector<NodeId> members;
  for (const Server& s : c.servers) members.push_back(s.id);
  for (NodeId id : c.old_voters) members.push_back(id);
  for (NodeId id : members) {
    if (id == config_.id || progress_.count(id)) continue;
    progress_.emplace(id, Progress(log_.last_index() + 1, config_.inflight_appends_max,
                                   config_.inflight_bytes_max));
  }
  for (auto it = progress_.begin(); it != progress_.end();) {
    bool member = std::find(members.begin(), members.end(), it->first) != members.end();
    it = member ? std::next(it) : progress_.erase(it);
  }
}

}  // namespace raft::core
