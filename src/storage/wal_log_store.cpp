// The WAL's life cycle; the bytes are docs/disk-format.md, "WAL", as
// implemented by wal_format.cpp.
#include "storage/wal_log_store.hpp"

#include <algorithm>
#include <mutex>
#include <optional>

#include "storage/framed_file.hpp"
#include "storage/wal_format.hpp"
#include "util/coding.hpp"
#include "util/thread_name.hpp"

namespace raft::storage {

using wal::kRecordHeaderBytes;
using wal::kSealRecordBytes;
using wal::kSegmentHeaderBytes;

namespace {
constexpr char kIntentName[] = "INTENT";
constexpr uint8_t kIntentTruncate = 1;
constexpr uint8_t kIntentReset = 2;
constexpr uint64_t kSegmentBytesMax = 1ull << 30;
// WalOptions::prepare_spares: only while the log's flushes average at most
// this (docs/BENCHMARKS.md, "Storage": zeros against fallocate).
constexpr uint64_t kPrepareFlushBytesMax = 64 << 10;

std::string str(uint64_t v) { return std::to_string(v); }
bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

struct WalLogStore::Segment {
  uint64_t seq = 0;
  Index first;
  std::string path;
  std::unique_ptr<File> file;
  // offsets[i]: file offset of the record of entry first + i.
  std::vector<uint32_t> offsets;
  // (first index, term) at each change of term. Invariant: covers offsets.
  std::vector<std::pair<Index, Term>> term_runs;
  // The byte after the last entry record (a seal, if any, starts here).
  uint64_t end = kSegmentHeaderBytes;
  bool sealed = false;
  uint32_t seed = 0;      // wal::record_seed of its header
  uint16_t version = wal::kFormatVersion;

  Index last() const { return first + offsets.size() - 1; }
  uint64_t record_end(size_t i) const { return i + 1 < offsets.size() ? offsets[i + 1] : end; }
  Term term_of(Index index) const {
    auto it = std::upper_bound(term_runs.begin(), term_runs.end(), index,
                               [](Index i, const auto& run) { return i < run.first; });
    RAFT_ASSERT(it != term_runs.begin());
    return std::prev(it)->second;
  }
  void trim_terms(Index from) {  // drops runs for entries >= from
    while (!term_runs.empty() && term_runs.back().first >= from) term_runs.pop_back();
  }
};

struct WalLogStore::Intent {
  uint8_t kind = 0;
  Index index;
};

WalLogStore::WalLogStore(FileSystem* fs, std::string dir, WalOptions options,
                         std::unique_ptr<FileLock> lock)
    : fs_(fs),
      dir_(std::move(dir)),
      options_(std::move(options)),
      lock_(std::move(lock)),
      reclaimer_(std::make_unique<FileReclaimer>(fs_, options_.reclaim, options_.log)) {}

WalLogStore::~WalLogStore() {
  if (preparer_.joinable()) {
    {
      std::lock_guard lock(prep_mu_);
      prep_stop_ = true;
    }
    prep_cv_.notify_all();
    preparer_.join();
  }
}

Status WalLogStore::fail(Status st) {
  if (failed_.ok()) failed_ = st.with_context("WAL " + dir_ + " failed earlier");
  return st;
}

Result<std::unique_ptr<WalLogStore>> WalLogStore::open(const std::string& dir, WalOptions options) {
  if (options.segment_bytes < 4096 || options.segment_bytes > kSegmentBytesMax)
    return invalid_argument("WAL segment_bytes must be between 4 KiB and 1 GiB");
  FileSystem* fs = options.fs ? options.fs : default_file_system();
  RAFT_RETURN_IF_ERROR(create_dirs_durably(fs, dir));
  auto lock = fs->lock_file(join_path(dir, "LOCK"));
  if (!lock.ok()) return lock.status();
  std::unique_ptr<WalLogStore> store(new WalLogStore(fs, dir, std::move(options), std::move(*lock)));
  RAFT_RETURN_IF_ERROR(store->recover());
  return store;
}

// ---------------------------------------------------------------------------
// Recovery (docs/disk-format.md, "Recovery")

Status WalLogStore::recover() {
  auto listed = fs_->list_dir(dir_);
  if (!listed.ok()) return listed.status();
  std::vector<std::string> names;
  std::vector<std::string> trash;
  bool removed_leftover = false;
  for (auto& name : *listed) {
    uint64_t n;
    if (wal::parse_trash_name(name, &n)) {
      // Left the log before the last close or crash.
      next_trash_ = std::max(next_trash_, n + 1);
      trash.push_back(join_path(dir_, name));
    } else if (ends_with(name, ".wal.tmp") || name == std::string(kIntentName) + ".tmp" ||
        name == wal::spare_name(0) + ".tmp") {
      // Never renamed into place, so never part of the log.
      log_message(options_.log, LogLevel::kInfo,
                  "removing " + join_path(dir_, name) + ", left by an interrupted write");
      RAFT_RETURN_IF_ERROR(fs_->remove_file(join_path(dir_, name)));
      removed_leftover = true;
    } else {
      names.push_back(std::move(name));
    }
  }
  // Synced before any trash is cut: after a kill -9 its new name may not
  // be on disk yet, and a power loss would bring back a shortened segment.
  if (removed_leftover || !trash.empty()) RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));

