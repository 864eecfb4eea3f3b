// Implements docs/disk-format.md, "Snapshots".
#include "storage/file_snapshot_store.hpp"

#include <algorithm>
#include <cstring>

#include "storage/framed_file.hpp"
#include "util/coding.hpp"
#include "util/crc32c.hpp"

namespace raft::storage {

namespace {
constexpr char kMetaName[] = "meta";
constexpr char kDataName[] = "data";
constexpr char kTmpPrefix[] = "tmp-";
constexpr char kDeletedPrefix[] = "deleted-";
constexpr size_t kBlockHeaderBytes = 8;
constexpr uint64_t kBlockBytesMax = 64ull << 20;

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }
std::string str(uint64_t v) { return std::to_string(v); }

uint32_t block_crc(uint64_t block_no, const uint8_t* payload, size_t n) {
  uint8_t no[8];
  store_u64(no, block_no);
  return crc32c_extend(crc32c(no, 8), payload, n);
}

class FileSnapshotReader final : public SnapshotReader {
 public:
  FileSnapshotReader(SnapshotMeta meta, uint64_t block_bytes, std::unique_ptr<File> data)
      : meta_(std::move(meta)), block_bytes_(block_bytes), data_(std::move(data)) {}

  const SnapshotMeta& meta() const override { return meta_; }

  // Keeps `pin` as long as the reader (FileSnapshotStore::Pin).
  void hold(std::shared_ptr<void> pin) { pin_ = std::move(pin); }

  Result<size_t> read(std::span<uint8_t> out) override {
    if (!failed_.ok()) return failed_;
    size_t done = 0;
    while (done < out.size()) {
      if (pos_ == block_.size()) {
        if (delivered_ == meta_.size_bytes) break;
        Status st = load_block();
        if (!st.ok()) {
          failed_ = st;
          return st;
        }
      }
      size_t n = std::min(out.size() - done, block_.size() - pos_);
      std::memcpy(out.data() + done, block_.data() + pos_, n);
      pos_ += n;
      done += n;
    }
    return done;
  }

 private:
  Status load_block() {
    uint64_t left = meta_.size_bytes - delivered_;
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, block_bytes_));
    uint8_t header[kBlockHeaderBytes];
    RAFT_RETURN_IF_ERROR(read_exact(data_.get(), offset_, {header, sizeof header}));
    uint32_t len = load_u32(header);
    if (len != want) {
      return corruption(data_->path() + ": offset " + str(offset_) + ": block " + str(block_no_) +
                        " says " + str(len) + " bytes, expected " + str(want));
    }
    block_.resize(want);
    RAFT_RETURN_IF_ERROR(read_exact(data_.get(), offset_ + kBlockHeaderBytes, {block_.data(), want}));
    if (block_crc(block_no_, block_.data(), want) != load_u32(header + 4)) {
      return corruption(data_->path() + ": offset " + str(offset_) + ": block " + str(block_no_) +
                        " checksum mismatch");
    }
    crc_ = crc32c_extend(crc_, block_.data(), want);
    if (want == left && crc_ != meta_.crc32c) {
      return corruption(data_->path() + ": the data does not match the checksum in its meta");
    }
    offset_ += kBlockHeaderBytes + want;
    delivered_ += want;
    ++block_no_;
    pos_ = 0;
    return Status();
  }

  SnapshotMeta meta_;
  uint64_t block_bytes_;
  std::unique_ptr<File> data_;
  std::vector<uint8_t> block_;  // the current block, checked; pos_ is the next byte out
  size_t pos_ = 0;
  uint64_t offset_ = 0;     // file offset of the next block
  uint64_t delivered_ = 0;  // payload bytes loaded so far
  uint64_t block_no_ = 0;
  uint32_t crc_ = 0;
  Status failed_;
  std::shared_ptr<void> pin_;
};

}  // namespace

