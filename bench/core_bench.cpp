// Consensus core throughput (src/core), with no I/O at all: the "disk" is
// durable the moment the core hands out entries (persisted() right after
// take_ready(), which the Ready contract allows) and the "network" is the
// benchmark handing messages in by hand. What is left is the core's own
// CPU cost per command, one thread.
//
// BM_LeaderCommit/<batch>: a leader of three voters in steady state.
//   Per iteration: propose_batch(<batch> commands of 128 B), take_ready()
//   (its entries, and one AppendEntries per follower), persisted(), then
//   the acknowledgements of both followers for the batch sent
//   kPipelineDepth iterations earlier, and take_ready() again (the
//   committed entries). items_per_second: commands committed per second
//   through the leader's core; acks_per_second: AppendEntriesResponses
//   handled.
// BM_FollowerAppend/<entries>: a follower handling AppendEntries with
//   <entries> entries of 128 B each (the leader's commit index one batch
//   behind, as in steady state), take_ready(), persisted(), take_ready()
//   (its acknowledgement). items_per_second: AppendEntries handled;
//   entries_per_second: entries appended.
// Both compact their log every kCompactEvery entries with
// snapshot_taken(), as the runtime does, so memory stays flat however
// long the run.
//
// The physical limit beside them:
// BM_EntryCopyFloor/<batch>: the container work any in-memory Raft log of
//   this design does per command and nothing else: copy each Entry into
//   a deque (the log), into the Ready's entries, into one message per
//   follower and into the Ready's committed list, then drop it from the
//   log's front. Five copies of a 56-byte struct and five atomic reference
//   count increments (and decrements) per command: memory and atomics
//   bound it, not Raft. The leader's figure over this one is the core's
//   overhead factor.
#include <benchmark/benchmark.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/raft.hpp"

namespace {

using raft::Buffer;
using raft::Configuration;
using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::NodeId;
using raft::ServerRole;
using raft::Term;
using raft::core::AppendEntries;
using raft::core::AppendEntriesResponse;
using raft::core::Config;
using raft::core::InitialState;
using raft::core::Message;
using raft::core::Nanos;
using raft::core::Raft;
using raft::core::Ready;
using raft::core::Role;
using raft::core::SnapshotInfo;

constexpr size_t kCommandBytes = 128;
// Batches sent and not yet acknowledged when the acks of the oldest one
// arrive (the leader's window allows 256).
constexpr size_t kPipelineDepth = 8;
// Log entries between two snapshot_taken() calls.
constexpr uint64_t kCompactEvery = 65536;

Configuration three_voters() {
  Configuration c;
  for (uint64_t id = 1; id <= 3; ++id)
    c.servers.push_back({NodeId(id), "n" + std::to_string(id), ServerRole::kVoter});
  return c;
}

Config core_config(uint64_t id) {
  Config c;
  c.id = NodeId(id);
  c.seed = id;
  return c;
}

// A freshly bootstrapped voter of three_voters(): entry 1 is the
// configuration, term 1.
std::unique_ptr<Raft> fresh_core(uint64_t id) {
  InitialState st;
  st.hard_state = {Term(1), raft::kNoNode};
  st.entries = {Entry{Index(1), Term(1), EntryType::kConfiguration, encode_configuration(three_voters())}};
  return std::make_unique<Raft>(core_config(id), std::move(st), Nanos(0));
}

Buffer payload(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + seed);
  return Buffer::copy_of(s);
}

// Elects node 1 among three cores with an instantaneous disk and network,
// waits until its noop is committed everywhere, and returns it; the
// followers are dropped (the benchmark plays their part from then on).
std::unique_ptr<Raft> elected_leader(std::string* error) {
  std::map<uint64_t, std::unique_ptr<Raft>> cores;
  for (uint64_t id = 1; id <= 3; ++id) cores[id] = fresh_core(id);
  std::deque<Message> wire;
  auto drain = [&](Raft& r) {
    while (r.has_ready()) {
      Ready rd = r.take_ready();
      if (!rd.entries.empty()) r.persisted(rd.entries.back().index, rd.entries.back().term);
      for (Message& m : rd.messages) wire.push_back(std::move(m));
    }
  };
  Raft& leader = *cores[1];
  Nanos now = 2 * leader.config().election_timeout + Nanos(1);
  leader.tick(now);
  for (auto& [id, c] : cores) drain(*c);
  for (int delivered = 0; !wire.empty() && delivered < 10000; ++delivered) {
    Message m = std::move(wire.front());
    wire.pop_front();
    Raft& to = *cores.at(m.to.value);
    to.receive(m);
    drain(to);
  }
  if (leader.role() != Role::kLeader || leader.commit_index() != leader.last_index() ||
      leader.progress(NodeId(2))->state != raft::core::Progress::State::kReplicate ||
      leader.progress(NodeId(3))->state != raft::core::Progress::State::kReplicate) {
    *error = "setup: node 1 did not become a leader with both followers replicating";
    return nullptr;
  }
  return std::move(cores[1]);
}

// What the runtime does after applying: tells the core a snapshot covers
// everything applied so far, which compacts the log.
void maybe_compact(Raft& r, Index applied, Index* last_snapshot) {
  if (applied.value - last_snapshot->value < kCompactEvery) return;
  SnapshotInfo info;
  info.id = "bench";
  info.index = applied;
  info.term = *r.log().term_at(applied);
  info.configuration = r.committed_configuration();
  info.configuration_index = r.configuration_index();
  r.snapshot_taken(info);
  *last_snapshot = applied;
}

Message ack(uint64_t from, Term term, Index match) {
  AppendEntriesResponse r;
  r.success = true;
  r.match_index = match;
  r.last_log_index = match;
  return Message{NodeId(from), NodeId(1), term, r};
}

