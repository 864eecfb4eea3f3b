#include "sim/invariants.hpp"

#include <functional>
#include <sstream>

namespace raft::sim {

using core::Role;

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
  }
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

void Invariants::sent(const core::Message& m, const HardState& durable_hs,
                      const std::vector<Entry>& durable_log, const core::Raft& sender) {
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
    Index m_idx = r->match_index;
    bool durable = m_idx.value <= durable_log.size() &&
                   (m_idx == Index(0) || m_idx < sender.log().first_index() ||
                    durable_log[m_idx.value - 1].term == sender.log().term_at(m_idx));
    if (m_idx >= sender.log().first_index() && !durable) {
      fail(who + " acknowledged index " + std::to_string(m_idx.value) +
           " before it was durable (durable log ends at " + std::to_string(durable_log.size()) + ")");
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
