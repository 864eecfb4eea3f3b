// The 2015 API's defaults (raft_default_config) and backend names, shared
// by the option parser and by raft_init's translation of a RaftConfig.
#pragma once

#include <cstdint>
#include <cstring>

namespace raft::compat {

inline constexpr uint64_t kNsPerMs = 1000 * 1000;
inline constexpr uint64_t kNsPerSecond = 1000 * kNsPerMs;

// Ignored now (the engine runs in-process), kept so that a program that
// prints them sees something plausible.
inline constexpr const char* kDefaultShmPath = "/libraft";
inline constexpr uint64_t kDefaultShmSize = uint64_t{64} << 20;
inline constexpr uint32_t kDefaultApiWorkers = 4;

inline constexpr const char* kDefaultBackend = "boltdb";
inline constexpr uint16_t kDefaultListenPort = 9001;

// Hashicorp's defaults in 2015, as the 2015 library dumped them from Go.
inline constexpr uint64_t kDefaultHeartbeatTimeoutNs = 1 * kNsPerSecond;
inline constexpr uint64_t kDefaultElectionTimeoutNs = 1 * kNsPerSecond;
inline constexpr uint64_t kDefaultCommitTimeoutNs = 50 * kNsPerMs;
inline constexpr uint32_t kDefaultMaxAppendEntries = 64;
inline constexpr uint64_t kDefaultTrailingLogs = 10240;
inline constexpr uint64_t kDefaultSnapshotIntervalNs = 120 * kNsPerSecond;
inline constexpr uint64_t kDefaultSnapshotThreshold = 8192;
inline constexpr uint64_t kDefaultLeaderLeaseTimeoutNs = 500 * kNsPerMs;
inline constexpr uint32_t kDefaultRetainSnapshots = 8;

inline constexpr const char* kBackendChoices = "boltdb or wal: durable, in --dir; inmem or memory: in memory";

// The 2015 backends were Hashicorp's stores: "boltdb" (durable) and
// "inmem". Both map onto this project's stores; "wal" and "memory" are
// their own names.
inline bool backend_durable(const char* name) {
  return std::strcmp(name, "boltdb") == 0 || std::strcmp(name, "wal") == 0;
}
inline bool backend_in_memory(const char* name) {
  return std::strcmp(name, "inmem") == 0 || std::strcmp(name, "memory") == 0;
}
inline bool backend_known(const char* name) { return backend_durable(name) || backend_in_memory(name); }

}  // namespace raft::compat