void BM_LeaderCommit(benchmark::State& state) {
  size_t batch = static_cast<size_t>(state.range(0));
  std::string error;
  std::unique_ptr<Raft> leader = elected_leader(&error);
  if (!leader) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<Buffer> commands;
  for (size_t i = 0; i < batch; ++i) commands.push_back(payload(kCommandBytes, i));
  const Term term = leader->term();
  // The last index of each batch in flight, oldest first.
  std::deque<Index> in_flight;
  Index last_snapshot = leader->commit_index();
  int64_t committed = 0;
  int64_t acks = 0;
  for (auto _ : state) {
    auto pos = leader->propose_batch(commands);
    if (!pos.ok()) {
      state.SkipWithError("propose_batch failed");
      break;
    }
    Ready out = leader->take_ready();
    if (out.entries.size() != batch || out.messages.size() != 2) {
      state.SkipWithError("the leader did not hand out the batch and one append per follower");
      break;
    }
    leader->persisted(out.entries.back().index, out.entries.back().term);
    in_flight.push_back(out.entries.back().index);
    benchmark::DoNotOptimize(out);
    if (in_flight.size() > kPipelineDepth) {
      Index acked = in_flight.front();
      in_flight.pop_front();
      leader->receive(ack(2, term, acked));
      leader->receive(ack(3, term, acked));
      acks += 2;
      Ready done = leader->take_ready();
      committed += static_cast<int64_t>(done.committed.size());
      if (!done.committed.empty()) maybe_compact(*leader, done.committed.back().index, &last_snapshot);
      benchmark::DoNotOptimize(done);
    }
  }
  if (leader->role() != Role::kLeader) state.SkipWithError("the leader stepped down");
  state.SetItemsProcessed(committed);
  state.counters["acks_per_second"] = benchmark::Counter(static_cast<double>(acks), benchmark::Counter::kIsRate);
}

void BM_FollowerAppend(benchmark::State& state) {
  size_t count = static_cast<size_t>(state.range(0));
  std::unique_ptr<Raft> follower = fresh_core(2);
  const Term term(2);
  // The first contact from leader 1 in term 2 makes node 2 its follower
  // (a hard state to persist): done before the timed loop.
  {
    follower->receive(Message{NodeId(1), NodeId(2), term, AppendEntries{Index(1), Term(1), {}, Index(1)}});
    while (follower->has_ready()) follower->take_ready();
    if (follower->role() != Role::kFollower || follower->leader() != NodeId(1)) {
      state.SkipWithError("setup: node 2 did not follow node 1");
      return;
    }
  }
  // One message reused: each iteration renumbers its entries, so the loop
  // builds no new vectors (the decoder's cost is wire_bench's business).
  Message msg{NodeId(1), NodeId(2), term, AppendEntries{}};
  auto& ae = std::get<AppendEntries>(msg.body);
  for (size_t i = 0; i < count; ++i)
    ae.entries.push_back(Entry{Index(0), term, EntryType::kCommand, payload(kCommandBytes, i)});
  Index last(1);
  Term last_term(1);
  Index last_snapshot(0);
  int64_t messages = 0;
  for (auto _ : state) {
    ae.prev_log_index = last;
    ae.prev_log_term = last_term;
    ae.leader_commit = last;  // the leader committed what we acknowledged last time
    for (size_t i = 0; i < count; ++i) ae.entries[i].index = last + 1 + i;
    follower->receive(msg);
    Ready rd = follower->take_ready();
    if (rd.entries.size() != count) {
      state.SkipWithError("the follower did not hand out the entries");
      break;
    }
    last = rd.entries.back().index;
    last_term = term;
    follower->persisted(last, term);
    Ready acked = follower->take_ready();
    if (acked.messages.size() != 1) {
      state.SkipWithError("the follower did not acknowledge");
      break;
    }
    if (!rd.committed.empty()) maybe_compact(*follower, rd.committed.back().index, &last_snapshot);
    benchmark::DoNotOptimize(rd);
    benchmark::DoNotOptimize(acked);
    ++messages;
  }
  state.SetItemsProcessed(messages);
  state.counters["entries_per_second"] =
      benchmark::Counter(static_cast<double>(messages) * static_cast<double>(count), benchmark::Counter::kIsRate);
}

void BM_EntryCopyFloor(benchmark::State& state) {
  size_t batch = static_cast<size_t>(state.range(0));
  std::vector<Buffer> commands;
  for (size_t i = 0; i < batch; ++i) commands.push_back(payload(kCommandBytes, i));
  std::deque<Entry> log;
  uint64_t next = 1;
  for (auto _ : state) {
    for (const Buffer& b : commands) log.push_back(Entry{Index(next++), Term(2), EntryType::kCommand, b});
    // The batch's Entries, as they sit at the log's end.
    auto first = log.end() - static_cast<std::ptrdiff_t>(batch);
    std::vector<Entry> to_disk(first, log.end());
    std::vector<Entry> to_follower_2(first, log.end());
    std::vector<Entry> to_follower_3(first, log.end());
    std::vector<Entry> committed(first, log.end());
    benchmark::DoNotOptimize(to_disk.data());
    benchmark::DoNotOptimize(to_follower_2.data());
    benchmark::DoNotOptimize(to_follower_3.data());
    benchmark::DoNotOptimize(committed.data());
    while (log.size() > kCompactEvery) log.pop_front();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
}

BENCHMARK(BM_LeaderCommit)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_FollowerAppend)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_EntryCopyFloor)->Arg(1)->Arg(16)->Arg(256);

}  // namespace

// main(): bench/threaded_main.cpp.
