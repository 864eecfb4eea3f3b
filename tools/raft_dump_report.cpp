#include "raft_dump_report.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "storage/file_snapshot_store.hpp"
#include "storage/file_stable_store.hpp"
#include "storage/framed_file.hpp"
#include "storage/snapshot_store.hpp"
#include "storage/wal_format.hpp"
#include "util/coding.hpp"

namespace raft::tools {

using storage::FileSystem;
using storage::join_path;
namespace wal = storage::wal;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string printable(const std::string& v) {
  bool text = std::all_of(v.begin(), v.end(), [](char c) { return std::isprint(static_cast<unsigned char>(c)); });
  if (text) return "\"" + v + "\"";
  static const char* hex = "0123456789abcdef";
  std::string out = "0x";
  for (unsigned char c : v) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::vector<std::string> sorted_names(FileSystem* fs, const std::string& dir) {
  auto names = fs->list_dir(dir);
  if (!names.ok()) return {};
  std::vector<std::string> v = *names;
  std::sort(v.begin(), v.end());
  return v;
}

void dump_wal(FileSystem* fs, const std::string& dir, const DumpOptions& options, std::ostream& out,
              DumpSummary* sum) {
  out << "WAL " << dir << "\n";
  struct Seg {
    uint64_t seq;
    Index first;
    std::string name;
  };
  std::vector<Seg> segs;
  for (const auto& name : sorted_names(fs, dir)) {
    Seg s{0, Index(0), name};
    uint64_t spare_seq;
    if (wal::parse_segment_name(name, &s.seq, &s.first)) {
      segs.push_back(s);
    } else if (wal::parse_spare_name(name, &spare_seq)) {
      if (spare_seq == 0) {
        out << "  spare " << name << " (written with zeros for the next new segment)\n";
      } else {
        out << "  spare " << name << " (segment seq " << spare_seq
            << " kept for reuse by a later segment; its bytes are stale)\n";
      }
    } else if (wal::parse_trash_name(name, &spare_seq)) {
      out << "  trash " << name
          << " (a segment that left the log, being deleted a little at a time; the next open "
             "deletes it if the node stopped first)\n";
      ++sum->leftovers;
    } else if (name == "INTENT") {
      auto bytes = storage::read_whole_file(fs, join_path(dir, name));
      auto body = bytes.ok() ? storage::decode_framed(*bytes, storage::kIntentMagic, join_path(dir, name))
                             : Result<std::string_view>(bytes.status());
      if (!body.ok()) {
        out << "  DAMAGE: " << body.status().to_string() << "\n";
        ++sum->damage;
        continue;
      }
      Reader r({reinterpret_cast<const uint8_t*>(body->data()), body->size()});
      uint8_t kind = r.u8();
      uint64_t index = r.varint();
      out << "  INTENT: " << (kind == 1 ? "truncation from index " : kind == 2 ? "reset to next index " : "unknown intent at ")
          << index << " in progress (a node completes it at open)\n";
      ++sum->leftovers;
    } else if (ends_with(name, ".tmp")) {
      out << "  leftover " << name << " (an interrupted write; removed at open)\n";
      ++sum->leftovers;
    } else if (name != "LOCK") {
      out << "  unknown file " << name << " (ignored)\n";
    }
  }
  std::sort(segs.begin(), segs.end(), [](const Seg& a, const Seg& b) { return a.seq < b.seq; });
  if (segs.empty()) out << "  no segments\n";
  Term prev_term;
  bool has_prev = false;
  Index prev_last;
  uint64_t total = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Seg& s = segs[i];
    std::string path = join_path(dir, s.name);
    bool newest = i + 1 == segs.size();
    if (i > 0 && s.seq != segs[i - 1].seq + 1) {
      out << "  DAMAGE: missing segment: seq " << segs[i - 1].seq + 1 << " should come before " << s.name << "\n";
      ++sum->damage;
    }
    auto file = fs->open_file(path, storage::OpenMode::kRead);
    if (!file.ok()) {
      out << "  " << s.name << ": cannot open: " << file.status().to_string() << "\n";
      ++sum->damage;
      continue;
    }
    wal::ScanOptions so;
    so.prev_term = prev_term;
    auto scan = wal::scan_segment(file->get(), so);
    if (!scan.ok()) {
      out << "  " << s.name << ": DAMAGE: " << scan.status().to_string() << "\n";
      ++sum->damage;
      has_prev = false;
      continue;
    }
    size_t n = scan->offsets.size();
    out << "  " << s.name << ": seq " << scan->header.seq << ", ";
    if (n == 0) {
      out << "no entries (next index " << scan->header.first << ")";
    } else {
      out << "entries " << scan->header.first << ".." << scan->last_index() << " (" << n << "), terms "
          << scan->term_runs.front().second << ".." << scan->last_term;
    }
    out << ", " << scan->end_offset << " of " << scan->file_size << " bytes used, "
        << (scan->sealed ? "sealed" : "open") << ", format " << scan->header.version
        << ((scan->header.flags & wal::kFlagRecycled) ? ", recycled file" : "") << "\n";
    total += n;
    if (has_prev && scan->header.first != prev_last + 1) {
      out << "  DAMAGE: " << s.name << " starts at index " << scan->header.first
          << " but the segment before ends at " << prev_last << "\n";
      ++sum->damage;
    }
    if (scan->tail == wal::Tail::kCorrupt) {
      out << "  DAMAGE: " << scan->damage() << "\n";
      ++sum->damage;
    } else if (scan->tail == wal::Tail::kTorn) {
      if (newest && (scan->header.flags & wal::kFlagRecycled)) {
        out << "  the log ends at offset " << scan->end_offset
            << "; the bytes after it are left from the recycled file's earlier use or from an "
               "interrupted write (" << scan->bad_reason << "; a node clears them at open)\n";
        ++sum->leftovers;
      } else if (newest) {
        out << "  torn tail: " << scan->damage() << " (a node cuts it at open, with a warning)\n";
        ++sum->leftovers;
      } else {
        out << "  DAMAGE: " << scan->damage() << " (not the newest segment)\n";
        ++sum->damage;
      }
    }
    if (!newest && !scan->sealed && scan->tail == wal::Tail::kClean) {
      out << "  DAMAGE: " << s.name << " ends at offset " << scan->end_offset
          << " without a seal but another segment follows\n";
      ++sum->damage;
    }
    if (newest && scan->sealed) {
      out << "  DAMAGE: missing segment: the seal names " << wal::segment_name(scan->next_seq, scan->next_first)
          << ", which does not exist\n";
      ++sum->damage;
    }
    if (options.records) {
      for (size_t k = 0; k < n; ++k) {
        uint8_t h[wal::kRecordHeaderBytes];
        if (!storage::read_exact(file->get(), scan->offsets[k], {h, sizeof h}).ok()) break;
        wal::RecordHeader rh = wal::parse_record_header(h);
        out << "    offset " << scan->offsets[k] << ": index " << rh.index << " term " << rh.term << " "
            << entry_type_name(static_cast<EntryType>(rh.entry_type)) << " " << rh.length << " bytes\n";
      }
    }
    prev_term = scan->last_term;
    prev_last = scan->last_index();
    // After damage the scan stopped early: its last index says nothing.
    has_prev = scan->tail == wal::Tail::kClean;
  }
  if (!segs.empty()) out << "  " << segs.size() << " segments, " << total << " entries\n";
}

void dump_stable(FileSystem* fs, const std::string& dir, std::ostream& out, DumpSummary* sum) {
  out << "stable store " << dir << "\n";
  std::string path = join_path(dir, "state");
  if (*fs->exists(path + ".tmp")) {
    out << "  leftover state.tmp (an interrupted write; removed at open)\n";
    ++sum->leftovers;
  }
  auto bytes = storage::read_whole_file(fs, path);
  if (!bytes.ok()) {
    out << "  no state file (a new node: term 0, no vote)\n";
    return;
  }
  HardState hs;
  std::map<std::string, std::string> values;
  Status st = storage::FileStableStore::decode(*bytes, path, &hs, &values);
  if (!st.ok()) {
    out << "  DAMAGE: " << st.to_string() << "\n";
    ++sum->damage;
    return;
  }
  out << "  term " << hs.term << ", vote " << (hs.vote == kNoNode ? std::string("none") : std::to_string(hs.vote.value)) << "\n";
  for (const auto& [name, value] : values) out << "  " << name << " = " << printable(value) << "\n";
}

void dump_snapshots(FileSystem* fs, const std::string& dir, const DumpOptions& options, std::ostream& out,
                    DumpSummary* sum) {
  out << "snapshots " << dir << "\n";
  int count = 0;
  auto names = sorted_names(fs, dir);
  std::reverse(names.begin(), names.end());  // newest first
  for (const auto& name : names) {
    if (name.rfind("tmp-", 0) == 0 || name.rfind("deleted-", 0) == 0) {
      out << "  leftover " << name
          << " (an interrupted write, or a removal in progress; the next open deletes it if the "
             "node stopped first)\n";
      ++sum->leftovers;
      continue;
    }
    Index index;
    Term term;
    uint64_t seq;
    if (!storage::parse_snapshot_id(name, &index, &term, &seq)) {
      if (name != "LOCK") out << "  unknown entry " << name << " (ignored)\n";
      continue;
    }
    ++count;
    auto reader = storage::FileSnapshotStore::open_folder(fs, join_path(dir, name));
    if (!reader.ok()) {
      out << "  " << name << ": DAMAGE: " << reader.status().to_string() << "\n";
      ++sum->damage;
      continue;
    }
    const auto& m = (*reader)->meta();
    out << "  " << name << ": index " << m.index << ", term " << m.term << ", " << m.size_bytes
        << " bytes, crc32c " << std::hex << m.crc32c << std::dec << ", configuration "
        << m.configuration.to_string() << " at index " << m.configuration_index << "\n";
    if (options.verify_snapshots) {
      std::vector<uint8_t> buf(1 << 20);
      for (;;) {
        auto n = (*reader)->read(buf);
        if (!n.ok()) {
          out << "    DAMAGE: " << n.status().to_string() << "\n";
          ++sum->damage;
          break;
        }
        if (*n == 0) {
          out << "    data checksum verified\n";
          break;
        }
      }
    }
  }
  if (count == 0) out << "  no snapshots\n";
}

}  // namespace