// Held by every reader the store opens on a snapshot. When retain() drops
// a snapshot that readers still read, its folder waits here and goes to
// the reclaimer when the last of them is destroyed: cutting the data file
// under an open reader would end its stream early, as corruption.
struct FileSnapshotStore::Pin {
  std::shared_ptr<FileReclaimer> reclaimer;
  // Set by retain() while it holds a reference, so the destructor (run
  // after the last reference goes) sees it.
  std::string doomed;
  uint64_t doomed_bytes = 0;
  ~Pin() {
    if (!doomed.empty()) reclaimer->add_tree(std::move(doomed), doomed_bytes);
  }
};

class FileSnapshotWriter final : public SnapshotWriter {
 public:
  FileSnapshotWriter(FileSnapshotStore* store, SnapshotMeta meta, uint64_t seq, std::string tmp_dir,
                     std::unique_ptr<File> data)
      : store_(store), meta_(std::move(meta)), seq_(seq), tmp_dir_(std::move(tmp_dir)),
        data_(std::move(data)) {
    block_.reserve(store_->options_.block_bytes);
  }
  ~FileSnapshotWriter() override { abort(); }

  Status write(std::span<const uint8_t> bytes) override {
    if (done_) return invalid_argument("snapshot writer already committed or aborted");
    if (!failed_.ok()) return failed_;
    size_t block_bytes = store_->options_.block_bytes;
    while (!bytes.empty()) {
      size_t n = std::min(bytes.size(), block_bytes - block_.size());
      block_.insert(block_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
      bytes = bytes.subspan(n);
      if (block_.size() == block_bytes) RAFT_RETURN_IF_ERROR(flush_block());
    }
    return Status();
  }

  Result<SnapshotMeta> commit() override {
    if (done_) return invalid_argument("snapshot writer already committed or aborted");
    Status st = failed_;
    if (st.ok() && !block_.empty()) st = flush_block();
    if (st.ok()) st = data_->sync();
    meta_.size_bytes = size_;
    meta_.crc32c = crc_;
    FileSystem* fs = store_->fs_;
    if (st.ok()) {
      auto meta_file = fs->open_file(join_path(tmp_dir_, kMetaName), OpenMode::kCreateNew);
      st = meta_file.status();
      if (st.ok()) {
        std::string bytes = FileSnapshotStore::encode_meta(meta_, store_->options_.block_bytes);
        st = (*meta_file)->write_at(0, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
        if (st.ok()) st = (*meta_file)->sync();
      }
    }
    std::string final_dir = join_path(store_->dir_, meta_.id);
    if (st.ok()) st = fs->sync_dir(tmp_dir_);
    // The rename is the commit point; the parent's sync makes it durable.
    if (st.ok()) st = fs->rename(tmp_dir_, final_dir);
    if (st.ok()) st = fs->sync_dir(store_->dir_);
    if (!st.ok()) {
      abort();
      return st;
    }
    done_ = true;
    data_.reset();
    std::lock_guard lock(store_->mu_);
    store_->snapshots_[{meta_.index.value, seq_}] = {meta_, store_->options_.block_bytes};
    return meta_;
  }

  void abort() override {
    if (done_) return;
    done_ = true;
    data_.reset();
    // Never renamed into place, so the reclaimer may cut it at once;
    // whatever stays behind is removed at the next open.
    store_->reclaimer_->add_tree(tmp_dir_);
  }

 private:
  Status flush_block() {
    uint8_t header[kBlockHeaderBytes];
    store_u32(header, static_cast<uint32_t>(block_.size()));
    store_u32(header + 4, block_crc(block_no_, block_.data(), block_.size()));
    Status st = data_->write_at(offset_, {header, sizeof header});
    if (st.ok()) st = data_->write_at(offset_ + kBlockHeaderBytes, block_);
    if (!st.ok()) {
      failed_ = st;
      return st;
    }
    crc_ = crc32c_extend(crc_, block_.data(), block_.size());
    size_ += block_.size();
    offset_ += kBlockHeaderBytes + block_.size();
    ++block_no_;
    block_.clear();
    return Status();
  }

  FileSnapshotStore* store_;
  SnapshotMeta meta_;
  uint64_t seq_;
  std::string tmp_dir_;
  std::unique_ptr<File> data_;
  std::vector<uint8_t> block_;  // payload not yet written; < block_bytes
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
  uint64_t block_no_ = 0;
  uint32_t crc_ = 0;
  bool done_ = false;
  Status failed_;
};

std::string FileSnapshotStore::encode_meta(const SnapshotMeta& meta, uint64_t block_bytes) {
  std::string body;
  put_bytes(&body, meta.id);
  put_varint(&body, meta.index.value);
  put_varint(&body, meta.term.value);
  put_varint(&body, meta.configuration_index.value);
  put_bytes(&body, encode_configuration(meta.configuration).view());
  put_varint(&body, meta.size_bytes);
  put_u32(&body, meta.crc32c);
  put_varint(&body, block_bytes);
  return encode_framed(kSnapshotMetaMagic, body);
}

Status FileSnapshotStore::decode_meta(std::string_view bytes, const std::string& path,
                                      SnapshotMeta* meta, uint64_t* block_bytes) {
  auto body = decode_framed(bytes, kSnapshotMetaMagic, path);
  if (!body.ok()) return body.status();
  Reader r({reinterpret_cast<const uint8_t*>(body->data()), body->size()});
  meta->id = std::string(r.length_prefixed(256));
  meta->index = Index(r.varint());
  meta->term = Term(r.varint());
  meta->configuration_index = Index(r.varint());
  std::string_view conf = r.length_prefixed(body->size());
  meta->size_bytes = r.varint();
  meta->crc32c = r.u32();
  *block_bytes = r.varint();
  bool ok = r.ok() && r.remaining() == 0 && *block_bytes > 0 && *block_bytes <= kBlockBytesMax &&
            decode_configuration({reinterpret_cast<const uint8_t*>(conf.data()), conf.size()},
                                 &meta->configuration);
  if (!ok) return corruption(path + ": offset 16: malformed snapshot meta (checksum matched)");
  return Status();
}

uint64_t FileSnapshotStore::data_file_bytes(uint64_t size_bytes, uint64_t block_bytes) {
  uint64_t blocks = (size_bytes + block_bytes - 1) / block_bytes;
  return size_bytes + blocks * kBlockHeaderBytes;
}

FileSnapshotStore::FileSnapshotStore(FileSystem* fs, std::string dir,
                                     FileSnapshotStoreOptions options,
                                     std::unique_ptr<FileLock> lock)
    : fs_(fs),
      dir_(std::move(dir)),
      options_(std::move(options)),
      lock_(std::move(lock)),
      reclaimer_(std::make_shared<FileReclaimer>(fs_, options_.reclaim, options_.log)) {}

FileSnapshotStore::~FileSnapshotStore() = default;

Result<std::unique_ptr<FileSnapshotStore>> FileSnapshotStore::open(
    const std::string& dir, FileSnapshotStoreOptions options) {
  if (options.block_bytes == 0 || options.block_bytes > kBlockBytesMax)
    return invalid_argument("snapshot block_bytes must be between 1 and 64 MiB");
  FileSystem* fs = options.fs ? options.fs : default_file_system();
  RAFT_RETURN_IF_ERROR(create_dirs_durably(fs, dir));
  auto lock = fs->lock_file(join_path(dir, "LOCK"));
  if (!lock.ok()) return lock.status();
  std::unique_ptr<FileSnapshotStore> store(
      new FileSnapshotStore(fs, dir, std::move(options), std::move(*lock)));
  RAFT_RETURN_IF_ERROR(store->load());
  return store;
}

namespace {

// Reads and checks a snapshot folder's meta and the size of its data.
Status check_folder(FileSystem* fs, const std::string& folder, SnapshotMeta* meta,
                    uint64_t* block_bytes) {
  std::string meta_path = join_path(folder, kMetaName);
  auto bytes = read_whole_file(fs, meta_path);
  if (!bytes.ok()) {
    if (bytes.status().code() == ErrorCode::kNotFound)
      return corruption(meta_path + ": missing; a committed snapshot always has one");
    return bytes.status();
  }
  RAFT_RETURN_IF_ERROR(FileSnapshotStore::decode_meta(*bytes, meta_path, meta, block_bytes));
  std::string data_path = join_path(folder, kDataName);
  auto data = fs->open_file(data_path, OpenMode::kRead);
  if (!data.ok()) {
    if (data.status().code() == ErrorCode::kNotFound)
      return corruption(data_path + ": missing; a committed snapshot always has one");
    return data.status();
  }
  auto size = (*data)->size();
  if (!size.ok()) return size.status();
  uint64_t want = FileSnapshotStore::data_file_bytes(meta->size_bytes, *block_bytes);
  if (*size != want) {
    return corruption(data_path + ": offset " + str(std::min(*size, want)) + ": file is " +
                      str(*size) + " bytes, its meta says " + str(want));
  }
  return Status();
}

}  // namespace

Result<std::unique_ptr<SnapshotReader>> FileSnapshotStore::open_folder(FileSystem* fs,
                                                                       const std::string& folder) {
  SnapshotMeta meta;
  uint64_t block_bytes = 0;
  RAFT_RETURN_IF_ERROR(check_folder(fs, folder, &meta, &block_bytes));
  // Opened after the check. A reader the store opens also holds a Pin, so
  // retain() lets the reclaimer cut the folder only after the reader goes.
  auto data = fs->open_file(join_path(folder, kDataName), OpenMode::kRead);
  if (!data.ok()) return data.status();
  return std::unique_ptr<SnapshotReader>(
      new FileSnapshotReader(std::move(meta), block_bytes, std::move(*data)));
}

Status FileSnapshotStore::load() {
  auto names = fs_->list_dir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::string> leftovers;
  for (const auto& name : *names) {
    Index index;
    Term term;
    uint64_t seq;
    if (starts_with(name, kTmpPrefix) || starts_with(name, kDeletedPrefix)) {
      // Never committed, or on its way out: not a snapshot either way.
      // Its seq is not used again while the reclaimer may still hold it.
      std::string id = name.substr(starts_with(name, kTmpPrefix) ? sizeof kTmpPrefix - 1
                                                                  : sizeof kDeletedPrefix - 1);
      if (parse_snapshot_id(id, &index, &term, &seq)) next_seq_ = std::max(next_seq_, seq + 1);
      leftovers.push_back(join_path(dir_, name));
      continue;
    }
    if (!parse_snapshot_id(name, &index, &term, &seq)) continue;  // LOCK, strangers
    std::string folder = join_path(dir_, name);
    Stored s;
    RAFT_RETURN_IF_ERROR(check_folder(fs_, folder, &s.meta, &s.block_bytes));
    if (s.meta.id != name || s.meta.index != index || s.meta.term != term) {
      return corruption(join_path(folder, kMetaName) + ": meta names snapshot " + s.meta.id +
                        ", not its folder");
    }
    snapshots_[{index.value, seq}] = std::move(s);
    next_seq_ = std::max(next_seq_, seq + 1);
  }
  if (leftovers.empty()) return Status();
  // Synced before anything is cut: after a kill -9 the rename that made a
  // `deleted-` folder may not be on disk yet.
  RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));
  for (auto& path : leftovers) {
    log_message(options_.log, LogLevel::kInfo,
                "removing " + path + ", left by an interrupted write or removal");
    reclaimer_->add_tree(std::move(path));
  }
  return Status();
}

