#include "wal_fuzz_harness.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/memory_file_system.hpp"
#include "storage/wal_format.hpp"
#include "storage/wal_log_store.hpp"

namespace raft::storage::fuzz {
namespace {

constexpr char kDir[] = "/wal";

[[noreturn]] void die(const char* what, uint64_t index) {
  std::fprintf(stderr, "wal fuzz harness: %s (entry %llu)\n", what,
               static_cast<unsigned long long>(index));
  std::abort();
}

Entry entry_for(uint64_t index, uint64_t term, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(index * 17 + i * 3 + term);
  return Entry{Index(index), Term(term), EntryType::kCommand, Buffer::from_string(std::move(s))};
}

void write_file(MemoryFileSystem* fs, const std::string& path, const std::string& bytes) {
  auto f = fs->open_file(path, OpenMode::kCreate);
  if (!f.ok()) die("cannot create a file", 0);
  if (!(*f)->write_at(0, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).ok() ||
      !(*f)->sync().ok())
    die("cannot write a file", 0);
}

// Opens the WAL; if that works, reads everything, appends, syncs and
// reopens, checking the log is the same. `expected` (structured mode) holds
// the entries that were written: any entry returned at their indexes must
// match them exactly.
void recover_and_check(MemoryFileSystem* fs, const std::vector<Entry>* expected, bool prealloc) {
  WalOptions o;
  o.fs = fs;
  o.segment_bytes = 4096;
  o.preallocate = prealloc;
  o.recovery_read_bytes = 4096;
  o.log = [](LogLevel, std::string_view) {};
  std::vector<Entry> first_read;
  Index last;
  {
    auto s = WalLogStore::open(kDir, o);
    if (!s.ok()) {
      ErrorCode c = s.status().code();
      if (c != ErrorCode::kCorruption && c != ErrorCode::kUnsupported)
        die("recovery failed with an unexpected error code", 0);
      return;
    }
    WalLogStore* w = s->get();
    last = w->last_index();
    if (w->first_index() <= last &&
        !w->read(w->first_index(), last, SIZE_MAX, &first_read).ok())
      die("an open log failed to read", 0);
    if (expected) {
      for (const Entry& e : first_read) {
        if (e.index.value == 0 || e.index.value > expected->size()) continue;  // a forged record
        const Entry& want = (*expected)[e.index.value - 1];
        if (e.term != want.term || e.type != want.type || !(e.data == want.data))
          die("recovery returned an entry that was never written", e.index.value);
      }
    }
    std::vector<Entry> more{entry_for(last.value + 1, w->term_at(last).ok() ? w->term_at(last)->value : 1, 50)};
    if (!w->append(more).ok() || !w->sync().ok()) die("a recovered log refused an append", 0);
  }
  auto again = WalLogStore::open(kDir, o);
  if (!again.ok()) die("a log recovered once failed to reopen", 0);
  if ((*again)->last_index() != last + 1) die("the reopened log has a different length", last.value);
  std::vector<Entry> second;
  if (!(*again)->read((*again)->first_index(), last + 1, SIZE_MAX, &second).ok())
    die("the reopened log failed to read", 0);
  if (second.size() != first_read.size() + 1) die("the reopened log lost entries", 0);
  for (size_t i = 0; i < first_read.size(); ++i)
    if (!(second[i].data == first_read[i].data) || second[i].term != first_read[i].term)
      die("the reopened log differs", second[i].index.value);
}

}  // namespace

// Input: byte 0 picks a mode.
//   mode 0: the rest is one segment file, as is.
//   mode 1: a valid header, then the rest as records.
//   mode 2: a valid WAL of N entries in several segments is written (and,
//           by a bit of byte 0, its first half dropped and N more appended,
//           so that some segments reuse spare files); the rest is a list
//           of (file, offset, bit) flips, at most 3, and an optional cut. Recovery must not return any entry other than the
//           ones written (up to 3 flipped bits are always caught by CRC-32C).
int wal_segment_one(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  MemoryFileSystem fs;
  if (!create_dirs_durably(&fs, kDir).ok()) die("mkdir", 0);
  uint8_t mode = data[0] % 3;
  bool prealloc = (data[0] / 3) % 2;
  bool recycle = (data[0] / 6) % 2;  // mode 2: some segments reuse spare files
  data += 1;
  size -= 1;
  if (mode == 0) {
    write_file(&fs, join_path(kDir, wal::segment_name(1, Index(1))),
               std::string(reinterpret_cast<const char*>(data), size));
    recover_and_check(&fs, nullptr, prealloc);
    return 0;
  }
  if (mode == 1) {
    uint8_t header[wal::kSegmentHeaderBytes];
    wal::encode_segment_header({1, Index(1)}, header);
    std::string bytes(reinterpret_cast<char*>(header), sizeof header);
    bytes.append(reinterpret_cast<const char*>(data), size);
    write_file(&fs, join_path(kDir, wal::segment_name(1, Index(1))), bytes);
    recover_and_check(&fs, nullptr, prealloc);
    return 0;
  }
  // Mode 2.
  uint64_t n = 1 + data[0] % 120;
  std::vector<Entry> written;
  {
    WalOptions o;
    o.fs = &fs;
    o.segment_bytes = 4096;
    o.preallocate = prealloc;
    auto s = WalLogStore::open(kDir, o);
    if (!s.ok()) die("cannot create the WAL", 0);
    for (uint64_t i = 1; i <= n; ++i)
      written.push_back(entry_for(i, 1 + i / 40, (i * 37 + data[0]) % 300));
    if (!(*s)->append(written).ok() || !(*s)->sync().ok()) die("cannot fill the WAL", 0);
    if (recycle) {
      // Drop the first half (its whole segments become spares), then
      // append as much again: the new segments reuse those files, with
      // their old records still in them.
      if (!(*s)->drop_prefix(Index(n / 2)).ok()) die("cannot drop a prefix", 0);
      std::vector<Entry> more;
      for (uint64_t i = n + 1; i <= 2 * n; ++i) more.push_back(entry_for(i, 1 + i / 40, (i * 37 + data[0]) % 300));
      if (!(*s)->append(more).ok() || !(*s)->sync().ok()) die("cannot refill the WAL", 0);
      written.insert(written.end(), more.begin(), more.end());
    }
  }
  auto names = fs.list_dir(kDir);
  std::vector<std::string> files;
  for (const auto& name : *names)
    if (name != "LOCK") files.push_back(join_path(kDir, name));
  size_t pos = 1;
  int flips = 0;
  while (pos + 4 <= size && flips < 3) {
    const std::string& path = files[data[pos] % files.size()];
    uint32_t at = static_cast<uint32_t>(data[pos + 1]) | (static_cast<uint32_t>(data[pos + 2]) << 8);
    uint8_t bit = data[pos + 3] & 7;
    pos += 4;
    auto f = fs.open_file(path, OpenMode::kReadWrite);
    uint64_t fsize = *(*f)->size();
    if (fsize == 0) continue;
    uint8_t b;
    (void)(*f)->read_at(at % fsize, {&b, 1});
    b ^= static_cast<uint8_t>(1u << bit);
    (void)(*f)->write_at(at % fsize, {&b, 1});
    (void)(*f)->sync();
    ++flips;
  }
  if (pos + 3 <= size && (data[pos] & 1)) {
    const std::string& path = files[data[pos + 1] % files.size()];
    auto f = fs.open_file(path, OpenMode::kReadWrite);
    uint64_t fsize = *(*f)->size();
    if (fsize > 0) (void)(*f)->truncate(data[pos + 2] * fsize / 256);
    (void)(*f)->sync();
  }
  recover_and_check(&fs, &written, prealloc);
  return 0;
}

}  // namespace raft::storage::fuzz