  std::optional<Intent> intent;
  if (std::find(names.begin(), names.end(), kIntentName) != names.end()) {
    std::string path = join_path(dir_, kIntentName);
    auto bytes = read_whole_file(fs_, path);
    if (!bytes.ok()) return bytes.status();
    auto body = decode_framed(*bytes, kIntentMagic, path);
    if (!body.ok()) return body.status();
    Reader r({reinterpret_cast<const uint8_t*>(body->data()), body->size()});
    Intent in;
    in.kind = r.u8();
    in.index = Index(r.varint());
    if (!r.ok() || r.remaining() != 0 || (in.kind != kIntentTruncate && in.kind != kIntentReset) ||
        in.index < Index(1)) {
      return corruption(path + ": offset 16: malformed intent body");
    }
    intent = in;
    RAFT_RETURN_IF_ERROR(apply_intent_on_open(in, &names));
  }

  struct Found {
    uint64_t seq;
    Index first;
    std::string name;
  };
  std::vector<Found> found;
  for (const auto& name : names) {
    Found f;
    uint64_t spare_seq;
    if (wal::parse_segment_name(name, &f.seq, &f.first)) {
      f.name = name;
      found.push_back(std::move(f));
    } else if (wal::parse_spare_name(name, &spare_seq)) {
      spares_.emplace_back(spare_seq, join_path(dir_, name));
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.seq < b.seq; });
  for (size_t i = 1; i < found.size(); ++i) {
    if (found[i].seq != found[i - 1].seq + 1) {
      return corruption(join_path(dir_, found[i - 1].name) + ": missing segment: seq " +
                        str(found[i - 1].seq + 1) + " should follow it, the next present is " +
                        found[i].name);
    }
  }

