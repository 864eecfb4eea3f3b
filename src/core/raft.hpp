// Raft: one server's consensus state machine, pure.
//
// Inputs are method calls: tick() hands in the time, receive() a message,
// propose() a command, read_index() a read, persisted() a completed disk
// sync. Outputs accumulate until take_ready() returns them (ready.hpp
// states what the caller must do with them, and in which order). Nothing
// here does I/O, reads a clock, starts a thread or uses global randomness,
// so a cluster of cores can run in one thread under a simulated network
// and disk, deterministically (tests/sim).
//
// Where each rule lives (one file per concept):
//   election.cpp     timeouts, pre-vote, votes, stickiness, check-quorum
//   replication.cpp  AppendEntries both ways, heartbeats, commit, acks
//   read_index.cpp   linearizable reads (thesis 6.4)
//   membership.cpp   configurations in the log (thesis 4.1)
//   senders.cpp      which senders' messages are processed at all
//   raft.cpp         terms, dispatch, Ready assembly
//
// Thread safety: none; one thread drives a core.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"
#include "core/log_view.hpp"
#include "core/message.hpp"
#include "core/progress.hpp"
#include "core/quorum.hpp"
#include "core/random.hpp"
#include "core/ready.hpp"
#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::core {

// What a node recovers from its storage on start. Everything here is
// durable.
struct InitialState {
  HardState hard_state;
  // The latest snapshot, if any (index 0: none). The state machine has
  // been restored from it (or holds its state already).
  SnapshotInfo snapshot;
  // The log in index order. Without a snapshot it starts at 1; with one it
  // starts at or before snapshot.index + 1 (entries kept after compaction).
  std::vector<Entry> entries;
  // Entries up to here are known committed (a lazily stored hint); they
  // are applied at once, without waiting for a leader.
  Index commit_hint;
};

// Why a leader last stepped down (for operators: logs and stats).
enum class StepDownReason : uint8_t {
  kNone,
  kHigherTerm,  // a message carried a higher term (thesis 3.3)
  kLostQuorum,  // check-quorum: no answer from a majority (thesis 6.2)
  kRequested,   // the caller asked (e.g. the runtime: its disk stalled)
  kRemoved,     // the committed configuration no longer has it as a voter (4.2.2)
  kTransfer,    // it handed leadership to another server (3.10)
};
const char* step_down_reason_name(StepDownReason r);

// What receive() did with a message, so the runtime can count refusals.
enum class Receipt : uint8_t {
  kProcessed,      // handed to the protocol rules (which may find it stale)
  kIgnored,        // dropped unread: not addressed to us, or malformed
  kUnknownSender,  // dropped unread: from a server we do not know (senders.cpp)
};

// A single-server membership change (thesis 4.2). Adding a voter first
// adds it as a non-voter and promotes it once it has caught up (4.2.1).
enum class ConfChangeType : uint8_t { kAddVoter, kAddNonVoter, kRemoveServer, kDemoteVoter };
struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId id;
  std::string address;  // for additions
};

// Where a proposal landed in the log. The entry commits at `index` only if
// the entry applied there has this `term`.
struct LogPosition {
  Index index;
  Term term;
};

class Raft {
 public:
  // Whether a stored log (index order) can follow the snapshot: it starts
  // right after it, or overlaps it with the snapshot's last entry. A log
  // that does not is dropped at start (the snapshot is the committed
  // truth), and its host must reset its log store to match.
  static bool log_continues_snapshot(const SnapshotInfo& snapshot, const std::vector<Entry>& entries);
  Raft(const Config& config, InitialState state, Nanos now);

  // ---- Inputs ----

