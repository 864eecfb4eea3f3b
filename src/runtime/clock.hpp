// Clock: where the runtime reads the time it hands the core. The core never
// reads a clock itself (DESIGN.md); everything above it gets time from
// here, so a test can substitute its own.
//
// Thread safety: now() may be called from any thread.
#pragma once

#include <chrono>

#include "core/config.hpp"

namespace raft::runtime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds since an arbitrary epoch fixed for the object's life.
  virtual core::Nanos now() const = 0;
  // The steady_clock time point that now() == t corresponds to (for timers).
  virtual std::chrono::steady_clock::time_point to_steady(core::Nanos t) const = 0;
};

// std::chrono::steady_clock, with its epoch at construction.
class SteadyClock final : public Clock {
 public:
  SteadyClock() : epoch_(std::chrono::steady_clock::now()) {}
  core::Nanos now() const override {
    return std::chrono::duration_cast<core::Nanos>(std::chrono::steady_clock::now() - epoch_);
  }
  std::chrono::steady_clock::time_point to_steady(core::Nanos t) const override {
    return epoch_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(t);
  }

 private:
  std::chrono::steady_clock::time_point epoch_;
};

}  // namespace raft::runtime