  if (found.empty()) {
    // A new log, or a truncation intent that removed every segment.
    Index first = intent ? intent->index : Index(1);
    auto seg = create_segment(1, first);
    if (!seg.ok()) return seg.status();
    segments_.push_back(std::move(*seg));
  } else {
    std::vector<wal::SegmentScan> scans;
    std::vector<std::unique_ptr<File>> files;
    Term prev_term;
    for (size_t i = 0; i < found.size(); ++i) {
      std::string path = join_path(dir_, found[i].name);
      auto file = fs_->open_file(path, OpenMode::kReadWrite);
      if (!file.ok()) return file.status();
      wal::ScanOptions so;
      so.prev_term = prev_term;
      so.read_bytes = options_.recovery_read_bytes;
      if (intent && intent->kind == kIntentTruncate) {
        so.stop_at = intent->index;
        so.drop_seal = i + 1 == found.size();
      }
      auto scan = wal::scan_segment(file->get(), so);
      if (!scan.ok()) return scan.status();
      if (scan->header.seq != found[i].seq || scan->header.first != found[i].first) {
        return corruption(path + ": offset 8: header says seq " + str(scan->header.seq) +
                          ", first index " + str(scan->header.first.value) +
                          ", which disagrees with the file name");
      }
      prev_term = scan->last_term;
      scans.push_back(std::move(*scan));
      files.push_back(std::move(*file));
    }

    // An interrupted roll over: the new segment was created but the old one
    // never got its seal, so the new one can hold nothing (records go to it
    // only after the seal is durable). Drop it; the old one is the newest.
    // A reused file (recycled) has its old bytes after the header, which
    // read as a torn record rather than zeros.
    size_t n = scans.size();
    auto holds_nothing = [](const wal::SegmentScan& s) {
      return s.offsets.empty() && !s.sealed &&
             (s.tail == wal::Tail::kClean ||
              (s.tail == wal::Tail::kTorn && (s.header.flags & wal::kFlagRecycled) != 0));
    };
    if (n >= 2 && holds_nothing(scans[n - 1]) && !scans[n - 2].sealed && !scans[n - 2].stopped) {
      log_message(options_.log, LogLevel::kWarning,
                  "removing empty segment " + scans[n - 1].path +
                  ": its predecessor was never sealed (a crash while rolling over)");
      files.pop_back();
      RAFT_RETURN_IF_ERROR(fs_->remove_file(scans[n - 1].path));
      RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));
      scans.pop_back();
      --n;
    }

    for (size_t i = 0; i < n; ++i) {
      const wal::SegmentScan& s = scans[i];
      bool newest = i + 1 == n;
      if (i > 0 && s.header.first != scans[i - 1].last_index() + 1) {
        return corruption(s.path + ": offset 16: starts at index " + str(s.header.first.value) +
                          " but the segment before it ends at " +
                          str(scans[i - 1].last_index().value) + " (a gap in the log)");
      }
      if (s.tail == wal::Tail::kCorrupt) return corruption(s.damage());
      if (!newest) {
        if (s.tail == wal::Tail::kTorn) {
          return corruption(s.damage() + " (not the newest segment, so not an interrupted write)");
        }
        if (!s.sealed) {
          return corruption(s.path + ": offset " + str(s.end_offset) +
                            ": segment ends without a seal but " + scans[i + 1].path + " follows");
        }
        // The seal's successor is the next file: the names were checked
        // consecutive above and the seal against this segment's own seq
        // and last index by the scan.
        if (s.next_first != scans[i + 1].header.first) {
          return corruption(s.path + ": seal names first index " + str(s.next_first.value) +
                            " for the next segment, which starts at " +
                            str(scans[i + 1].header.first.value) + " (a gap in the log)");
        }
        continue;
      }
      if (s.sealed) {
        return corruption(s.path + ": missing segment: the seal at offset " + str(s.end_offset) +
                          " names " + wal::segment_name(s.next_seq, s.next_first) +
                          ", which does not exist");
      }
    }

    for (size_t i = 0; i < n; ++i) {
      auto seg = std::make_unique<Segment>();
      seg->seq = scans[i].header.seq;
      seg->first = scans[i].header.first;
      seg->path = scans[i].path;
      seg->file = std::move(files[i]);
      seg->offsets = std::move(scans[i].offsets);
      seg->offsets.shrink_to_fit();
      seg->term_runs = std::move(scans[i].term_runs);
      seg->end = scans[i].end_offset;
      seg->sealed = scans[i].sealed;
      seg->seed = wal::record_seed(scans[i].header);
      seg->version = scans[i].header.version;
      segments_.push_back(std::move(seg));
    }
    const wal::SegmentScan& tail = scans[n - 1];
    Segment* newest = segments_.back().get();
    if (tail.tail == wal::Tail::kTorn || tail.stopped) {
      if (tail.tail == wal::Tail::kTorn && (tail.header.flags & wal::kFlagRecycled) != 0) {
        // In a reused file the bytes after the last record are usually
        // those of its earlier life; an interrupted write looks the same.
        log_message(options_.log, LogLevel::kInfo,
                    "the WAL ends at " + tail.path + " offset " + str(tail.end_offset) +
                        "; clearing the " + str(tail.file_size - tail.end_offset) +
                        " bytes after it (left from the recycled file's earlier use, or from an "
                        "interrupted write: " + tail.bad_reason + ")");
      } else if (tail.tail == wal::Tail::kTorn) {
        log_message(options_.log, LogLevel::kWarning,
                    "cutting torn tail of the WAL: " + tail.damage() + "; dropping " +
                        str(tail.file_size - tail.end_offset) + " bytes from offset " +
                        str(tail.end_offset));
      }
      RAFT_RETURN_IF_ERROR(cut_newest(newest, tail.end_offset));
    } else if (options_.preallocate && tail.file_size < options_.segment_bytes) {
      // Every segment this store creates is at least the segment size
      // until it is sealed; a shorter newest one that ends right after a
      // record was written without preallocation, or cut there. A cut
      // at a record boundary leaves no other trace, so say so.
      if (!tail.sealed && tail.end_offset == tail.file_size) {
        log_message(options_.log, LogLevel::kWarning,
                    tail.path + " ends right after its last record (entry " +
                        str(newest->offsets.empty() ? newest->first.value - 1 : newest->last().value) +
                        ", offset " + str(tail.end_offset) + "), short of the " +
                        str(options_.segment_bytes) +
                        "-byte segment size: it was written without preallocation, or it was cut "
                        "and entries after that one are lost");
      }
      RAFT_RETURN_IF_ERROR(newest->file->allocate(options_.segment_bytes));
    }
    last_term_ = tail.last_term;
  }

  // More spares than wanted (the option was lowered): the extra go.
  while (spares_.size() > options_.spare_segments) {
    RAFT_RETURN_IF_ERROR(fs_->remove_file(spares_.back().second));
    spares_.pop_back();
  }
  spare_count_.store(spares_.size(), std::memory_order_relaxed);
  if (intent) RAFT_RETURN_IF_ERROR(remove_intent());
  Segment* newest = segments_.back().get();
  first_index_.store(segments_.front()->first);
  last_index_.store(newest->offsets.empty() ? newest->first - 1 : newest->last());
  durable_index_.store(last_index());
  reclaim(&trash);
  return Status();
}

