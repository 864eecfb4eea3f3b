#include "storage/snapshot_store.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "util/crc32c.hpp"

namespace raft::storage {

std::string snapshot_id(Index index, Term term, uint64_t seq) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%020" PRIu64 "-%020" PRIu64 "-%020" PRIu64, index.value,
                term.value, seq);
  return buf;
}

bool parse_snapshot_id(const std::string& id, Index* index, Term* term, uint64_t* seq) {
  if (id.size() != 62 || id[20] != '-' || id[41] != '-') return false;
  uint64_t v[3];
  for (int k = 0; k < 3; ++k) {
    uint64_t x = 0;
    for (int i = 0; i < 20; ++i) {
      char c = id[static_cast<size_t>(k * 21 + i)];
      if (c < '0' || c > '9') return false;
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (x > (UINT64_MAX - d) / 10) return false;
      x = x * 10 + d;
    }
    v[k] = x;
  }
  *index = Index(v[0]);
  *term = Term(v[1]);
  *seq = v[2];
  return true;
}

namespace {

class MemorySnapshotReader final : public SnapshotReader {
 public:
  MemorySnapshotReader(SnapshotMeta meta, std::shared_ptr<const std::string> data)
      : meta_(std::move(meta)), data_(std::move(data)) {}
  const SnapshotMeta& meta() const override { return meta_; }
  Result<size_t> read(std::span<uint8_t> out) override {
    if (!verified_) {
      // Same promise as the file store: no byte before it is checked.
      if (data_->size() != meta_.size_bytes || crc32c(*data_) != meta_.crc32c)
        return corruption("snapshot " + meta_.id + ": data does not match its checksum");
      verified_ = true;
    }
    size_t n = std::min(out.size(), data_->size() - pos_);
    if (n) std::memcpy(out.data(), data_->data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  SnapshotMeta meta_;
  std::shared_ptr<const std::string> data_;
  size_t pos_ = 0;
  bool verified_ = false;
};

}  // namespace

class MemorySnapshotWriter final : public SnapshotWriter {
 public:
  MemorySnapshotWriter(MemorySnapshotStore* store, SnapshotMeta meta)
      : store_(store), meta_(std::move(meta)) {}
  Status write(std::span<const uint8_t> data) override {
    if (done_) return invalid_argument("snapshot writer already committed or aborted");
    data_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return Status();
  }
  Result<SnapshotMeta> commit() override {
    if (done_) return invalid_argument("snapshot writer already committed or aborted");
    done_ = true;
    meta_.size_bytes = data_.size();
    meta_.crc32c = crc32c(data_);
    std::lock_guard lock(store_->mu_);
    uint64_t seq = store_->next_seq_++;
    meta_.id = snapshot_id(meta_.index, meta_.term, seq);
    store_->snapshots_[{meta_.index.value, seq}] = {
        meta_, std::make_shared<const std::string>(std::move(data_))};
    return meta_;
  }
  void abort() override {
    done_ = true;
    data_.clear();
  }

 private:
  MemorySnapshotStore* store_;
  SnapshotMeta meta_;
  std::string data_;
  bool done_ = false;
};

Result<std::unique_ptr<SnapshotWriter>> MemorySnapshotStore::create(const SnapshotMeta& meta) {
  return std::unique_ptr<SnapshotWriter>(new MemorySnapshotWriter(this, meta));
}

Result<std::unique_ptr<SnapshotReader>> MemorySnapshotStore::open_latest() {
  std::lock_guard lock(mu_);
  if (snapshots_.empty()) return not_found("no snapshot");
  const Stored& s = snapshots_.rbegin()->second;
  return std::unique_ptr<SnapshotReader>(new MemorySnapshotReader(s.meta, s.data));
}

Result<std::unique_ptr<SnapshotReader>> MemorySnapshotStore::open(const std::string& id) {
  std::lock_guard lock(mu_);
  for (const auto& [key, s] : snapshots_)
    if (s.meta.id == id)
      return std::unique_ptr<SnapshotReader>(new MemorySnapshotReader(s.meta, s.data));
  return not_found("no snapshot with id " + id);
}

Result<std::vector<SnapshotMeta>> MemorySnapshotStore::list() {
  std::lock_guard lock(mu_);
  std::vector<SnapshotMeta> out;
  for (auto it = snapshots_.rbegin(); it != snapshots_.rend(); ++it) out.push_back(it->second.meta);
  return out;
}

Status MemorySnapshotStore::retain(size_t n) {
  std::lock_guard lock(mu_);
  while (snapshots_.size() > n) snapshots_.erase(snapshots_.begin());
  return Status();
}

}  // namespace raft::storage