  // Hands in the current time; fires election, heartbeat and check-quorum
  // timers that are due. Time must not go backwards.
  void tick(Nanos now);
  // A message from a peer. Malformed or stale messages are ignored, and so
  // are messages from servers outside the configuration unless they prove
  // a log ahead of ours (senders.cpp). Callers may ignore the result.
  Receipt receive(const Message& m);
  // Appends one command (or noop/barrier) to the leader's log. Errors:
  // kNotLeader (with the leader's id in the message when known).
  Result<LogPosition> propose(EntryType type, Buffer data);
  // Appends several commands at consecutive indexes in one go; returns the
  // position of the first.
  Result<LogPosition> propose_batch(std::span<const Buffer> commands);
  // Requests a linearizable read (thesis 6.4). The answer, ok or not,
  // comes back as a ReadState with this id in a later Ready.
  void read_index(uint64_t id);
  // Storage made every log write handed out up to and including the entry
  // (index, term) durable. Stale notices (the entry was truncated since)
  // are ignored.
  void persisted(Index index, Term term);
  // Writes the first configuration of a brand-new cluster: entry 1, term
  // 1. AlreadyExists unless this node has no log, no snapshot and term 0.
  Status bootstrap(const Configuration& configuration);
  // A leader steps down to follower in the same term (it may be elected
  // again later). The runtime uses it when the leader's own disk stalls.
  void step_down(StepDownReason why);
  // Starts a membership change (membership.cpp). Immediate errors:
  // kNotLeader; kBusy while another change is uncommitted, a transfer is
  // running, or before this leader committed an entry of its term;
  // kInvalidArgument / kNotFound for a change that makes no sense. The
  // outcome comes later as a RequestResult with `request_id`.
  Status change_membership(uint64_t request_id, const ConfChange& change);
  // Moves to `target` (any number of servers changed) through joint
  // consensus (thesis 4.3): C_old,new, then C_new.
  Status change_configuration(uint64_t request_id, const Configuration& target);
  // ---- Snapshots (snapshot.cpp) ----

  // The caller stored a snapshot of the state machine (info.index at most
  // the last index it was given to apply). The log is compacted up to
  // info.index - trailing_entries (Ready::compact_to).
  void snapshot_taken(const SnapshotInfo& info);
  // Leader: the bytes a SnapshotRead asked for (`last`: they end the
  // snapshot), or an error (the transfer restarts with the newest snapshot).
  void snapshot_chunk_read(NodeId peer, const std::string& id, uint64_t offset, Buffer data, bool last,
                           const Status& status);
  // Follower: the chunks of `info.index` from `leader` are written up to
  // next_offset. With `installed` the caller has committed the snapshot
  // (checksum verified) under `info.id`: the core installs it
  // (Ready::install). A failed write restarts the transfer.
  void snapshot_chunk_written(NodeId leader, const SnapshotInfo& info, uint64_t next_offset, bool installed,
                              const Status& status);
  const SnapshotInfo& latest_snapshot() const { return snapshot_; }
  // Leader: replaces the cluster's state with a snapshot the user gave
  // (Hashicorp's Restore). info.index must be last_index() + 1 and
  // info.term the current term (else kBusy: entries arrived meanwhile).
  // The log restarts after it, followers receive it by InstallSnapshot,
  // and a noop is appended; returns the noop's position, whose commit
  // means a majority holds the snapshot.
  Result<LogPosition> restore_snapshot(const SnapshotInfo& info);

  // Hands leadership to `target` (kNoNode: the most up-to-date voter),
  // thesis 3.10. Proposals are refused (kBusy) meanwhile. The result is OK
  // once another leader is known, kTimeout after an election timeout
  // without one (this node then leads on).
  Status transfer_leadership(uint64_t request_id, NodeId target);

  // ---- Outputs ----

  bool has_ready() const;
  Ready take_ready();
  // The latest time by which tick() must be called next. It changes after
  // any input, whether or not that input produced a Ready.
  Nanos next_deadline() const;