Status WalLogStore::apply_intent_on_open(const Intent& intent, std::vector<std::string>* names) {
  std::vector<std::pair<uint64_t, std::string>> doomed;  // (seq, name)
  for (const auto& name : *names) {
    uint64_t seq;
    Index first;
    if (!wal::parse_segment_name(name, &seq, &first)) continue;
    if (intent.kind == kIntentReset || first >= intent.index) doomed.emplace_back(seq, name);
  }
  // Newest first, as the original operation did, so that a crash during
  // this redo also leaves a prefix of the log.
  std::sort(doomed.rbegin(), doomed.rend());
  for (const auto& [seq, name] : doomed) {
    RAFT_RETURN_IF_ERROR(fs_->remove_file(join_path(dir_, name)));
    names->erase(std::find(names->begin(), names->end(), name));
  }
  if (!doomed.empty()) RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));
  if (intent.kind == kIntentReset) {
    uint64_t seq = doomed.empty() ? 1 : doomed.front().first + 1;
    auto seg = create_segment(seq, intent.index);
    if (!seg.ok()) return seg.status();
    names->push_back(wal::segment_name(seq, intent.index));
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Files

Result<std::unique_ptr<WalLogStore::Segment>> WalLogStore::create_segment(uint64_t seq,
                                                                          Index first) {
  auto seg = std::make_unique<Segment>();
  seg->seq = seq;
  seg->first = first;
  seg->path = join_path(dir_, wal::segment_name(seq, first));
  std::string tmp = seg->path + ".tmp";
  collect_prepared();
  // A spare is reusable only under a higher seq than it had: its stale
  // records' checksums start from that seq's seed, never from ours
  // (docs/disk-format.md, "Spare segments").
  std::optional<std::string> spare;
  while (!spares_.empty() && !spare) {
    auto [old_seq, path] = std::move(spares_.back());
    spares_.pop_back();
    spare_count_.store(spares_.size(), std::memory_order_relaxed);
    if (old_seq < seq) spare = std::move(path);
    else RAFT_RETURN_IF_ERROR(fs_->remove_file(path));
  }
  wal::SegmentHeader h{seq, first};
  if (spare) {
    h.flags = wal::kFlagRecycled;
    RAFT_RETURN_IF_ERROR(fs_->rename(*spare, tmp));
  }
  seg->seed = wal::record_seed(h);
  {
    auto file = fs_->open_file(tmp, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    uint8_t header[kSegmentHeaderBytes];
    wal::encode_segment_header(h, header);
    if (!spare) RAFT_RETURN_IF_ERROR((*file)->truncate(0));
    RAFT_RETURN_IF_ERROR((*file)->write_at(0, {header, sizeof header}));
    if (options_.preallocate) RAFT_RETURN_IF_ERROR((*file)->allocate(options_.segment_bytes));
    RAFT_RETURN_IF_ERROR((*file)->sync());
  }
  // Renamed into place only once whole: a file with a segment name always
  // has its header (docs/disk-format.md).
  RAFT_RETURN_IF_ERROR(fs_->rename(tmp, seg->path));
  RAFT_RETURN_IF_ERROR(fs_->sync_dir(dir_));
  auto file = fs_->open_file(seg->path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  seg->file = std::move(*file);
  return seg;
}

Status WalLogStore::retire_segment(const Segment& seg, std::vector<std::string>* trash) {
  // Kept: a sealed version 2 segment of the normal size (its records are
  // then all checksummed from its own seq; a version 1 file's from 0).
  collect_prepared();
  size_t kept = spares_.size() + (prep_pending_ ? 1 : 0);
  if (kept < options_.spare_segments && seg.sealed && seg.version >= 2) {
    auto size = seg.file->size();
    if (!size.ok()) return size.status();
    if (*size <= options_.segment_bytes) {
      std::string path = join_path(dir_, wal::spare_name(seg.seq));
      RAFT_RETURN_IF_ERROR(fs_->rename(seg.path, path));
      spares_.emplace_back(seg.seq, std::move(path));
      spare_count_.store(spares_.size(), std::memory_order_relaxed);
      return Status();
    }
  }
  return trash_file(seg.path, trash);
}

Status WalLogStore::trash_file(const std::string& path, std::vector<std::string>* trash) {
  std::string to = join_path(dir_, wal::trash_name(next_trash_++));
  RAFT_RETURN_IF_ERROR(fs_->rename(path, to));
  trash->push_back(std::move(to));
  return Status();
}

void WalLogStore::reclaim(std::vector<std::string>* trash) {
  // Segments are preallocated to the segment size (larger ones are rare).
  for (auto& path : *trash) reclaimer_->add_file(std::move(path), options_.segment_bytes);
  trash->clear();
}

Status WalLogStore::cut_newest(Segment* seg, uint64_t end_offset) {
  // ftruncate then preallocate again: the cut bytes read as zeros from now
  // on, so no stale record can ever be taken for one after a later crash.
  RAFT_RETURN_IF_ERROR(seg->file->truncate(end_offset));
  if (options_.preallocate) RAFT_RETURN_IF_ERROR(seg->file->allocate(options_.segment_bytes));
  return seg->file->sync();
}

Status WalLogStore::write_intent(const Intent& intent) {
  std::string body;
  put_u8(&body, intent.kind);
  put_varint(&body, intent.index.value);
  return write_file_atomically(fs_, join_path(dir_, kIntentName),
                               encode_framed(kIntentMagic, body));
}

Status WalLogStore::remove_intent() {
  // Durably gone before the caller appends again: a stale intent re-applied
  // at the next open would cut entries written after it.
  RAFT_RETURN_IF_ERROR(fs_->remove_file(join_path(dir_, kIntentName)));
  return fs_->sync_dir(dir_);
}

// ---------------------------------------------------------------------------
// Spares written with zeros (WalOptions::prepare_spares)

void WalLogStore::maybe_prepare_spare() {
  // A finished spare is collected where segments are made and retired
  // (create_segment, retire_segment), not here on every write.
  if (!options_.prepare_spares || options_.spare_segments == 0 || prep_off_ || prep_pending_) return;
  // An eighth full: a log that writes little never gets here.
  const Segment& seg = *segments_.back();
  if (!spares_.empty() || seg.end < options_.segment_bytes / 8) return;
  // Large flushes mean the disk's bandwidth is the limit: writing every
  // byte twice then costs more than the journal work it saves (a 1 MiB
  // flush: 2.6 instead of 3.4 ms, for 2.9 ms of writing zeros).
  if (flush_bytes_avg_ > kPrepareFlushBytesMax) return;
  prep_pending_ = true;
  if (!preparer_.joinable()) {
    preparer_ = std::thread([this] {
      util::set_thread_name("raft-wal-prep");
      preparer_loop();
    });
  }
  {
    std::lock_guard lock(prep_mu_);
    prep_asked_ = true;
    prep_from_ = appended_.load(std::memory_order_relaxed);
    // Paced to be done when 7/8 of the rest of this segment is written.
    uint64_t rest = options_.segment_bytes - std::min(seg.end, options_.segment_bytes);
    prep_span_ = std::max<uint64_t>(1, rest * 7 / 8);
  }
  prep_cv_.notify_one();
}

void WalLogStore::count_appended(uint64_t bytes) {
  uint64_t now = appended_.fetch_add(bytes, std::memory_order_seq_cst) + bytes;
  // Wakes the preparer when the log has written enough for its next chunk.
  if (now >= prep_wake_at_.load(std::memory_order_seq_cst)) {
    prep_wake_at_.store(UINT64_MAX, std::memory_order_seq_cst);
    std::lock_guard lock(prep_mu_);
    prep_cv_.notify_one();
  }
}

void WalLogStore::collect_prepared() {
  if (!prep_pending_) return;
  Status result;
  {
    std::lock_guard lock(prep_mu_);
    if (!prep_result_) return;  // still writing
    result = std::move(*prep_result_);
    prep_result_.reset();
  }
  prep_pending_ = false;
  if (!result.ok()) {
    // Not the log's failure: new segments go on into preallocated space.
    prep_off_ = true;
    log_message(options_.log, LogLevel::kWarning,
                "no longer preparing spare segments: " + result.to_string());
    return;
  }
  spares_.emplace_back(0, join_path(dir_, wal::spare_name(0)));
  spare_count_.store(spares_.size(), std::memory_order_relaxed);
}

void WalLogStore::preparer_loop() {
  std::unique_lock lock(prep_mu_);
  for (;;) {
    prep_cv_.wait(lock, [this] { return prep_asked_ || prep_stop_; });
    if (prep_stop_) return;
    prep_asked_ = false;
    lock.unlock();
    std::string path = join_path(dir_, wal::spare_name(0));
    std::string tmp = path + ".tmp";
    Status st = write_zero_spare(tmp);
    // Renamed only once all written and synced, so a file named as a spare
    // holds nothing but zeros (seq 0: no record was ever checksummed for it,
    // and any segment's seq is higher). The name need not be durable: a
    // crash leaves either name, and open() removes the .tmp.
    if (st.ok()) st = fs_->rename(tmp, path);
    if (st.ok()) spares_prepared_.fetch_add(1, std::memory_order_relaxed);
    else (void)fs_->remove_file(tmp);
    lock.lock();
    if (prep_stop_) return;
    prep_result_ = std::move(st);
  }
}

Status WalLogStore::write_zero_spare(const std::string& tmp) {
  // Small chunks, each synced, at the pace the log writes: the log's own
  // flushes never queue behind more than one chunk, and the disk sees the
  // zeros spread over the segment's life rather than in one burst.
  constexpr uint64_t kChunk = 256 << 10;
  static const std::vector<uint8_t> zeros(kChunk);
  uint64_t from, span;
  {
    std::lock_guard lock(prep_mu_);
    from = prep_from_;
    span = prep_span_;
  }
  auto file = fs_->open_file(tmp, OpenMode::kCreate);
  if (!file.ok()) return file.status();
  RAFT_RETURN_IF_ERROR((*file)->truncate(0));
  RAFT_RETURN_IF_ERROR((*file)->allocate(options_.segment_bytes));
  for (uint64_t off = 0; off < options_.segment_bytes; off += kChunk) {
    // Written once the log has written its share of the span (both
    // factors are at most 1 GiB, so the product fits).
    uint64_t need = from + off * span / options_.segment_bytes;
    {
      std::unique_lock lock(prep_mu_);
      prep_wake_at_.store(need, std::memory_order_seq_cst);
      prep_cv_.wait(lock, [&] {
        return prep_stop_ || appended_.load(std::memory_order_seq_cst) >= need;
      });
      prep_wake_at_.store(UINT64_MAX, std::memory_order_seq_cst);
      if (prep_stop_) return Status(ErrorCode::kAborted, "the WAL is closing");
    }
    size_t n = static_cast<size_t>(std::min(kChunk, options_.segment_bytes - off));
    RAFT_RETURN_IF_ERROR((*file)->write_at(off, {zeros.data(), n}));
    RAFT_RETURN_IF_ERROR((*file)->sync_data());
  }
  return Status();
}

// ---------------------------------------------------------------------------
// Mutations (one thread)

Status WalLogStore::append(std::span<const Entry> entries) {
  if (!failed_.ok()) return failed_;
  if (entries.empty()) return Status();
  Index last = last_index();
  RAFT_RETURN_IF_ERROR(check_append(last, last_term_, last < first_index(), entries));
  for (const Entry& e : entries) {
    if (e.data.size() > wal::kPayloadBytesMax)
      return invalid_argument("append: entry " + str(e.index.value) + " is larger than 1 GiB");
  }

  batch_.clear();
  std::vector<uint32_t> rel;  // offsets of the batch's records within batch_
  rel.reserve(entries.size());
  size_t start = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    Segment* seg = segments_.back().get();
    uint64_t record = kRecordHeaderBytes + entries[i].data.size();
    bool holds_any = !seg->offsets.empty() || !rel.empty();
    if (holds_any && seg->end + batch_.size() + record + kSealRecordBytes > options_.segment_bytes) {
      if (!rel.empty()) {
        RAFT_RETURN_IF_ERROR(write_batch(batch_, rel, entries.subspan(start, i - start)));
        batch_.clear();
        rel.clear();
      }
      start = i;
      RAFT_RETURN_IF_ERROR(roll_over());
    }
    rel.push_back(static_cast<uint32_t>(batch_.size()));
    // Checksummed for the segment it goes to, which roll_over() just changed.
    wal::append_entry_record(&batch_, entries[i], segments_.back()->seed);
  }
  return write_batch(batch_, rel, entries.subspan(start));
}

Status WalLogStore::write_batch(const std::string& bytes, const std::vector<uint32_t>& rel,
                                std::span<const Entry> entries) {
  Segment* seg = segments_.back().get();
  // Written outside the lock: readers only touch bytes below seg->end.
  Status st = seg->file->write_at(seg->end, {reinterpret_cast<const uint8_t*>(bytes.data()),
                                             bytes.size()});
  if (!st.ok()) return fail(st);
  unsynced_ = true;
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < entries.size(); ++i) {
    seg->offsets.push_back(static_cast<uint32_t>(seg->end + rel[i]));
    if (seg->term_runs.empty() || seg->term_runs.back().second != entries[i].term)
      seg->term_runs.emplace_back(entries[i].index, entries[i].term);
  }
  seg->end += bytes.size();
  last_term_ = entries.back().term;
  last_index_.store(entries.back().index, std::memory_order_release);
  lock.unlock();
  count_appended(bytes.size());
  maybe_prepare_spare();
  return Status();
}

Status WalLogStore::roll_over() {
  Segment* old = segments_.back().get();
  // The successor exists durably before the seal that names it, so a seal
  // without its successor is always damage (docs/disk-format.md).
  auto next = create_segment(old->seq + 1, old->last() + 1);
  if (!next.ok()) return fail(next.status());
  std::string seal;
  wal::append_seal_record(&seal, old->last(), old->seq + 1, old->last() + 1, old->seed);
  Status st = old->file->write_at(old->end, {reinterpret_cast<const uint8_t*>(seal.data()),
                                             seal.size()});
  if (st.ok()) st = old->file->truncate(old->end + kSealRecordBytes);
  // Durable before any record goes to the new segment: only the newest
  // segment can ever have a torn tail.
  if (st.ok()) st = old->file->sync_data();
  if (!st.ok()) return fail(st);
  unsynced_ = false;
  durable_index_.store(old->last());
  std::unique_lock lock(mu_);
  old->sealed = true;
  old->offsets.shrink_to_fit();
  old->term_runs.shrink_to_fit();
  segments_.push_back(std::move(*next));
  return Status();
}

Result<Index> WalLogStore::sync() {
  if (!failed_.ok()) return failed_;
  Index last = last_index();
  if (unsynced_) {
    // One flush for every batch written since the last one: group commit.
    Status st = segments_.back()->file->sync_data();
    if (!st.ok()) return fail(st);
    unsynced_ = false;
    uint64_t appended = appended_.load(std::memory_order_relaxed);
    uint64_t flushed = appended - synced_appended_;
    flush_bytes_avg_ = synced_appended_ == 0 ? flushed : (flush_bytes_avg_ * 7 + flushed) / 8;
    synced_appended_ = appended;
  }
  durable_index_.store(last);
  return last;
}

Status WalLogStore::truncate_suffix(Index from) {
  if (!failed_.ok()) return failed_;
  if (from < first_index()) {
    return invalid_argument("truncate_suffix(" + str(from.value) + "): before the first entry " +
                            str(first_index().value));
  }
  if (from > last_index()) return Status();
  Status st = write_intent({kIntentTruncate, from});
  if (!st.ok()) return fail(st);

  std::vector<std::unique_ptr<Segment>> removed;  // newest first
  Segment* keep = nullptr;
  uint64_t cut_at = 0;
  {
    // The index forgets the entries first, so no reader touches the bytes
    // cut below.
    std::unique_lock lock(mu_);
    while (!segments_.empty() && segments_.back()->first >= from) {
      removed.push_back(std::move(segments_.back()));
      segments_.pop_back();
    }
    if (!segments_.empty()) {
      keep = segments_.back().get();
      size_t k = static_cast<size_t>(from.value - keep->first.value);
      cut_at = k < keep->offsets.size() ? keep->offsets[k] : keep->end;
      keep->offsets.resize(std::min(k, keep->offsets.size()));
      keep->trim_terms(from);
      keep->end = cut_at;
      keep->sealed = false;
      last_term_ = keep->term_runs.empty() ? Term(0) : keep->term_runs.back().second;
    } else {
      first_index_.store(from, std::memory_order_release);
      last_term_ = Term(0);
    }
    last_index_.store(from - 1, std::memory_order_release);
  }
  std::vector<std::string> trash;
  for (const auto& seg : removed) {
    st = trash_file(seg->path, &trash);
    if (!st.ok()) return fail(st);
  }
  if (keep != nullptr) {
    st = cut_newest(keep, cut_at);
    if (st.ok() && !removed.empty()) st = fs_->sync_dir(dir_);
  } else {
    auto seg = create_segment(removed.front()->seq + 1, from);  // also syncs the directory
    if (seg.ok()) {
      std::unique_lock lock(mu_);
      segments_.push_back(std::move(*seg));
    }
    st = seg.status();
  }
  if (st.ok()) st = remove_intent();
  if (!st.ok()) return fail(st);
  // cut_newest synced the whole file and older segments were synced when
  // sealed: everything left is durable.
  unsynced_ = false;
  durable_index_.store(last_index());
  removed.clear();  // their files closed before the reclaimer cuts them
  reclaim(&trash);
  return Status();
}

Status WalLogStore::drop_prefix(Index up_to) {
  if (!failed_.ok()) return failed_;
  std::vector<std::unique_ptr<Segment>> removed;  // oldest first
  {
    std::unique_lock lock(mu_);
    size_t k = 0;
    // Never the newest segment: appends go there.
    while (k + 1 < segments_.size() && segments_[k]->last() <= up_to) ++k;
    for (size_t i = 0; i < k; ++i) removed.push_back(std::move(segments_[i]));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(k));
    first_index_.store(segments_.front()->first, std::memory_order_release);
  }
  // Oldest first: a crash in between leaves a suffix of the segments,
  // which is a valid log.
  std::vector<std::string> trash;
  for (const auto& seg : removed) {
    Status st = retire_segment(*seg, &trash);
    if (!st.ok()) return fail(st);
  }
  if (!removed.empty()) {
    Status st = fs_->sync_dir(dir_);
    if (!st.ok()) return fail(st);
  }
  removed.clear();
  reclaim(&trash);
  return Status();
}