Result<std::unique_ptr<SnapshotWriter>> FileSnapshotStore::create(const SnapshotMeta& meta) {
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = next_seq_++;
  }
  SnapshotMeta m = meta;
  m.id = snapshot_id(meta.index, meta.term, seq);
  m.size_bytes = 0;
  m.crc32c = 0;
  std::string tmp_dir = join_path(dir_, std::string(kTmpPrefix) + m.id);
  RAFT_RETURN_IF_ERROR(fs_->create_dir(tmp_dir));
  auto data = fs_->open_file(join_path(tmp_dir, kDataName), OpenMode::kCreateNew);
  if (!data.ok()) {
    (void)remove_tree(fs_, tmp_dir);
    return data.status();
  }
  return std::unique_ptr<SnapshotWriter>(
      new FileSnapshotWriter(this, std::move(m), seq, std::move(tmp_dir), std::move(*data)));
}

std::shared_ptr<FileSnapshotStore::Pin> FileSnapshotStore::pin_locked(const std::string& id) {
  for (auto it = pins_.begin(); it != pins_.end();)
    it = it->second.expired() ? pins_.erase(it) : std::next(it);
  std::weak_ptr<Pin>& slot = pins_[id];
  std::shared_ptr<Pin> pin = slot.lock();
  if (!pin) {
    pin = std::make_shared<Pin>();
    pin->reclaimer = reclaimer_;
    slot = pin;
  }
  return pin;
}

