#include "sim/invariants.hpp"

#include <algorithm>
#include <functional>
#include <iterator>
#include <sstream>

namespace raft::sim {

using core::Role;

namespace {

std::string voters_string(const std::vector<NodeId>& v) {
  std::string s = "{";
  for (NodeId id : v) s += (s.size() > 1 ? " " : "") + std::to_string(id.value);
  return s + "}";
}

}  // namespace

void Invariants::fail(const std::string& what) {
  if (!failure_.empty()) return;  // keep the first
  std::ostringstream os;
  os << "invariant violated at t=" << (now_ ? now_->count() / 1000 : 0) << "us: " << what;
  failure_ = os.str();
}

uint64_t Invariants::hash_of(const Entry& e) {
  return std::hash<std::string_view>()(e.data.view()) * 31 + static_cast<uint64_t>(e.type);
}

void Invariants::node_started(NodeId id, const core::Raft& r) {
  ++checks_;
  auto it = seen_.find(id);
  Term sent;
  if (it != seen_.end()) {
    // A term the node spoke in was durable: it must survive the crash.
    sent = it->second.sent_term;
    if (r.term() < sent) {
      fail("node " + std::to_string(id.value) + " restarted with term " +
           std::to_string(r.term().value) + " below " + std::to_string(sent.value) +
           ", a term it had sent messages in (a durable term was lost)");
    }
  }
  // A leadership that left no trace is forgotten: a single voter elects
  // itself without a message, and if it crashes before its new term is
  // durable, no message of that term left it (durability before send,
  // checked in sent()) and nothing of that term is on its disk, so no
  // server can ever tell that it led; the restarted node may rightly vote
  // in that term again (sim seed 21369). Terms it spoke in, or holds
  // entries of, stay claimed.
  for (auto l = leader_of_term_.upper_bound(r.term().value); l != leader_of_term_.end();) {
    bool traceless = l->second == id && Term(l->first) > sent && Term(l->first) > r.log().last_term();
    l = traceless ? leader_of_term_.erase(l) : std::next(l);
  }
  Seen s;
  s.sent_term = sent;
  s.term = r.term();
  s.commit = r.commit_index();
  s.role = r.role();
  seen_[id] = s;
}

void Invariants::after_step(NodeId id, const core::Raft& r) {
  ++checks_;
  Seen& s = seen_[id];
  std::string who = "node " + std::to_string(id.value);
  if (r.term() < s.term) fail(who + ": term went back from " + std::to_string(s.term.value));
  if (r.commit_index() < s.commit)
    fail(who + ": commit index went back from " + std::to_string(s.commit.value) + " to " +
         std::to_string(r.commit_index().value));
  if (r.commit_index() > r.last_index()) fail(who + ": commit index beyond its log");

  // Newly committed entries: the same everywhere (this is what clients are
  // told), remembered with the term in which they were known committed.
  for (Index i = std::max(s.commit + 1, r.log().first_index()); i <= r.commit_index(); ++i) {
    const Entry& e = r.log().at(i);
    uint64_t h = hash_of(e);
    auto [it, fresh] = committed_.try_emplace(i.value, Committed{e.term, h, r.term()});
    if (!fresh && (it->second.term != e.term || it->second.hash != h)) {
      fail(who + " committed a different entry at index " + std::to_string(i.value) + " (term " +
           std::to_string(e.term.value) + ", earlier term " + std::to_string(it->second.term.value) +
           ")");
    }
    if (!fresh && r.term() < it->second.commit_term) it->second.commit_term = r.term();
  }

  bool leader_now = r.role() == Role::kLeader;
  bool was_leader_same_term = s.role == Role::kLeader && s.term == r.term();
  if (leader_now && !was_leader_same_term) {
    // Election Safety.
    auto [it, fresh] = leader_of_term_.try_emplace(r.term().value, id);
    if (!fresh && it->second != id) {
      fail("two leaders in term " + std::to_string(r.term().value) + ": nodes " +
           std::to_string(it->second.value) + " and " + std::to_string(id.value));
    }
    // Vote quorum: the votes it won by (thesis 3.4; 4.3: both halves).
    const std::vector<NodeId>& got = votes_[{r.term().value, id.value}];
    const Configuration& conf = r.configuration();
    auto won = [&](const std::vector<NodeId>& voters) {
      if (voters.empty()) return true;
      size_t n = 0;
      for (NodeId v : voters) n += v == id || std::find(got.begin(), got.end(), v) != got.end();
      return n >= voters.size() / 2 + 1;
    };
    if (!won(conf.voters()) || !won(conf.old_voters))
      fail("node " + std::to_string(id.value) + " became leader of term " + std::to_string(r.term().value) +
           " with votes from " + voters_string(got) + " (and its own), not a majority of " + conf.to_string());
    // Leader Completeness: every entry committed in an earlier term.
    for (const auto& [index, c] : committed_) {
      if (c.commit_term >= r.term() || Index(index) < r.log().first_index()) continue;
      if (r.log().term_at(Index(index)) != c.term) {
        fail("leader " + std::to_string(id.value) + " of term " + std::to_string(r.term().value) +
             " lacks entry " + std::to_string(index) + " committed in term " +
             std::to_string(c.commit_term.value));
        break;
      }
    }
  }
  if (leader_now && was_leader_same_term) {
    // Leader Append-Only: its previous last entry is still there.
    if (r.last_index() < s.leader_last || r.log().term_at(s.leader_last) != s.leader_last_term) {
      fail("leader " + std::to_string(id.value) + " of term " + std::to_string(r.term().value) +
           " changed its log below index " + std::to_string(s.leader_last.value));
    }
  }
  s.term = r.term();
  s.commit = r.commit_index();
  s.role = r.role();
  s.leader_last = r.last_index();
  s.leader_last_term = r.last_term();
}

void Invariants::ready(NodeId id, const core::Raft& r, const core::Ready& rd) {
  ++checks_;
  if (r.role() == Role::kLeader && rd.truncate_from)
    fail("leader " + std::to_string(id.value) + " truncated its log");
  // Log Matching, inductively: an (index, term) pair always names the
  // same payload and the same previous term on every node.
  for (const Entry& e : rd.entries) {
    std::optional<Term> prev = r.log().term_at(e.index - 1);
    match_entry(id, e, prev ? prev->value : UINT64_MAX, /*register_it=*/false);
    // Configuration entries a leader wrote in its term (the Ready comes
    // right after the input that appended them).
    if (e.type == EntryType::kConfiguration && r.role() == Role::kLeader && e.term == r.term())
      check_configuration_append(id, r, e);
  }
  if (rd.install && rd.install->info.index > r.commit_index())
    fail("node " + std::to_string(id.value) + " installed snapshot " + std::to_string(rd.install->info.index.value) +
         " beyond its commit index " + std::to_string(r.commit_index().value));
}

void Invariants::check_configuration_append(NodeId id, const core::Raft& r, const Entry& e) {
  ++checks_;
  Configuration next;
  if (!decode_configuration(e.data.span(), &next)) {
    fail("leader " + std::to_string(id.value) + " appended an undecodable configuration at " +
         std::to_string(e.index.value));
    return;
  }
  // The configuration in effect before this entry: the latest earlier one
  // in the log, else the one the snapshot recorded (the log may have been
  // compacted past it, thesis 5.1).
  Configuration prev;
  Index prev_index(0);
  bool found = false;
  for (Index i = e.index - 1; i >= r.log().first_index() && i > Index(0); --i) {
    const Entry& x = r.log().at(i);
    if (x.type != EntryType::kConfiguration) continue;
    found = decode_configuration(x.data.span(), &prev);
    prev_index = i;
    break;
  }
  if (!found) {
    prev = r.latest_snapshot().configuration;
    prev_index = r.latest_snapshot().configuration_index;
  }
  if (prev.servers.empty() && prev.old_voters.empty()) return;  // nothing to compare with
  std::string who = "leader " + std::to_string(id.value) + " of term " + std::to_string(r.term().value);
  // Thesis 4.1: a change starts only once the previous one committed.
  if (prev_index > r.commit_index()) {
    fail(who + " appended configuration " + next.to_string() + " at " + std::to_string(e.index.value) +
         " while configuration " + prev.to_string() + " at " + std::to_string(prev_index.value) +
         " was uncommitted (two configuration changes in flight)");
    return;
  }
  // Thesis 4.2 / 4.3: consecutive configurations share a majority.
  std::vector<NodeId> pv = prev.voters(), nv = next.voters();
  if (next.joint()) {
    std::vector<NodeId> old = next.old_voters;
    std::sort(old.begin(), old.end());
    if (prev.joint() || old != pv)
      fail(who + " entered joint consensus " + next.to_string() + " from " + prev.to_string() +
           ": the old half is not the configuration in effect");
    return;
  }
  if (prev.joint()) {
    if (nv != pv)
      fail(who + " left joint consensus " + prev.to_string() + " for " + next.to_string() +
           " instead of its new half " + voters_string(pv));
    return;
  }
  std::vector<NodeId> diff;
  std::set_symmetric_difference(pv.begin(), pv.end(), nv.begin(), nv.end(), std::back_inserter(diff));
  if (diff.size() > 1)
    fail(who + " changed the voters from " + voters_string(pv) + " to " + voters_string(nv) +
         " in one step: the two configurations can have disjoint majorities");
}

void Invariants::leader_committed(NodeId leader, Index index, Term term, const Configuration& config,
                                  const std::function<bool(NodeId)>& holds) {
  ++checks_;
  // Thesis 3.6 / 4.3: committed means stored on a majority of the voters
  // (of each half of a joint configuration).
  auto majority_holds = [&](const std::vector<NodeId>& voters) {
    if (voters.empty()) return true;
    size_t n = 0;
    for (NodeId v : voters) n += holds(v);
    return n >= voters.size() / 2 + 1;
  };
  std::vector<NodeId> voters = config.voters();
  bool ok = majority_holds(voters) && majority_holds(config.old_voters);
  if (!ok) {
    auto holders = [&](const std::vector<NodeId>& ids) {
      std::vector<NodeId> h;
      for (NodeId v : ids)
        if (holds(v)) h.push_back(v);
      return voters_string(h);
    };
    fail("leader " + std::to_string(leader.value) + " committed index " + std::to_string(index.value) +
         " (term " + std::to_string(term.value) + ") held durably by " + holders(voters) + " of the voters " +
         voters_string(voters) +
         (config.joint() ? " and " + holders(config.old_voters) + " of the old voters " + voters_string(config.old_voters)
                         : std::string()) +
         ": not a majority");
  }
}

void Invariants::log_replaced(NodeId id, const core::Raft& r) {
  Seen& s = seen_[id];
  s.leader_last = r.last_index();
  s.leader_last_term = r.last_term();
}

void Invariants::reference_state(Index i, uint64_t digest) {
  if (i.value != reference_.size()) {
    fail("simulator: reference state fed out of order at " + std::to_string(i.value));
    return;
  }
  reference_.push_back(digest);
}

void Invariants::reference_skip(Index i) {
  if (reference_.empty() || i.value != reference_.size()) {
    fail("simulator: reference state skipped out of order at " + std::to_string(i.value));
    return;
  }
  reference_.push_back(reference_.back());
}

void Invariants::state_applied(NodeId id, Index i, uint64_t digest) {
  ++checks_;
  if (i.value < reference_.size() && reference_[i.value] != digest)
    fail("state machine safety: node " + std::to_string(id.value) + " after applying index " +
         std::to_string(i.value) + " holds a state other than the committed log's");
}

void Invariants::state_restored(NodeId id, Index i, uint64_t digest, const char* how) {
  ++checks_;
  // A snapshot is taken at an applied index, so some node applied (or
  // restored) every index up to it: the reference has reached it.
  if (i.value >= reference_.size()) {
    fail("snapshot: node " + std::to_string(id.value) + " " + how + " a snapshot ending at " +
         std::to_string(i.value) + ", beyond every state the committed log produced (" +
         std::to_string(reference_.size() - 1) + ")");
    return;
  }
  if (reference_[i.value] != digest)
    fail("snapshot: node " + std::to_string(id.value) + " " + how + " a snapshot ending at " +
         std::to_string(i.value) + " whose state differs from the committed log applied up to there");
}

void Invariants::compacted(NodeId id, const core::Raft& r, Index to, Index snapshot) {
  ++checks_;
  // Thesis 5.1: only what a durable snapshot covers may go, and a
  // snapshot covers only committed (applied) entries.
  if (to > snapshot || to > r.commit_index())
    fail("node " + std::to_string(id.value) + " compacted its log up to " + std::to_string(to.value) +
         " past its newest durable snapshot (" + std::to_string(snapshot.value) + ") or its commit index (" +
         std::to_string(r.commit_index().value) + ")");
}

void Invariants::match_entry(NodeId id, const Entry& e, uint64_t prev_term, bool register_it) {
  auto key = std::make_pair(e.index.value, e.term.value);
  auto value = std::make_pair(prev_term, hash_of(e));
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (register_it) entries_.emplace(key, value);
    return;
  }
  bool prev_differs = prev_term != UINT64_MAX && it->second.first != UINT64_MAX && it->second.first != prev_term;
  if (prev_differs || it->second.second != value.second) {
    fail("log matching: node " + std::to_string(id.value) + " holds a different entry at index " +
         std::to_string(e.index.value) + " term " + std::to_string(e.term.value));
  }
  if (it->second.first == UINT64_MAX) it->second.first = prev_term;
}

