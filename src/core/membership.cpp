// Configurations in the log (thesis 4.1): a server uses the latest
// configuration in its log, committed or not, and falls back to the
// previous one if that entry is truncated away. Membership changes: one
// server at a time (4.2), or any number through joint consensus (4.3).
#include <algorithm>

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

bool Raft::removed_from_cluster() const {
  const Configuration& committed = committed_configuration();
  if (committed.servers.empty() || committed.is_member(config_.id)) return false;
  for (const ConfigAt& c : configs_)
    if (c.index <= commit_ && c.config.is_member(config_.id)) return true;
  return false;
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
  // Replicate to every member (voters and non-voters) but ourselves, and
  // to servers being removed until they learn that their removal
  // committed (and can shut down).
  std::vector<NodeId> members;
  for (const Configuration* conf : {&c, &committed_configuration()}) {
    for (const Server& s : conf->servers) members.push_back(s.id);
    for (NodeId id : conf->old_voters) members.push_back(id);
  }
  for (NodeId id : members) {
    if (id == config_.id || progress_.count(id)) continue;
    progress_.emplace(id, Progress(log_.last_index() + 1, config_.inflight_appends_max,
                                   config_.inflight_bytes_max));
  }
  prune_pending_ = false;
  for (NodeId id : members) prune_pending_ |= id != config_.id && !c.is_member(id);
  for (auto it = progress_.begin(); it != progress_.end();) {
    bool member = std::find(members.begin(), members.end(), it->first) != members.end();
    if (member) {
      ++it;
      continue;
    }
    // A server whose removal has committed keeps receiving the log until
    // it holds the entry that removes it, so a last heartbeat can tell it
    // that entry committed (and it can shut down). One that has gone
    // quiet (no answer since the last quorum check) is dropped at once.
    if (it->second.match < configuration_index() && it->second.recent_active) {
      prune_pending_ = true;
      ++it;
      continue;
    }
    send_heartbeat(it->first, it->second);
    it = progress_.erase(it);
  }
}

}  // namespace raft::core

namespace raft::core {

// ---- membership changes (leader) ----

Status Raft::check_change_allowed() const {
  if (role_ != Role::kLeader) {
    if (leader_ == kNoNode) return Status(ErrorCode::kNotLeader, "not leader; leader unknown");
    return Status(ErrorCode::kNotLeader, "not leader; leader is " + std::to_string(leader_.value));
  }
  if (transfer_) return Status(ErrorCode::kBusy, "a leadership transfer is in progress");
  if (change_) return Status(ErrorCode::kBusy, "another membership change is in progress");
  // The fix for single-server changes found after the thesis (Ongaro,
  // raft-dev 2015): a new leader first commits an entry of its own term,
  // so that it cannot act on a configuration an earlier leader was still
  // changing.
  if (commit_ < term_start_index_)
    return Status(ErrorCode::kBusy, "the leader has not committed an entry of its term yet");
  // Thesis 4.1: one change at a time, each committed before the next.
  if (configuration_index() > commit_)
    return Status(ErrorCode::kBusy, "the previous configuration change is not committed yet");
  return Status();
}

void Raft::append_configuration(Configuration c) {
  append_local(EntryType::kConfiguration, encode_configuration(c));
}

Status Raft::change_membership(uint64_t request_id, const ConfChange& change) {
  RAFT_RETURN_IF_ERROR(check_change_allowed());
  if (change.id == kNoNode) return invalid_argument("server id 0 is reserved");
  Configuration c = configuration();
  RAFT_ASSERT(!c.joint());  // a committed joint configuration is finished at once
  auto it = std::find_if(c.servers.begin(), c.servers.end(), [&](const Server& s) { return s.id == change.id; });
  bool member = it != c.servers.end();
  bool voter = member && it->role == ServerRole::kVoter;
  PendingChange pc;
  pc.id = request_id;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
    case ConfChangeType::kAddNonVoter: {
      if (change.address.empty()) return invalid_argument("an added server needs an address");
      if (member && it->address != change.address)
        return invalid_argument("server " + std::to_string(change.id.value) + " is already a member at " +
                                it->address + "; remove it first to change its address");
      if (change.type == ConfChangeType::kAddNonVoter) {
        if (voter) return invalid_argument("server " + std::to_string(change.id.value) + " is a voter; demote it instead");
        if (member) {
          out_done_.push_back({request_id, Status(), configuration_index()});
          return Status();
        }
        c.servers.push_back({change.id, change.address, ServerRole::kNonVoter});
        break;
      }
      if (voter) {  // already there: nothing to do
        out_done_.push_back({request_id, Status(), configuration_index()});
        return Status();
      }
      // Thesis 4.2.1: a new server first catches up as a non-voter, so
      // that adding an empty or slow server never stalls commitment.
      pc.stage = PendingChange::Stage::kCatchUp;
      pc.server = change.id;
      pc.round_target = log_.last_index();
      pc.round_start = now_;
      if (!member) {
        c.servers.push_back({change.id, change.address, ServerRole::kNonVoter});
        append_configuration(c);
        pc.entry = log_.last_index();
      }
      change_ = pc;
      return Status();
    }
    case ConfChangeType::kRemoveServer:
      if (!member) return Status(ErrorCode::kNotFound, "server " + std::to_string(change.id.value) + " is not a member");
      c.servers.erase(it);
      break;
    case ConfChangeType::kDemoteVoter:
      if (!voter) return invalid_argument("server " + std::to_string(change.id.value) + " is not a voter");
      it->role = ServerRole::kNonVoter;
      break;
  }
  std::string why;
  if (!c.valid(&why)) return invalid_argument("the resulting configuration is invalid: " + why);
  append_configuration(c);
  pc.stage = PendingChange::Stage::kFinal;
  pc.entry = log_.last_index();
  change_ = pc;
  return Status();
}