Result<std::unique_ptr<SnapshotReader>> FileSnapshotStore::open_stored(const Stored& s,
                                                                       std::shared_ptr<Pin> pin) {
  auto reader = open_folder(fs_, join_path(dir_, s.meta.id));
  if (reader.ok()) static_cast<FileSnapshotReader*>(reader->get())->hold(std::move(pin));
  return reader;
}

Result<std::unique_ptr<SnapshotReader>> FileSnapshotStore::open_latest() {
  Stored s;
  std::shared_ptr<Pin> pin;
  {
    std::lock_guard lock(mu_);
    if (snapshots_.empty()) return not_found(dir_ + ": no snapshot");
    s = snapshots_.rbegin()->second;
    pin = pin_locked(s.meta.id);
  }
  return open_stored(s, std::move(pin));
}

Result<std::unique_ptr<SnapshotReader>> FileSnapshotStore::open(const std::string& id) {
  Stored s;
  std::shared_ptr<Pin> pin;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(snapshots_.begin(), snapshots_.end(),
                           [&](const auto& kv) { return kv.second.meta.id == id; });
    if (it == snapshots_.end()) return not_found(dir_ + ": no snapshot with id " + id);
    s = it->second;
    pin = pin_locked(id);
  }
  return open_stored(s, std::move(pin));
}

