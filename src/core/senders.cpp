// Which senders a node listens to.
//
// A node processes messages only from servers it knows: those named in any
// configuration it holds (configs_: the snapshot's and every configuration
// entry in its log, committed or not; servers of every role, and the old
// voters of a joint configuration), and, on a leader, those it still has a
// Progress for (a server being removed that is still being told so). A
// message from anyone else is dropped before it can change our term, vote,
// leader or election timer: a removed server that keeps running without
// the entry that removed it, or a misconfigured one, cannot disrupt the
// cluster by campaigning at ever higher terms (thesis 4.2.3 deals with
// the same threat by stickiness; this stops it outside leader leases too).
//
// Not knowing a sender can also mean that we are behind: a joining server
// starts with an empty configuration, and a lagging one lacks the entry
// that added the sender. Such a node must still follow the leader and may
// be needed to elect a new member, so a message from an unknown server is
// processed when it proves that its sender has seen more of the log than
// we have:
//
// - AppendEntries, Heartbeat, InstallSnapshot: when m.term > our last log
//   term. A legitimate leader we do not know was added by an entry we
//   lack. Had we any entry of its term, we would hold its log up to that
//   entry (Log Matching, thesis 3.5), hence the log it was elected with,
//   which names it; so its term is above our last entry's. (A leader whose
//   removal committed may be unknown to a node that compacted past it; it
//   steps down once it learns of that commit.) A node with an empty log
//   (last term 0) follows any leader. Such a message below our own term
//   changes nothing here: it only earns a rejection carrying our term
//   (thesis 3.3), which the leader needs to hear. Our term can run ahead
//   of the leader's while we lag (pre-vote off, or a transfer's vote
//   request that reached only us); were the leader left unanswered, it
//   would never step down for a term we could follow, and we would never
//   catch up (SendersTest.ALaggingNodeWhoseTermRanAheadCatchesUp).
// - RequestVote, pre-vote or real: when the candidate's log is strictly
//   more up to date than ours (thesis 3.6.1 order: last term, then last
//   index). A removed server that keeps campaigning lacks the entry that
//   removed it, so its log is not ahead of ours; a new member whose log is
//   ahead is a legitimate candidate whose election may need our vote (for
//   example {3,4,5} after replacing 1 and 2 while 3 was partitioned: if 5
//   dies, 4 needs 3's vote).
// - Anything else (responses of any kind, TimeoutNow): never. We send
//   requests only to servers we know, and a leader sends TimeoutNow only
//   to a target that holds its whole log, which names the leader.
#include "core/raft.hpp"

namespace raft::core {

bool Raft::known_sender(NodeId id) const {
  // Latest first: that is where almost every sender is found.
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it)
    if (it->config.is_member(id)) return true;
  return role_ == Role::kLeader && progress_.count(id) != 0;
}

bool Raft::admit_unknown_sender(const Message& m) const {
  if (std::holds_alternative<AppendEntries>(m.body) || std::holds_alternative<Heartbeat>(m.body) ||
      std::holds_alternative<InstallSnapshot>(m.body))
    return m.term > log_.last_term();
  if (const auto* rv = std::get_if<RequestVote>(&m.body)) {
    return rv->last_log_term > log_.last_term() ||
           (rv->last_log_term == log_.last_term() && rv->last_log_index > log_.last_index());
  }
  return false;
}

}  // namespace raft::core
