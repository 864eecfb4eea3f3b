#include "storage/file_stable_store.hpp"

#include "storage/framed_file.hpp"
#include "util/coding.hpp"

namespace raft::storage {

namespace {
constexpr char kStateName[] = "state";
constexpr size_t kValueBytesMax = 1 << 20;
constexpr uint64_t kValuesMax = 1 << 16;
}  // namespace

Status FileStableStore::decode(std::string_view bytes, const std::string& path,
                               HardState* hard_state, std::map<std::string, std::string>* values) {
  auto body = decode_framed(bytes, kStableStateMagic, path);
  if (!body.ok()) return body.status();
  Reader r({reinterpret_cast<const uint8_t*>(body->data()), body->size()});
  hard_state->term = Term(r.varint());
  hard_state->vote = NodeId(r.varint());
  uint64_t n = r.varint();
  if (!r.ok() || n > kValuesMax) return corruption(path + ": offset 16: bad body");
  values->clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string name(r.length_prefixed(kValueBytesMax));
    std::string value(r.length_prefixed(kValueBytesMax));
    if (r.ok()) (*values)[std::move(name)] = std::move(value);
  }
  if (!r.ok() || r.remaining() != 0 || values->size() != n) {
    size_t at = kFramedHeaderBytes + (body->size() - r.remaining());
    return corruption(path + ": offset " + std::to_string(at) +
                      ": malformed body (checksum matched, so it was written this way)");
  }
  return Status();
}

Result<std::unique_ptr<FileStableStore>> FileStableStore::open(const std::string& dir,
                                                               FileStableStoreOptions options) {
  FileSystem* fs = options.fs ? options.fs : default_file_system();
  RAFT_RETURN_IF_ERROR(create_dirs_durably(fs, dir));
  auto lock = fs->lock_file(join_path(dir, "LOCK"));
  if (!lock.ok()) return lock.status();
  std::unique_ptr<FileStableStore> store(new FileStableStore(fs, dir, std::move(*lock)));

  std::string path = join_path(dir, kStateName);
  std::string tmp = path + ".tmp";
  auto tmp_exists = fs->exists(tmp);
  if (!tmp_exists.ok()) return tmp_exists.status();
  if (*tmp_exists) {
    // A write interrupted before its rename: the old state is the truth.
    log_message(options.log, LogLevel::kInfo, "removing " + tmp + ", left by an interrupted write");
    RAFT_RETURN_IF_ERROR(fs->remove_file(tmp));
    RAFT_RETURN_IF_ERROR(fs->sync_dir(dir));
  }
  auto exists = fs->exists(path);
  if (!exists.ok()) return exists.status();
  if (*exists) {
    auto bytes = read_whole_file(fs, path);
    if (!bytes.ok()) return bytes.status();
    RAFT_RETURN_IF_ERROR(decode(*bytes, path, &store->hard_state_, &store->values_));
  }
  return store;
}

Status FileStableStore::write(const HardState& hs,
                              const std::map<std::string, std::string>& values) {
  std::string body;
  put_varint(&body, hs.term.value);
  put_varint(&body, hs.vote.value);
  put_varint(&body, values.size());
  for (const auto& [name, value] : values) {
    put_bytes(&body, name);
    put_bytes(&body, value);
  }
  Status st = write_file_atomically(fs_, join_path(dir_, kStateName),
                                    encode_framed(kStableStateMagic, body));
  // After a failed rename or sync we cannot tell which version is on disk:
  // refuse to answer from memory until the store is reopened.
  if (!st.ok()) failed_ = st.with_context("stable store failed earlier");
  return st;
}

Result<HardState> FileStableStore::load_hard_state() {
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  return hard_state_;
}

Status FileStableStore::save_hard_state(const HardState& state) {
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  if (state == hard_state_) return Status();
  RAFT_RETURN_IF_ERROR(write(state, values_));
  hard_state_ = state;
  return Status();
}

Result<std::optional<std::string>> FileStableStore::get(std::string_view name) {
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status FileStableStore::set(std::string_view name, std::string_view value) {
  if (value.size() > kValueBytesMax || name.size() > kValueBytesMax)
    return invalid_argument("stable store: values are limited to 1 MiB");
  std::lock_guard lock(mu_);
  if (!failed_.ok()) return failed_;
  auto values = values_;
  values[std::string(name)] = std::string(value);
  RAFT_RETURN_IF_ERROR(write(hard_state_, values));
  values_ = std::move(values);
  return Status();
}

}  // namespace raft::storage