  // ---- Queries ----

  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  Term term() const { return hs_.term; }
  NodeId voted_for() const { return hs_.vote; }
  NodeId leader() const { return leader_; }
  Index commit_index() const { return commit_; }
  Index durable_index() const { return durable_index_; }
  Index last_index() const { return log_.last_index(); }
  Term last_term() const { return log_.last_term(); }
  const LogView& log() const { return log_; }
  // The latest configuration in the log (in effect: thesis 4.1), and the
  // latest committed one.
  const Configuration& configuration() const { return configs_.back().config; }
  Index configuration_index() const { return configs_.back().index; }
  const Configuration& committed_configuration() const;
  // True once a committed configuration no longer names this node while an
  // earlier one did: it was removed (a joining node, which sees older
  // configurations without itself first, is not).
  bool removed_from_cluster() const;
  Nanos now() const { return now_; }
  StepDownReason last_step_down_reason() const { return step_down_reason_; }
  // The leader's view of a follower; nullptr on non-leaders or unknown ids.
  const Progress* progress(NodeId id) const;
  const Config& config() const { return config_; }
  // Whether a leadership transfer is under way (proposals are refused).
  bool transferring() const { return transfer_.has_value(); }

 private:
  // raft.cpp
  void send(NodeId to, MessageBody body);
  void send_with_term(NodeId to, Term term, MessageBody body);
  void set_term(Term t);  // new term: forget the vote
  void reset_election_timer();
  void emit_committed(Ready* rd);
  void fail_pending_reads(ErrorCode why);

  // election.cpp
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  enum class Campaign { kPreVote, kElection, kTransfer };
  void campaign(Campaign kind);
  void handle_request_vote(const Message& m, const RequestVote& rv);
  void handle_request_vote_response(const Message& m, const RequestVoteResponse& r);
  bool in_leader_lease() const;
  bool promotable() const;  // may campaign: a voter of the latest config
  void check_quorum();
  void tick_election();

  // replication.cpp
  void append_local(EntryType type, Buffer data);
  void broadcast_append();
  bool maybe_send_append(NodeId to, Progress& pr, bool allow_empty);
  void broadcast_heartbeat();
  void send_heartbeat(NodeId to, const Progress& pr);
  void handle_append_entries(const Message& m, const AppendEntries& ae);
  void handle_append_entries_response(const Message& m, const AppendEntriesResponse& r);
  void handle_heartbeat(const Message& m, const Heartbeat& hb);
  void handle_heartbeat_response(const Message& m, const HeartbeatResponse& r);

  // snapshot.cpp
  void start_snapshot_transfer(NodeId to, Progress& pr);
  void request_snapshot_chunks(NodeId to, Progress& pr);
  void handle_install_snapshot(const Message& m, const InstallSnapshot& is);
  void handle_install_snapshot_response(const Message& m, const InstallSnapshotResponse& r);
  void compact_configs(Index upto);
  void release(std::deque<Entry> dropped);  // to Ready::released
  void maybe_send_ack();
  bool maybe_commit();
  void commit_to(Index i);
  void truncate_log_from(Index i);

  // read_index.cpp
  void start_read_round(uint64_t id);
  void advance_reads();
  void release_reads_waiting_for_term_commit();

  // senders.cpp
  bool known_sender(NodeId id) const;
  bool admit_unknown_sender(const Message& m) const;

  // membership.cpp
  struct ConfigAt {
    Index index;
    Configuration config;
  };
  void config_appended(const Entry& e);
  void configs_truncated(Index from);
  void apply_configuration_change();  // cache voters, rebuild progress
  Status check_change_allowed() const;
  void append_configuration(Configuration c);
  void advance_membership();  // after commits and acks: next step of a change
  void finish_change(Status s, Index index);
  void check_catch_up(NodeId id, const Progress& pr);

  // transfer.cpp
  void advance_transfer();
  void finish_transfer(Status s);
  bool is_voter(NodeId id) const { return voters_.contains(id); }

  Config config_;
  Random rng_;
  Nanos now_{0};

  // Persistent state (thesis Figure 3.1). hs_reported_ is what the last
  // Ready asked to persist; hs_ != hs_reported_ means a write is due.
  HardState hs_;
  HardState hs_reported_;