Result<std::vector<SnapshotMeta>> FileSnapshotStore::list() {
  std::lock_guard lock(mu_);
  std::vector<SnapshotMeta> out;
  for (auto it = snapshots_.rbegin(); it != snapshots_.rend(); ++it) out.push_back(it->second.meta);
  return out;
}

Status FileSnapshotStore::retain(size_t n) {
  std::vector<std::pair<std::string, uint64_t>> doomed;  // (id, data file bytes)
  {
    std::lock_guard lock(mu_);
    while (snapshots_.size() > n) {
      const Stored& s = snapshots_.begin()->second;
      doomed.emplace_back(s.meta.id, data_file_bytes(s.meta.size_bytes, s.block_bytes));
      snapshots_.erase(snapshots_.begin());
    }
  }
  if (doomed.empty()) return Status();
  // Renamed away first (one atomic step each), so a crash while deleting
  // never leaves half a snapshot under its real name.
  for (const auto& [id, bytes] : doomed)
    RAFT_RETURN_IF_ERROR(
        fs_->rename(join_path(dir_, id), join_path(dir_, std::string(kDeletedPrefix) + id)));
  RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));
  for (const auto& [id, bytes] : doomed) {
    std::string path = join_path(dir_, std::string(kDeletedPrefix) + id);
    std::shared_ptr<Pin> pin;
    {
      std::lock_guard lock(mu_);
      auto it = pins_.find(id);
      if (it != pins_.end()) {
        pin = it->second.lock();
        pins_.erase(it);
      }
      if (pin) {
        pin->doomed = path;
        pin->doomed_bytes = bytes;
      }
    }
    // With a reader open, the last one hands the folder over (perhaps
    // right here, as `pin` goes).
    if (!pin) reclaimer_->add_tree(std::move(path), bytes);
  }
  return Status();
}

}  // namespace raft::storage