Status Raft::change_configuration(uint64_t request_id, const Configuration& target) {
  RAFT_RETURN_IF_ERROR(check_change_allowed());
  std::string why;
  if (!target.valid(&why)) return invalid_argument("bad target configuration: " + why);
  if (target.joint()) return invalid_argument("the target of a change cannot itself be joint");
  Configuration joint = target;
  joint.old_voters = configuration().voters();
  // Thesis 4.3: C_old,new first; decisions need both majorities until
  // C_new commits.
  append_configuration(joint);
  PendingChange pc;
  pc.id = request_id;
  pc.stage = PendingChange::Stage::kJoint;
  pc.target = target;
  pc.entry = log_.last_index();
  change_ = pc;
  return Status();
}

void Raft::finish_change(Status s, Index index) {
  if (!change_) return;
  out_done_.push_back({change_->id, std::move(s), index});
  change_.reset();
}

void Raft::check_catch_up(NodeId id, const Progress& pr) {
  if (!change_ || change_->stage != PendingChange::Stage::kCatchUp || change_->server != id) return;
  if (pr.match < change_->round_target) return;
  // Thesis 4.2.1: rounds of replication; a round that ends within an
  // election timeout means the server is close enough to vote.
  if (now_ - change_->round_start > config_.election_timeout) {
    change_->round_target = log_.last_index();
    change_->round_start = now_;
    return;
  }
  change_->round_target = Index(0);  // caught up: promote when allowed
  advance_membership();
}

void Raft::advance_membership() {
  if (role_ != Role::kLeader) return;
  // A joint configuration that has committed (ours, or a previous
  // leader's) moves on to C_new (thesis 4.3).
  if (configuration().joint() && configuration_index() <= commit_) {
    Configuration next = configuration();
    next.old_voters.clear();
    append_configuration(next);
    if (change_ && change_->stage == PendingChange::Stage::kJoint) {
      change_->stage = PendingChange::Stage::kFinal;
      change_->entry = log_.last_index();
    }
    return;
  }
  // Servers whose removal just committed: stop replicating to them.
  if (prune_pending_ && configuration_index() <= commit_) apply_configuration_change();
  if (!change_) return;
  if (change_->entry > commit_) return;  // wait for the entry to commit
  switch (change_->stage) {
    case PendingChange::Stage::kFinal:
      finish_change(Status(), change_->entry);
      break;
    case PendingChange::Stage::kJoint:
      break;  // handled above once committed
    case PendingChange::Stage::kCatchUp: {
      if (change_->round_target != Index(0)) break;  // still catching up
      Configuration c = configuration();
      Server* s = nullptr;
      for (Server& x : c.servers)
        if (x.id == change_->server) s = &x;
      if (!s) {  // removed meanwhile (by a truncation): give up
        finish_change(Status(ErrorCode::kAborted, "the server left the configuration"), Index(0));
        break;
      }
      s->role = ServerRole::kVoter;
      append_configuration(c);
      change_->stage = PendingChange::Stage::kFinal;
      change_->entry = log_.last_index();
      break;
    }
  }
}

}  // namespace raft::core