Status WalLogStore::reset(Index next) {
  if (!failed_.ok()) return failed_;
  if (next < Index(1)) return invalid_argument("reset: the next index must be at least 1");
  Status st = write_intent({kIntentReset, next});
  if (!st.ok()) return fail(st);
  std::vector<std::unique_ptr<Segment>> removed;
  {
    std::unique_lock lock(mu_);
    removed = std::move(segments_);
    segments_.clear();
    first_index_.store(next, std::memory_order_release);
    last_index_.store(next - 1, std::memory_order_release);
  }
  std::vector<std::string> trash;
  for (auto it = removed.rbegin(); it != removed.rend(); ++it) {
    st = trash_file((*it)->path, &trash);
    if (!st.ok()) return fail(st);
  }
  auto seg = create_segment(removed.back()->seq + 1, next);  // syncs the directory
  if (!seg.ok()) return fail(seg.status());
  removed.clear();
  {
    std::unique_lock lock(mu_);
    segments_.push_back(std::move(*seg));
  }
  st = remove_intent();
  if (!st.ok()) return fail(st);
  last_term_ = Term(0);
  unsynced_ = false;
  durable_index_.store(next - 1);
  reclaim(&trash);
  return Status();
}

// ---------------------------------------------------------------------------
// Reads (any thread)

