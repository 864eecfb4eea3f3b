// StableStore: the few values a node must never forget: its current term
// and vote (thesis Figure 3.1: persisted before it answers or sends a vote
// request, DESIGN.md "Safety rules") and small named values (node id,
// cluster id).
//
// Every mutation is atomic and durable when it returns: after a crash a
// reader sees the old value or the new one, never a mix, and never the old
// one once the call returned.
//
// Implementations: MemoryStableStore and FileStableStore
// (file_stable_store.hpp). StableStoreWrapper forwards every call to
// another store, so a fault test overrides one.
//
// Thread safety: every method may be called from any thread; calls are
// serialized inside the store. They block for the disk flush.
//
// Errors: Corruption when the stored bytes are damaged (never repaired
// silently), Unsupported for an unknown format version, IoError.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::storage {

class StableStore {
 public:
  virtual ~StableStore() = default;

  // Term 0 and no vote for a store that never saved one.
  virtual Result<HardState> load_hard_state() = 0;
  virtual Status save_hard_state(const HardState& state) = 0;
  // The value saved under `name`, or nullopt.
  virtual Result<std::optional<std::string>> get(std::string_view name) = 0;
  // Saves a small value (the whole store is rewritten on each change).
  virtual Status set(std::string_view name, std::string_view value) = 0;
};

// Forwards every call to a borrowed target store.
class StableStoreWrapper : public StableStore {
 public:
  explicit StableStoreWrapper(StableStore* target) : target_(target) {}
  StableStore* target() const { return target_; }

  Result<HardState> load_hard_state() override { return target_->load_hard_state(); }
  Status save_hard_state(const HardState& state) override {
    return target_->save_hard_state(state);
  }
  Result<std::optional<std::string>> get(std::string_view name) override {
    return target_->get(name);
  }
  Status set(std::string_view name, std::string_view value) override {
    return target_->set(name, value);
  }

 private:
  StableStore* target_;
};

// A StableStore in memory; nothing survives the process.
class MemoryStableStore final : public StableStore {
 public:
  Result<HardState> load_hard_state() override {
    std::lock_guard lock(mu_);
    return hard_state_;
  }
  Status save_hard_state(const HardState& state) override {
    std::lock_guard lock(mu_);
    hard_state_ = state;
    return Status();
  }
  Result<std::optional<std::string>> get(std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = values_.find(std::string(name));
    if (it == values_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status set(std::string_view name, std::string_view value) override {
    std::lock_guard lock(mu_);
    values_[std::string(name)] = std::string(value);
    return Status();
  }

 private:
  std::mutex mu_;
  HardState hard_state_;
  std::map<std::string, std::string> values_;
};

}  // namespace raft::storage
