// Configuration of one consensus core (src/core). The runtime derives it
// from the public raft::Config; the simulator builds it directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "util/types.hpp"

namespace raft::core {

// Time inside the core: nanoseconds since an arbitrary epoch, handed in by
// the caller through Raft::tick(). The core never reads a clock.
using Nanos = std::chrono::nanoseconds;

struct Config {
  NodeId id;

  // Followers start an election after a random time in
  // [election_timeout, 2 * election_timeout) without hearing from a leader
  // (thesis 3.4). A leader that cannot reach a quorum for one election
  // timeout steps down (check-quorum, thesis 6.2).
  Nanos election_timeout{std::chrono::milliseconds(1000)};
  // How often a leader sends heartbeats; well below election_timeout.
  Nanos heartbeat_interval{std::chrono::milliseconds(100)};
  // After its commit index moves, a leader sends a heartbeat (which carries
  // it) within this long, so followers apply promptly when no append is
  // going out anyway. At most heartbeat_interval.
  Nanos commit_timeout{std::chrono::milliseconds(50)};
  // A leader checks every this long that a quorum answered it in the
  // period (check-quorum, thesis 6.2). At most election_timeout.
  Nanos quorum_check_interval{std::chrono::milliseconds(1000)};

  // Thesis 9.6: a node first asks whether it could win before it bumps
  // its term, so a partitioned node rejoining does not depose a leader.
  bool pre_vote = true;
  // Thesis 6.2: a leader steps down when it has not heard from a quorum
  // within an election timeout. With check_quorum on, a node that heard
  // from a leader within the election timeout also ignores vote requests
  // (thesis 4.2.3, leader stickiness).
  bool check_quorum = true;

  // Replication batching and flow control, per follower.
  size_t append_entries_max = 1024;        // entries in one AppendEntries
  size_t append_bytes_max = 1 << 20;       // payload bytes in one AppendEntries
  size_t inflight_appends_max = 256;       // pipelined AppendEntries in flight
  size_t inflight_bytes_max = 32u << 20;   // payload bytes in flight

  // Entries kept in the log after a snapshot, so that a follower a little
  // behind catches up from the log rather than by a snapshot transfer.
  uint64_t trailing_entries = 10240;
  // InstallSnapshot streaming: bytes per chunk and chunks in flight.
  size_t snapshot_chunk_bytes = 1 << 20;
  size_t snapshot_chunks_inflight = 4;

  // Seeds the core's own PRNG (election timeout jitter).
  uint64_t seed = 1;

  // Returns false and explains why for nonsense values.
  bool valid(std::string* why) const;
};

}  // namespace raft::core