const WalLogStore::Segment* WalLogStore::find_segment(Index index) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](Index i, const auto& seg) { return i < seg->first; });
  RAFT_ASSERT(it != segments_.begin());
  return std::prev(it)->get();
}

Result<Term> WalLogStore::term_at(Index index) {
  std::shared_lock lock(mu_);
  if (segments_.empty()) return not_found("WAL is being reset");
  Index first = segments_.front()->first;
  Index last = last_index();
  if (index < first || index > last) {
    return not_found("entry " + str(index.value) + " is not in the log [" + str(first.value) +
                     ", " + str(last.value) + "]");
  }
  return find_segment(index)->term_of(index);
}

Status WalLogStore::read(Index from, Index to, size_t bytes_max, std::vector<Entry>* out) {
  if (to < from) return invalid_argument("read: range ends before it starts");
  // Held across the preads: a truncation takes it exclusively before it
  // cuts a file, so bytes never change under a reader. Appends and syncs
  // do their I/O outside it.
  std::shared_lock lock(mu_);
  Index first = segments_.empty() ? first_index() : segments_.front()->first;
  Index last = last_index();
  if (from < first || to > last) {
    return not_found("entries [" + str(from.value) + ", " + str(to.value) +
                     "] are not all in the log [" + str(first.value) + ", " + str(last.value) +
                     "]");
  }
  size_t bytes = 0;
  size_t taken = 0;
  Index i = from;
  while (i <= to) {
    const Segment* seg = find_segment(i);
    size_t k0 = static_cast<size_t>(i.value - seg->first.value);
    size_t k_last = static_cast<size_t>(std::min(to, seg->last()).value - seg->first.value);
    size_t k = k0;
    bool full = false;
    for (; k <= k_last; ++k) {
      size_t len = seg->record_end(k) - seg->offsets[k] - kRecordHeaderBytes;
      if (taken > 0 && bytes + len > bytes_max) {
        full = true;
        break;
      }
      bytes += len;
      ++taken;
    }
    if (k > k0) {
      uint64_t begin = seg->offsets[k0];
      uint64_t end = seg->record_end(k - 1);
      uint8_t* p = nullptr;
      Buffer buf = Buffer::allocate(static_cast<size_t>(end - begin), &p);
      RAFT_RETURN_IF_ERROR(read_exact(seg->file.get(), begin, {p, buf.size()}));
      for (size_t j = k0; j < k; ++j) {
        size_t rel = seg->offsets[j] - begin;
        size_t len = seg->record_end(j) - seg->offsets[j] - kRecordHeaderBytes;
        wal::RecordHeader h = wal::parse_record_header(p + rel);
        Index want = seg->first + j;
        if (h.kind != wal::kKindEntry || h.length != len || h.index != want.value ||
            !entry_type_valid(h.entry_type) ||
            wal::record_crc(seg->seed, p + rel, p + rel + kRecordHeaderBytes, len) != h.crc) {
          // Checked at open; damaged since. Never hand out such bytes.
          return corruption(seg->path + ": offset " + str(seg->offsets[j]) + ": record of entry " +
                            str(want.value) + " no longer matches its checksum");
        }
        out->push_back(Entry{want, Term(h.term), static_cast<EntryType>(h.entry_type),
                             buf.slice(rel + kRecordHeaderBytes, len)});
      }
    }
    if (full) break;
    i = seg->first + k;
  }
  return Status();
}

WalLogStore::Stats WalLogStore::stats() const {
  std::shared_lock lock(mu_);
  Stats s;
  s.segments = segments_.size();
  for (const auto& seg : segments_) {
    s.entries += seg->offsets.size();
    s.index_bytes += seg->offsets.capacity() * sizeof(uint32_t) +
                     seg->term_runs.capacity() * sizeof(seg->term_runs[0]) + sizeof(Segment) +
                     seg->path.capacity();
  }
  s.durable_index = durable_index_.load().value;
  s.spare_segments = spare_count_.load(std::memory_order_relaxed);
  s.spares_prepared = spares_prepared_.load(std::memory_order_relaxed);
  s.trash_deleted = reclaimer_->files_reclaimed();
  FileReclaimer::Backlog backlog = reclaimer_->backlog();
  s.trash_pending = backlog.items;
  s.trash_pending_bytes = backlog.bytes;
  return s;
}

}  // namespace raft::storage
