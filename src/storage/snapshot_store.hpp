// SnapshotStore: where a node keeps snapshots of its state machine
// (thesis chapter 5), written and read as streams so that a multi-GiB
// snapshot needs constant memory.
//
// A snapshot becomes visible only when its writer commits; until then (and
// after an abort or a crash) it does not exist. Every byte a reader hands
// out has been checked against a checksum first: a damaged snapshot gives
// Corruption, never wrong bytes.
//
// Implementations: MemorySnapshotStore (below) and FileSnapshotStore
// (file_snapshot_store.hpp). SnapshotStoreWrapper forwards every call to
// another store, so a fault test overrides one.
//
// Thread safety: store methods may be called from any thread. A writer or
// a reader is used by one thread at a time. A reader stays valid after
// retain() removed its snapshot (it keeps the data alive).
//
// Ownership: create() and open*() transfer the returned object to the
// caller. Destroying an uncommitted writer aborts it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "util/status.hpp"
#include "util/types.hpp"

namespace raft::storage {

struct SnapshotMeta {
  std::string id;               // assigned by the store; sorts oldest first
  Index index;                  // last log index the snapshot covers
  Term term;                    // its term
  Configuration configuration;  // the latest configuration at or before index
  Index configuration_index;    // the index of that configuration's entry
  uint64_t size_bytes = 0;      // bytes of snapshot data (set by commit)
  uint32_t crc32c = 0;          // CRC-32C of the data (set by commit)

  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  // Appends data. Blocks for disk writes (not for a flush).
  virtual Status write(std::span<const uint8_t> data) = 0;
  // Makes the snapshot durable and visible; returns its final meta (id,
  // size, checksum). The writer is finished either way.
  virtual Result<SnapshotMeta> commit() = 0;
  // Throws the snapshot away. Idempotent.
  virtual void abort() = 0;
};

class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  virtual const SnapshotMeta& meta() const = 0;
  // Fills `out` with the next bytes; returns how many (0 at the end).
  // Corruption if the data fails a checksum or does not match meta().
  virtual Result<size_t> read(std::span<uint8_t> out) = 0;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // Starts a snapshot with meta's index, term, configuration and
  // configuration_index (its id, size and checksum are the store's).
  virtual Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) = 0;
  // The newest snapshot; NotFound when there is none.
  virtual Result<std::unique_ptr<SnapshotReader>> open_latest() = 0;
  // NotFound when no snapshot has that id.
  virtual Result<std::unique_ptr<SnapshotReader>> open(const std::string& id) = 0;
  // Every committed snapshot, newest first.
  virtual Result<std::vector<SnapshotMeta>> list() = 0;
  // Removes all but the newest n snapshots.
  virtual Status retain(size_t n) = 0;
};

// Forwards every call to a borrowed target store.
class SnapshotStoreWrapper : public SnapshotStore {
 public:
  explicit SnapshotStoreWrapper(SnapshotStore* target) : target_(target) {}
  SnapshotStore* target() const { return target_; }

  Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) override {
    return target_->create(meta);
  }
  Result<std::unique_ptr<SnapshotReader>> open_latest() override {
    return target_->open_latest();
  }
  Result<std::unique_ptr<SnapshotReader>> open(const std::string& id) override {
    return target_->open(id);
  }
  Result<std::vector<SnapshotMeta>> list() override { return target_->list(); }
  Status retain(size_t n) override { return target_->retain(n); }

 private:
  SnapshotStore* target_;
};

// "<index>-<term>-<seq>", each 20 decimal digits (docs/disk-format.md).
std::string snapshot_id(Index index, Term term, uint64_t seq);
// Parses an id made by snapshot_id(); false for anything else.
bool parse_snapshot_id(const std::string& id, Index* index, Term* term, uint64_t* seq);

// A SnapshotStore in memory; nothing survives the process.
class MemorySnapshotStore final : public SnapshotStore {
 public:
  Result<std::unique_ptr<SnapshotWriter>> create(const SnapshotMeta& meta) override;
  Result<std::unique_ptr<SnapshotReader>> open_latest() override;
  Result<std::unique_ptr<SnapshotReader>> open(const std::string& id) override;
  Result<std::vector<SnapshotMeta>> list() override;
  Status retain(size_t n) override;

 private:
  friend class MemorySnapshotWriter;
  struct Stored {
    SnapshotMeta meta;
    std::shared_ptr<const std::string> data;
  };
  // Sort key: (index, seq), so the map's order is oldest first.
  using Key = std::pair<uint64_t, uint64_t>;

  std::mutex mu_;
  std::map<Key, Stored> snapshots_;
  uint64_t next_seq_ = 1;
};

}  // namespace raft::storage
