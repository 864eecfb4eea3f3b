#include "kv_fsm.hpp"

#include <array>
#include <cstring>
#include <mutex>
#include <vector>

#include "log.hpp"

namespace raftkv {
namespace {

constexpr uint8_t kCommandVersion = 1;
constexpr char kSnapshotMagic[4] = {'R', 'K', 'V', 'S'};
constexpr char kSnapshotEndMagic[4] = {'R', 'K', 'V', 'E'};
constexpr uint32_t kSnapshotVersion = 1;

// ---- Encoding helpers -------------------------------------------------

void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void put_str(std::string* out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads a command out of a span; every read checks the bytes are there.
class SpanReader {
 public:
  explicit SpanReader(std::span<const uint8_t> b) : b_(b) {}
  bool u8(uint8_t* v) {
    if (b_.empty()) return false;
    *v = b_[0];
    b_ = b_.subspan(1);
    return true;
  }
  bool u64(uint64_t* v) {
    if (b_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(b_[i]) << (8 * i);
    b_ = b_.subspan(8);
    return true;
  }
  bool str(std::string* s) {
    if (b_.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(b_[i]) << (8 * i);
    b_ = b_.subspan(4);
    if (b_.size() < n) return false;
    s->assign(reinterpret_cast<const char*>(b_.data()), n);
    b_ = b_.subspan(n);
    return true;
  }
  bool at_end() const { return b_.empty(); }

 private:
  std::span<const uint8_t> b_;
};

// ---- Snapshot streams -------------------------------------------------

// Buffers writes into chunks of 64 KiB for the sink.
class SinkWriter {
 public:
  explicit SinkWriter(raft::SnapshotSink& sink) : sink_(sink) {}
  raft::Status u32(uint32_t v) {
    std::string b;
    put_u32(&b, v);
    return bytes(b);
  }
  raft::Status u64(uint64_t v) {
    std::string b;
    put_u64(&b, v);
    return bytes(b);
  }
  raft::Status str(const std::string& s) {
    raft::Status st = u32(static_cast<uint32_t>(s.size()));
    return st.ok() ? bytes(s) : st;
  }
  raft::Status bytes(std::string_view s) {
    buf_.append(s);
    return buf_.size() >= kChunkBytes ? flush() : raft::Status();
  }
  raft::Status flush() {
    if (buf_.empty()) return raft::Status();
    raft::Status st = sink_.write({reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size()});
    buf_.clear();
    return st;
  }

 private:
  static constexpr size_t kChunkBytes = 64 << 10;
  raft::SnapshotSink& sink_;
  std::string buf_;
};

// Reads exact runs of bytes from a snapshot; a short read is corruption
// (the snapshot ended early), an error from the reader is passed on.
class StreamReader {
 public:
  explicit StreamReader(raft::SnapshotReader& r) : r_(r) {}

  raft::Status bytes(size_t n, std::string* out) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      auto r = r_.read({reinterpret_cast<uint8_t*>(out->data()) + got, n - got});
      if (!r.ok()) return r.status();
      if (*r == 0) return corrupt("ends early (wanted " + std::to_string(n - got) + " more bytes)");
      got += *r;
      offset_ += *r;
    }
    return raft::Status();
  }
  raft::Status u32(uint32_t* v) {
    std::string b;
    raft::Status st = bytes(4, &b);
    if (!st.ok()) return st;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    return st;
  }
  raft::Status u64(uint64_t* v) {
    std::string b;
    raft::Status st = bytes(8, &b);
    if (!st.ok()) return st;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    return st;
  }
  // A length-prefixed string of at most `max` bytes: a larger length is
  // damage, and is refused before anything is allocated for it.
  raft::Status str(std::string* s, size_t max, const char* what) {
    uint32_t n = 0;
    raft::Status st = u32(&n);
    if (!st.ok()) return st;
    if (n > max) return corrupt(std::string(what) + " of " + std::to_string(n) + " bytes is over the limit");
    return bytes(n, s);
  }
  // OK when nothing follows.
  raft::Status expect_end() {
    uint8_t extra;
    auto r = r_.read({&extra, 1});
    if (!r.ok()) return r.status();
    return *r == 0 ? raft::Status() : corrupt("has bytes after its end marker");
  }
  raft::Status corrupt(const std::string& what) const {
    return raft::Status(raft::ErrorCode::kCorruption,
                        "raftkv snapshot " + what + " (at byte " + std::to_string(offset_) + ")");
  }

 private:
  raft::SnapshotReader& r_;
  uint64_t offset_ = 0;
};

// The point-in-time view a snapshot persists: a full copy of the state.
//
// Cost: Fsm::snapshot() copies every key and value while applying is paused
// (O(n) time, and twice the memory for a moment). That is fine for the
// megabytes this example is meant for. A store of many gigabytes would
// instead keep its data in a persistent (immutable, structurally shared)
// map, so that a snapshot is a pointer copy, or in an embedded database
// and persist from a database snapshot or read transaction.
class KvSnapshot : public raft::FsmSnapshot {
 public:
  KvSnapshot(std::map<std::string, std::string> kv, std::map<raft::ServerId, std::string> http)
      : kv_(std::move(kv)), http_(std::move(http)) {}

  raft::Status persist(raft::SnapshotSink& sink) override {
    SinkWriter w(sink);
    raft::Status st = w.bytes({kSnapshotMagic, 4});
    if (st.ok()) st = w.u32(kSnapshotVersion);
    if (st.ok()) st = w.u64(kv_.size());
    for (auto it = kv_.begin(); st.ok() && it != kv_.end(); ++it) {
      st = w.str(it->first);
      if (st.ok()) st = w.str(it->second);
    }
    if (st.ok()) st = w.u64(http_.size());
    for (auto it = http_.begin(); st.ok() && it != http_.end(); ++it) {
      st = w.u64(it->first);
      if (st.ok()) st = w.str(it->second);
    }
    if (st.ok()) st = w.bytes({kSnapshotEndMagic, 4});
    if (st.ok()) st = w.flush();
    return st;
  }
  void release() override {
    kv_.clear();
    http_.clear();
  }

 private:
  std::map<std::string, std::string> kv_;
  std::map<raft::ServerId, std::string> http_;
};

}  // namespace

// ---- Command ----------------------------------------------------------

Command Command::put(std::string key, std::string value) {
  Command c;
  c.op = Op::kPut;
  c.key = std::move(key);
  c.value = std::move(value);
  return c;
}

Command Command::erase(std::string key) {
  Command c;
  c.op = Op::kDelete;
  c.key = std::move(key);
  return c;
}

Command Command::cas(std::string key, std::string expected, std::string value) {
  Command c;
  c.op = Op::kCas;
  c.key = std::move(key);
  c.expected = std::move(expected);
  c.value = std::move(value);
  return c;
}

Command Command::register_http(raft::ServerId server, std::string http_address) {
  Command c;
  c.op = Op::kRegisterHttp;
  c.server = server;
  c.value = std::move(http_address);
  return c;
}

raft::Buffer Command::encode() const {
  std::string out;
  out.reserve(2 + 12 + key.size() + value.size() + expected.size());
  out.push_back(static_cast<char>(kCommandVersion));
  out.push_back(static_cast<char>(op));
  switch (op) {
    case Op::kPut:
      put_str(&out, key);
      put_str(&out, value);
      break;
    case Op::kDelete: put_str(&out, key); break;
    case Op::kCas:
      put_str(&out, key);
      put_str(&out, expected);
      put_str(&out, value);
      break;
    case Op::kRegisterHttp:
      put_u64(&out, server);
      put_str(&out, value);
      break;
  }
  // The log shares this buffer; it is never copied again.
  return raft::Buffer::from_string(std::move(out));
}

std::optional<Command> Command::decode(std::span<const uint8_t> bytes) {
  SpanReader r(bytes);
  uint8_t version = 0;
  uint8_t op = 0;
  if (!r.u8(&version) || version != kCommandVersion || !r.u8(&op)) return std::nullopt;
  Command c;
  c.op = static_cast<Op>(op);
  bool ok = false;
  switch (c.op) {
    case Op::kPut: ok = r.str(&c.key) && r.str(&c.value); break;
    case Op::kDelete: ok = r.str(&c.key); break;
    case Op::kCas: ok = r.str(&c.key) && r.str(&c.expected) && r.str(&c.value); break;
    case Op::kRegisterHttp: ok = r.u64(&c.server) && r.str(&c.value); break;
  }
  if (!ok || !r.at_end()) return std::nullopt;
  return c;
}

// ---- KvFsm ------------------------------------------------------------

std::any KvFsm::apply(const raft::LogEntry& entry) {
  CommandResult result;
  result.index = entry.index;
  std::optional<Command> c = Command::decode(entry.data);
  if (!c) {
    // Only a newer raftkv writes a command this one cannot read. Every
    // node skips it the same way, so the replicas stay identical.
    result.done = false;
    result.error = "undecodable command at index " + std::to_string(entry.index);
    log(raft::LogLevel::kWarn, result.error, "; skipped");
    return result;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  switch (c->op) {
    case Command::Op::kPut: kv_.insert_or_assign(std::move(c->key), std::move(c->value)); break;
    case Command::Op::kDelete: result.existed = kv_.erase(c->key) > 0; break;
    case Command::Op::kCas: {
      // A cas never matches an absent key, even with an empty `expected`.
      auto it = kv_.find(c->key);
      result.existed = it != kv_.end();
      if (it != kv_.end() && it->second == c->expected) {
        it->second = std::move(c->value);
      } else {
        result.done = false;
        if (it != kv_.end()) result.current = it->second;
      }
      break;
    }
    case Command::Op::kRegisterHttp:
      if (c->value.empty())
        http_.erase(c->server);
      else
        http_[c->server] = std::move(c->value);
      break;
  }
  return result;
}

raft::Result<std::unique_ptr<raft::FsmSnapshot>> KvFsm::snapshot() {
  // On the apply thread: no apply runs meanwhile; readers may.
  std::shared_lock<std::shared_mutex> lock(mu_);
  return std::unique_ptr<raft::FsmSnapshot>(std::make_unique<KvSnapshot>(kv_, http_));
}

raft::Status KvFsm::restore(raft::SnapshotReader& reader) {
  // Read everything into new maps first: a damaged snapshot leaves the
  // current state untouched.
  std::map<std::string, std::string> kv;
  std::map<raft::ServerId, std::string> http;
  StreamReader r(reader);
  std::string magic;
  raft::Status st = r.bytes(4, &magic);
  if (!st.ok()) return st;
  if (std::memcmp(magic.data(), kSnapshotMagic, 4) != 0) return r.corrupt("does not start with RKVS");
  uint32_t version = 0;
  if (!(st = r.u32(&version)).ok()) return st;
  if (version != kSnapshotVersion)
    return raft::Status(raft::ErrorCode::kUnsupported,
                        "raftkv snapshot version " + std::to_string(version) + " (this build reads version 1)");
  uint64_t n = 0;
  if (!(st = r.u64(&n)).ok()) return st;
  for (uint64_t i = 0; i < n; ++i) {
    std::string key;
    std::string value;
    if (!(st = r.str(&key, kKeyBytesMax, "a key")).ok()) return st;
    if (!(st = r.str(&value, kValueBytesMax, "a value")).ok()) return st;
    if (!kv.emplace(std::move(key), std::move(value)).second) return r.corrupt("holds a key twice");
  }
  uint64_t m = 0;
  if (!(st = r.u64(&m)).ok()) return st;
  for (uint64_t i = 0; i < m; ++i) {
    uint64_t id = 0;
    std::string address;
    if (!(st = r.u64(&id)).ok()) return st;
    if (!(st = r.str(&address, kHttpAddressBytesMax, "an HTTP address")).ok()) return st;
    http[id] = std::move(address);
  }
  std::string end;
  if (!(st = r.bytes(4, &end)).ok()) return st;
  if (std::memcmp(end.data(), kSnapshotEndMagic, 4) != 0) return r.corrupt("has no end marker");
  if (!(st = r.expect_end()).ok()) return st;

  std::unique_lock<std::shared_mutex> lock(mu_);
  kv_.swap(kv);
  http_.swap(http);
  log(raft::LogLevel::kInfo, "restored a snapshot of ", kv_.size(), " keys");
  return raft::Status();
}

std::optional<std::string> KvFsm::get(const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> KvFsm::http_address(raft::ServerId server) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = http_.find(server);
  if (it == http_.end()) return std::nullopt;
  return it->second;
}

size_t KvFsm::key_count() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return kv_.size();
}

}  // namespace raftkv
