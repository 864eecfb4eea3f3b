// A lock-free latency histogram for the node's metrics: one writer thread
// records, any thread reads a copy (Node::metrics()).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "raft/raft.hpp"

namespace raft::runtime {

class LatencyHistogram {
 public:
  // Upper bounds in microseconds, roughly 1-2.5-5 per decade: from a fast
  // NVMe sync (tens of µs) to a disk that stalls for seconds.
  static constexpr std::array<uint64_t, 17> kBoundsUs = {50,     100,    250,     500,     1000,    2500,
                                                        5000,   10000,  25000,   50000,   100000,  250000,
                                                        500000, 1000000, 2500000, 5000000, 10000000};

  void record(std::chrono::nanoseconds d) {
    uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, d.count())) / 1000;
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, d.count())), std::memory_order_relaxed);
  }

  Histogram snapshot() const {
    Histogram h;
    for (uint64_t b : kBoundsUs) h.bounds.push_back(static_cast<double>(b) / 1e6);
    for (const auto& c : counts_) {
      uint64_t n = c.load(std::memory_order_relaxed);
      h.counts.push_back(n);
      h.count += n;
    }
    h.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return h;
  }

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace raft::runtime