void Invariants::durable(NodeId id, const std::vector<Entry>& entries, uint64_t prev_term) {
  ++checks_;
  for (const Entry& e : entries) {
    match_entry(id, e, prev_term, true);
    prev_term = e.term.value;
  }
}

void Invariants::applied(NodeId id, const Entry& e) {
  ++checks_;
  EntryId eid{e.term, hash_of(e)};
  auto [it, fresh] = applied_.try_emplace(e.index.value, eid);
  if (!fresh && !(it->second == eid)) {
    fail("state machine safety: node " + std::to_string(id.value) + " applied term " +
         std::to_string(e.term.value) + " at index " + std::to_string(e.index.value) +
         " where another node applied term " + std::to_string(it->second.term.value));
  }
}

void Invariants::sent(const core::Message& m, const HardState& durable_hs, const DiskLog& durable_log,
                      Index durable_snapshot, const core::Raft& sender) {
  ++checks_;
  std::string who = "node " + std::to_string(m.from.value);
  const auto* rv = std::get_if<core::RequestVote>(&m.body);
  const auto* rvr = std::get_if<core::RequestVoteResponse>(&m.body);
  bool speculative = (rv && rv->pre_vote) || (rvr && rvr->pre_vote);
  if (!speculative) {
    Seen& s = seen_[m.from];
    s.sent_term = std::max(s.sent_term, m.term);
  }
  if (!speculative && m.term > durable_hs.term) {
    fail(who + " sent " + core::message_type_name(m.body) + " in term " +
         std::to_string(m.term.value) + " before that term was durable");
  }
  // (A later durable term also makes the vote safe: the node can never
  // vote in m.term again.)
  if (rvr && !rvr->pre_vote && rvr->granted) {
    std::vector<NodeId>& v = votes_[{m.term.value, m.to.value}];
    if (std::find(v.begin(), v.end(), m.from) == v.end()) v.push_back(m.from);
  }
  if (rvr && !rvr->pre_vote && rvr->granted && durable_hs.term <= m.term &&
      (durable_hs.term != m.term || durable_hs.vote != m.to)) {
    fail(who + " granted its vote to " + std::to_string(m.to.value) + " before the vote was durable");
  }
  if (const auto* ae = std::get_if<core::AppendEntries>(&m.body)) {
    uint64_t prev = ae->prev_log_term.value;
    for (const Entry& e : ae->entries) {
      match_entry(m.from, e, prev, true);
      prev = e.term.value;
    }
  }
  if (const auto* r = std::get_if<core::AppendEntriesResponse>(&m.body); r && r->success) {
    // Durable: in the disk's log with the same term, or covered by a
    // durable snapshot (which holds only committed entries).
    Index m_idx = r->match_index;
    bool durable = m_idx == Index(0) || m_idx <= durable_snapshot ||
                   (durable_log.term_at(m_idx).has_value() && durable_log.term_at(m_idx) == sender.log().term_at(m_idx));
    if (m_idx >= sender.log().first_index() && !durable) {
      fail(who + " acknowledged index " + std::to_string(m_idx.value) +
           " before it was durable (durable log ends at " + std::to_string(durable_log.last_index().value) + ")");
    }
  }
}

void Invariants::full_check(const std::vector<const core::Raft*>& live) {
  ++checks_;
  for (size_t a = 0; a < live.size(); ++a) {
    for (size_t b = a + 1; b < live.size(); ++b) {
      const core::LogView& la = live[a]->log();
      const core::LogView& lb = live[b]->log();
      Index lo = std::max(la.first_index(), lb.first_index());
      Index hi = std::min(la.last_index(), lb.last_index());
      // Find the highest common (index, term); everything before must match.
      Index top(0);
      for (Index i = hi; i >= lo && i > Index(0); --i) {
        if (la.term_at(i) == lb.term_at(i)) {
          top = i;
          break;
        }
      }
      for (Index i = lo; i <= top; ++i) {
        const Entry& x = la.at(i);
        const Entry& y = lb.at(i);
        if (x.term != y.term || hash_of(x) != hash_of(y)) {
          fail("log matching: nodes " + std::to_string(live[a]->id().value) + " and " +
               std::to_string(live[b]->id().value) + " agree at index " + std::to_string(top.value) +
               " but differ at " + std::to_string(i.value));
          return;
        }
      }
    }
  }
}

}  // namespace raft::sim
