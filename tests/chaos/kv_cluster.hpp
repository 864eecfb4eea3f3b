// Real raftkv processes for the chaos test, one per network namespace
// (netns.hpp), started, killed, paused and restarted by the test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "netns.hpp"

namespace raft::chaos {

struct KvTiming {
  int heartbeat_ms = 50;
  int election_ms = 500;
  int request_timeout_ms = 1500;
  int snapshot_threshold = 2000;  // small, so snapshots and installs happen under faults
  int snapshot_interval_ms = 1000;
  int trailing_logs = 500;
};

class KvCluster {
 public:
  static constexpr int kRaftPort = 7000;
  static constexpr int kHttpPort = 8000;

  KvCluster(NetNs& net, std::string raftkv, std::string dir, KvTiming timing);
  ~KvCluster() { stop_all(); }

  int size() const { return net_.nodes(); }
  std::string http_address(int node) const;  // "IP:PORT"
  int node_of_http(const std::string& address) const;  // 0 when unknown

  // Starts node (1-based) in its namespace, with its data directory kept
  // across restarts. Bootstraps on first start (--peers lists everyone).
  bool start(int node, std::string* why);
  void kill(int node);    // SIGKILL, reaped
  void pause(int node);   // SIGSTOP
  void resume(int node);  // SIGCONT
  bool running(int node) const;
  bool paused(int node) const;
  // SIGCONT everything, SIGTERM, wait (bounded), then SIGKILL what is left.
  // Returns how many nodes did not exit cleanly with status 0 on SIGTERM.
  int stop_all();

  // Nodes that exited on their own (a crash) since the last call, with the
  // tail of their log.
  std::vector<std::string> reap_crashes();

  std::string log_path(int node) const;
  std::string tail_log(int node, size_t lines) const;

 private:
  struct Proc {
    pid_t pid = -1;
    bool paused = false;
  };
  NetNs& net_;
  std::string raftkv_;
  std::string dir_;
  KvTiming timing_;
  mutable std::mutex mu_;
  std::vector<Proc> procs_;  // index = node
};

}  // namespace raft::chaos
