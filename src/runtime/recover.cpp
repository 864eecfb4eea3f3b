// Node::recover_cluster: the documented, deliberately unsafe, offline tool
// for an operator who lost a majority for good (as Hashicorp's
// RecoverCluster / peers.json). docs/membership.md explains when, and when
// never, to use it.
#include "runtime/config_convert.hpp"
#include "storage/file_snapshot_store.hpp"
#include "storage/file_stable_store.hpp"
#include "storage/wal_log_store.hpp"
#include "util/log.hpp"

namespace raft {

Status Node::recover_cluster(const Config& config, const ClusterConfiguration& configuration) {
  RAFT_RETURN_IF_ERROR(config.validate());
  if (config.store != "wal") return invalid_argument("recover_cluster works on a \"wal\" store's data_dir");
  Configuration c = runtime::internal_configuration(configuration);
  std::string why;
  if (!c.valid(&why)) return invalid_argument("bad configuration: " + why);
  Logger log(config.log_callback, LogLevel::kWarn, "recover_cluster: ");
  log.warn("rewriting the configuration of ", config.data_dir, " to ", c.to_string(),
           " WITHOUT CONSENSUS. Safe only if every server left out is gone for good and every survivor gets the "
           "same configuration.");
  // The node must not be running: the stores lock their directories.
  auto wal = storage::WalLogStore::open(config.data_dir + "/wal");
  if (!wal.ok()) return wal.status();
  auto stable = storage::FileStableStore::open(config.data_dir + "/meta");
  if (!stable.ok()) return stable.status();
  auto snaps = storage::FileSnapshotStore::open(config.data_dir + "/snapshots", {});
  if (!snaps.ok()) return snaps.status();
  Index last = (*wal)->last_index();
  Term term;
  if (last >= (*wal)->first_index() && last > Index(0)) {
    auto t = (*wal)->term_at(last);
    if (!t.ok()) return t.status();
    term = *t;
  } else {
    auto list = (*snaps)->list();
    if (!list.ok()) return list.status();
    if (!list->empty()) {
      last = list->front().index;
      term = list->front().term;
      RAFT_RETURN_IF_ERROR((*wal)->reset(last + 1));
    }
  }
  auto hs = (*stable)->load_hard_state();
  if (!hs.ok()) return hs.status();
  // The entry gets a term no leader ever used, so it can never be
  // mistaken for an entry some lost leader wrote at the same index
  // (thesis 3.5, Log Matching rests on one leader per term).
  term = Term(std::max(term, hs->term).value + 1);
  // The new configuration takes effect as soon as it is in the log
  // (thesis 4.1); the survivors elect a leader among themselves.
  Entry e{last + 1, term, EntryType::kConfiguration, encode_configuration(c)};
  RAFT_RETURN_IF_ERROR((*wal)->append(std::span<const Entry>(&e, 1)));
  auto synced = (*wal)->sync();
  if (!synced.ok()) return synced.status();
  if (hs->term < term) RAFT_RETURN_IF_ERROR((*stable)->save_hard_state(HardState{term, kNoNode}));
  log.warn("wrote configuration entry ", e.index, " (term ", e.term, ")");
  return Status();
}

}  // namespace raft