Result<DumpSummary> dump(FileSystem* fs, const std::string& path, const DumpOptions& options,
                         std::ostream& out) {
  auto is_dir = fs->is_dir(path);
  if (!is_dir.ok()) return is_dir.status();
  if (!*is_dir) return not_found(path + ": not a directory");
  DumpSummary sum;
  auto names = sorted_names(fs, path);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  bool any = false;
  if (has("wal") || has("stable") || has("snapshots")) {
    if (has("wal")) dump_wal(fs, join_path(path, "wal"), options, out, &sum);
    if (has("stable")) dump_stable(fs, join_path(path, "stable"), out, &sum);
    if (has("snapshots")) dump_snapshots(fs, join_path(path, "snapshots"), options, out, &sum);
    any = true;
  } else {
    Index i;
    Term t;
    uint64_t seq;
    bool wal_dir = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return wal::parse_segment_name(n, &seq, &i) || n == "INTENT";
    });
    bool snap_dir = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return storage::parse_snapshot_id(n, &i, &t, &seq);
    });
    if (wal_dir) dump_wal(fs, path, options, out, &sum);
    if (has("state") || has("state.tmp")) dump_stable(fs, path, out, &sum);
    if (snap_dir) dump_snapshots(fs, path, options, out, &sum);
    any = wal_dir || snap_dir || has("state") || has("state.tmp");
  }
  if (!any) return not_found(path + ": no wal/, stable/ or snapshots/ here, nor a store's files");
  out << (sum.damage ? "DAMAGE FOUND: " : "OK: ") << sum.damage << " problem(s), " << sum.leftovers
      << " leftover(s) a node would clean up\n";
  return sum;
}

}  // namespace raft::tools
