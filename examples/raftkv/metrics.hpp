// GET /metrics: raftkv's counters in the Prometheus text exposition format
// (version 0.0.4), every name prefixed raftkv_.
//
// The numbers come from Node::metrics() (counters and latency histograms
// the library keeps since the node started), a few gauges read from the
// Node (term, commit and applied index, role), the store (number of keys)
// and the HTTP server (requests answered, by status code).
//
// Thread safety: HttpRequestCounts may be used from any thread;
// render_metrics is a pure function.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "raft/raft.hpp"

namespace raftkv {

// Requests answered, by HTTP status code.
class HttpRequestCounts {
 public:
  void count(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++by_status_[status];
  }
  std::map<int, uint64_t> get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return by_status_;
  }

 private:
  mutable std::mutex mu_;
  std::map<int, uint64_t> by_status_;
};

// A moment's view of everything /metrics reports.
struct MetricsInput {
  raft::Metrics raft;
  raft::Role role = raft::Role::kFollower;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_log_index = 0;
  uint64_t keys = 0;
  std::map<int, uint64_t> http_requests;
};

// The exposition text (Content-Type: text/plain; version=0.0.4).
std::string render_metrics(const MetricsInput& in);

}  // namespace raftkv