  Role role_ = Role::kFollower;
  NodeId leader_ = kNoNode;
  StepDownReason step_down_reason_ = StepDownReason::kNone;
  // When this node last heard from the current leader (for stickiness).
  Nanos leader_contact_{-1};

  LogView log_;
  // Invariant: the storage has been asked to hold exactly log_[.. handed_last_]
  // (plus pending_truncate_ then log_(handed_last_ ..] in the next Ready).
  Index handed_last_;
  std::optional<Index> pending_truncate_;
  // Invariant: durable_index_ <= last_index(); storage holds log_[.. durable_index_]
  // durably.
  Index durable_index_;

  // Invariant: applied_emitted_ <= commit_ <= last_index().
  Index commit_;
  Index applied_emitted_;
  Index commit_hint_reported_;

  // Timers. election_deadline_ drives followers and candidates;
  // heartbeat_deadline_ and quorum_deadline_ drive leaders.
  Nanos election_deadline_{0};
  Nanos heartbeat_deadline_{0};
  Nanos quorum_deadline_{0};

  // Candidate and pre-candidate: +1 granted, -1 rejected.
  std::unordered_map<NodeId, int> votes_;

  // Leader only.
  std::map<NodeId, Progress> progress_;
  Index term_start_index_;  // index of this leader's first entry (its noop)
  bool replicate_dirty_ = false;

  // Follower: the highest index it has verified against the current
  // leader's log in this term, and whether an acknowledgement is owed once
  // storage catches up.
  Index verified_match_;
  bool ack_owed_ = false;
  Index ack_needed_;  // the last entry of the latest AppendEntries to answer
  Index last_acked_;  // the highest match index already reported

  // ReadIndex (leader). Rounds are numbered; a read waits until a quorum
  // has answered a heartbeat of its round or a later one.
  struct PendingRead {
    uint64_t id;
    Index index;
    uint64_t round;
  };
  uint64_t read_round_ = 0;
  bool read_round_needs_send_ = false;
  std::deque<PendingRead> pending_reads_;
  std::vector<uint64_t> reads_awaiting_term_commit_;

  // The latest snapshot (taken here or installed from a leader).
  SnapshotInfo snapshot_;
  std::vector<SnapshotRead> out_snapshot_reads_;
  std::vector<SnapshotChunk> out_snapshot_chunks_;
  std::optional<Ready::Install> out_install_;
  std::optional<Index> out_compact_to_;
  std::unique_ptr<std::deque<Entry>> out_released_;  // Ready::released

  // Configurations: the snapshot's, then one per configuration entry in
  // the log, in index order. Never empty; back() is in effect.
  std::vector<ConfigAt> configs_;
  VoterSets voters_;

  // A membership change under way (leader). Single-server changes that
  // add a voter go through a catch-up stage; joint changes through two
  // entries.
  struct PendingChange {
    uint64_t id = 0;
    enum class Stage : uint8_t { kCatchUp, kFinal, kJoint } stage = Stage::kFinal;
    NodeId server;            // kCatchUp: the non-voter being caught up
    Index round_target;       // kCatchUp: the leader's last index at round start
    Nanos round_start{0};
    Configuration target;     // kJoint: the configuration to end in
    Index entry;              // the entry whose commit moves the change on
  };
  std::optional<PendingChange> change_;
  // Progress is kept for servers whose removal has not committed yet.
  bool prune_pending_ = false;

  // A leadership transfer under way (thesis 3.10).
  struct Transfer {
    uint64_t id = 0;
    NodeId target;
    Nanos deadline{0};
    bool timeout_now_sent = false;
  };
  std::optional<Transfer> transfer_;
  std::vector<RequestResult> out_done_;

  // Output collected for the next Ready.
  std::vector<Message> out_messages_;
  std::vector<ReadState> out_reads_;
};

}  // namespace raft::core
