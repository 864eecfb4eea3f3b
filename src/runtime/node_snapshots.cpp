// Snapshots in the runtime (docs/snapshots.md): taking them (Fsm::snapshot
// on the apply thread, persist on the snapshot thread), compacting the log,
// streaming them to followers and receiving them, restoring them on start.
//
// Threads: the snapshot store is thread-safe; its writers and readers are
// used by the snapshot thread only, except the reader a restore opens on
// the apply thread.
#include <random>

#include "runtime/node_impl.hpp"
#include "storage/file_snapshot_store.hpp"
#include "util/crc32c.hpp"

namespace raft {

namespace {

core::SnapshotInfo info_of(const storage::SnapshotMeta& m) {
  core::SnapshotInfo i;
  i.id = m.id;
  i.index = m.index;
  i.term = m.term;
  i.configuration = m.configuration;
  i.configuration_index = m.configuration_index;
  i.size_bytes = m.size_bytes;
  i.crc32c = m.crc32c;
  return i;
}

// The Fsm's view of a snapshot being written.
class SinkAdapter final : public SnapshotSink {
 public:
  explicit SinkAdapter(storage::SnapshotWriter* w) : w_(w) {}
  Status write(std::span<const uint8_t> bytes) override { return w_->write(bytes); }

 private:
  storage::SnapshotWriter* w_;
};

// The Fsm's view of a snapshot being restored.
class ReaderAdapter final : public SnapshotReader {
 public:
  explicit ReaderAdapter(storage::SnapshotReader* r) : r_(r) {}
  Result<size_t> read(std::span<uint8_t> out) override { return r_->read(out); }

 private:
  storage::SnapshotReader* r_;
};

Status restore_fsm(Fsm& fsm, storage::SnapshotReader* r) {
  ReaderAdapter adapter(r);
  try {
    return fsm.restore(adapter);
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternal, std::string("the FSM's restore threw: ") + e.what());
  } catch (...) {
    return Status(ErrorCode::kInternal, "the FSM's restore threw");
  }
}

}  // namespace

// ---- start ----

Status Node::Impl::open_snapshots(core::InitialState* st, runtime::ApplyWorker::AppliedMeta* applied) {
  if (config_.store == "wal") {
    storage::FileSnapshotStoreOptions o;
    o.log = [logger = logger_](storage::LogLevel level, std::string_view m) {
      logger.log(level == storage::LogLevel::kWarning ? LogLevel::kWarn : LogLevel::kInfo, m);
    };
    auto store = storage::FileSnapshotStore::open(config_.data_dir + "/snapshots", o);
    if (!store.ok()) return store.status().with_context("opening the snapshots in " + config_.data_dir);
    file_snapshots_ = store->get();
    snapshot_store_ = std::move(*store);
  } else {
    snapshot_store_ = std::make_unique<storage::MemorySnapshotStore>();
  }
  auto list = snapshot_store_->list();
  if (!list.ok()) return list.status();
  if (list->empty()) return Status();
  auto reader = snapshot_store_->open_latest();
  if (!reader.ok()) return reader.status().with_context("opening the newest snapshot");
  const storage::SnapshotMeta& m = (*reader)->meta();
  if (!config_.no_snapshot_restore_on_start) {
    Status s = restore_fsm(*fsm_, reader->get());
    if (!s.ok()) return s.with_context("restoring snapshot " + m.id);
  }
  st->snapshot = info_of(m);
  applied->index = m.index;
  applied->term = m.term;
  applied->configuration = m.configuration;
  applied->configuration_index = m.configuration_index;
  std::lock_guard<std::mutex> lock(pub_mu_);
  pub_.snapshot_index = m.index;
  pub_.snapshot_term = m.term;
  logger_.info("restored snapshot ", m.id, " (index ", m.index, ", ", m.size_bytes, " bytes)");
  return Status();
}

// ---- taking snapshots ----

void Node::Impl::arm_snapshot_timer() {
  // Jitter, so that the nodes of a cluster do not all snapshot at once.
  static thread_local std::mt19937_64 rng(std::random_device{}());
  auto interval = config_.snapshot_interval;
  auto jitter = std::chrono::milliseconds(rng() % static_cast<uint64_t>(interval.count() / 8 + 1));
  snapshot_timer_.expires_after(interval + jitter);
  snapshot_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    Index applied = apply_->applied();
    Index last;
    {
      std::lock_guard<std::mutex> lock(pub_mu_);
      last = pub_.snapshot_index;
    }
    // Counted as a difference: a threshold near UINT64_MAX means "never".
    uint64_t since = applied.value > last.value ? applied.value - last.value : 0;
    if (!snapshot_running_ && since > config_.snapshot_threshold) start_snapshot(std::nullopt);
    arm_snapshot_timer();
  });
}

Future<uint64_t> Node::Impl::snapshot() {
  detail::Promise<uint64_t> p;
  Future<uint64_t> f = p.future();
  if (!post([this, p]() mutable {
        if (stopped_) {
          p.set_error(Status(ErrorCode::kShutdown, "node is shut down"));
          return;
        }
        if (snapshot_running_) {
          p.set_error(Status(ErrorCode::kBusy, "a snapshot is being taken"));
          return;
        }
        start_snapshot(std::move(p));
      })) {
    return failed_future<uint64_t>(Status(ErrorCode::kShutdown, "node is shut down"));
  }
  return f;
}

void Node::Impl::maybe_snapshot_for_log_bytes() {
  // Checked after every batch of the loop's work: one relaxed load.
  if (config_.snapshot_log_bytes == 0 || snapshot_running_ || !apply_) return;
  if (apply_->bytes_applied() - snapshot_bytes_mark_ <= config_.snapshot_log_bytes) return;
  start_snapshot(std::nullopt);
}

void Node::Impl::start_snapshot(std::optional<detail::Promise<uint64_t>> waiter) {
  snapshot_running_ = true;
  // Whether it succeeds or not, the next snapshot for the log's size
  // waits for another snapshot_log_bytes.
  snapshot_bytes_mark_ = apply_->bytes_applied();
  if (waiter) snapshot_waiters_.push_back(std::move(*waiter));
  Index last;
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    last = pub_.snapshot_index;
  }
  // Thesis 5.2: the state machine hands over a point-in-time view quickly
  // (on the apply thread, between two entries); writing it out happens on
  // the snapshot thread while applying goes on.
  apply_->run_in_order([this, last] {
    const runtime::ApplyWorker::AppliedMeta& m = apply_->applied_meta();
    if (m.index <= last) {
      post([this] { snapshot_done(Status(ErrorCode::kAborted, "nothing was applied since the last snapshot")); });
      return;
    }
    Result<std::unique_ptr<FsmSnapshot>> snap = Status(ErrorCode::kInternal, "");
    try {
      snap = apply_->fsm().snapshot();
    } catch (const std::exception& e) {
      snap = Status(ErrorCode::kInternal, std::string("the FSM's snapshot threw: ") + e.what());
    } catch (...) {
      snap = Status(ErrorCode::kInternal, "the FSM's snapshot threw");
    }
    if (!snap.ok()) {
      Status s = snap.status();
      post([this, s] { snapshot_done(s); });
      return;
    }
    storage::SnapshotMeta meta;
    meta.index = m.index;
    meta.term = m.term;
    meta.configuration = m.configuration;
    meta.configuration_index = m.configuration_index;
    auto owned = std::make_shared<std::unique_ptr<FsmSnapshot>>(std::move(*snap));
    bool queued = snapshot_thread_.post([this, meta, owned] {
      Result<storage::SnapshotMeta> result = Status(ErrorCode::kInternal, "");
      auto writer = snapshot_store_->create(meta);
      if (!writer.ok()) {
        result = writer.status();
      } else {
        SinkAdapter sink(writer->get());
        Status s;
        try {
          s = (*owned)->persist(sink);
        } catch (const std::exception& e) {
          s = Status(ErrorCode::kInternal, std::string("the FSM snapshot's persist threw: ") + e.what());
        } catch (...) {
          s = Status(ErrorCode::kInternal, "the FSM snapshot's persist threw");
        }
        if (s.ok()) {
          result = (*writer)->commit();
        } else {
          (*writer)->abort();
          result = s;
        }
        if (result.ok()) {
          Status r = snapshot_store_->retain(config_.retain_snapshots);
          if (!r.ok()) logger_.warn("snapshots: could not remove old ones: ", r.to_string());
        }
      }
      (*owned)->release();
      post([this, result] { snapshot_done(result); });
    });
    if (!queued) (*owned)->release();
  });
}

void Node::Impl::snapshot_done(Result<storage::SnapshotMeta> meta) {
  snapshot_running_ = false;
  std::vector<detail::Promise<uint64_t>> waiters;
  waiters.swap(snapshot_waiters_);
  if (!meta.ok()) {
    if (meta.status().code() != ErrorCode::kAborted)
      logger_.warn("snapshot failed: ", meta.status().to_string());
    for (auto& w : waiters) w.set_error(meta.status());
    return;
  }
  if (stopped_) {
    for (auto& w : waiters) w.set_error(Status(ErrorCode::kShutdown, "node is shut down"));
    return;
  }
  logger_.info("snapshot ", meta->id, " taken at index ", meta->index, " (", meta->size_bytes, " bytes)");
  advance_time();
  raft_->snapshot_taken(info_of(*meta));
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_.snapshot_index = meta->index;
    pub_.snapshot_term = meta->term;
    ++pub_.snapshots_taken;
    pub_.snapshot_bytes_written += meta->size_bytes;
    pub_.last_snapshot_bytes = meta->size_bytes;
  }
  for (auto& w : waiters) w.set_value(meta->index.value);
  flush();
}

// ---- the core's snapshot output ----

void Node::Impl::handle_snapshot_output(core::Ready& rd, runtime::DiskRequest* req) {
  if (rd.install) {
    const core::SnapshotInfo info = rd.install->info;
    req->install = runtime::DiskRequest::Install{info.index, rd.install->keep_log};
    // The state machine becomes the snapshot's, in order with the entries
    // around it (ready.hpp rule 8).
    apply_->run_in_order([this, info] {
      runtime::ApplyWorker::AppliedMeta m{info.index, info.term, info.configuration, info.configuration_index};
      auto r = snapshot_store_->open(info.id);
      Status s = r.ok() ? restore_fsm(apply_->fsm(), r->get()) : r.status();
      if (!s.ok()) {
        // The snapshot was verified when it arrived; failing now means the
        // FSM or the disk is broken: going on would apply entries to the
        // wrong state.
        logger_.error("restoring snapshot ", info.id, " failed: ", s.to_string(), "; the node stops");
        post([this, s] { on_disk_failed(s.with_context("restoring a snapshot")); });
        return;
      }
      apply_->reset_to(m);
      logger_.info("installed snapshot ", info.id, " at index ", info.index);
    });
    std::lock_guard<std::mutex> lock(pub_mu_);
    pub_.snapshot_index = info.index;
    pub_.snapshot_term = info.term;
    ++pub_.snapshots_installed;
  }
  if (rd.compact_to) req->compact_to = rd.compact_to;
  if (rd.released) {
    // Freed on the snapshot thread: millions of entries (the log between
    // two snapshots) take seconds to free, long enough for the followers
    // of a leader whose loop did it to start an election. Whatever else
    // holds their bytes (the apply thread, a send in flight) keeps them.
    std::shared_ptr<std::deque<Entry>> garbage = std::move(rd.released);
    snapshot_thread_.post([garbage] { garbage->clear(); });
  }
  for (const core::SnapshotRead& r : rd.snapshot_reads) snapshot_thread_.post([this, r] { read_snapshot_chunk(r); });
  for (core::SnapshotChunk& c : rd.snapshot_chunks)
    snapshot_thread_.post([this, c = std::move(c)] { receive_snapshot_chunk(c); });
}

// ---- streaming (snapshot thread) ----

void Node::Impl::read_snapshot_chunk(const core::SnapshotRead& r) {
  Outgoing& o = outgoing_[r.peer];
  auto fail = [&](const Status& s) {
    outgoing_.erase(r.peer);
    post([this, r, s] {
      if (!stopped_) {
        advance_time();
        raft_->snapshot_chunk_read(r.peer, r.id, r.offset, Buffer(), false, s);
        schedule_flush();
      }
    });
  };
  // Readers stream forwards; a rewind (a resend after a stall) reopens.
  if (o.id != r.id || !o.reader || o.offset > r.offset) {
    auto reader = snapshot_store_->open(r.id);
    if (!reader.ok()) return fail(reader.status());
    o.id = r.id;
    o.reader = std::move(*reader);
    o.offset = 0;
  }
  std::vector<uint8_t> skip(64 << 10);
  while (o.offset < r.offset) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(skip.size(), r.offset - o.offset));
    auto n = o.reader->read(std::span<uint8_t>(skip.data(), want));
    if (!n.ok()) return fail(n.status());
    if (*n == 0) return fail(Status(ErrorCode::kCorruption, "snapshot " + r.id + " is shorter than expected"));
    o.offset += *n;
  }
  uint8_t* p = nullptr;
  Buffer chunk = Buffer::allocate(r.bytes_max, &p);
  size_t got = 0;
  while (got < r.bytes_max) {
    auto n = o.reader->read(std::span<uint8_t>(p + got, r.bytes_max - got));
    if (!n.ok()) return fail(n.status());
    if (*n == 0) break;
    got += *n;
  }
  o.offset += got;
  uint64_t size = o.reader->meta().size_bytes;
  bool last = r.offset + got >= size;
  Buffer data = got == r.bytes_max ? chunk : chunk.slice(0, got);
  NodeId peer = r.peer;
  std::string id = r.id;
  uint64_t offset = r.offset;
  post([this, peer, id, offset, data, last] {
    if (stopped_) return;
    advance_time();
    raft_->snapshot_chunk_read(peer, id, offset, data, last, Status());
    schedule_flush();
  });
}

void Node::Impl::receive_snapshot_chunk(const core::SnapshotChunk& c) {
  core::SnapshotInfo info = c.info;
  auto answer = [this, &c](core::SnapshotInfo i, uint64_t next, bool installed, Status s) {
    NodeId from = c.from;
    post([this, from, i, next, installed, s] {
      if (stopped_) return;
      advance_time();
      raft_->snapshot_chunk_written(from, i, next, installed, s);
      schedule_flush();
    });
  };
  // A new transfer (offset 0, or another snapshot): start over.
  if (c.offset == 0 || !incoming_ || incoming_->index != info.index || incoming_->term != info.term) {
    if (c.offset != 0) return answer(info, 0, false, Status());  // ask for the start
    if (incoming_ && incoming_->writer) incoming_->writer->abort();
    storage::SnapshotMeta meta;
    meta.index = info.index;
    meta.term = info.term;
    meta.configuration = info.configuration;
    meta.configuration_index = info.configuration_index;
    auto w = snapshot_store_->create(meta);
    if (!w.ok()) {
      incoming_.reset();
      return answer(info, 0, false, w.status());
    }
    incoming_ = Incoming{c.from, info.index, info.term, std::move(*w), 0, 0};
  }
  Incoming& in = *incoming_;
  if (c.offset != in.received) return answer(info, in.received, false, Status());  // out of order: resume
  Status s = in.writer->write(c.data.span());
  if (!s.ok()) {
    incoming_.reset();
    return answer(info, 0, false, s);
  }
  in.received += c.data.size();
  in.crc = crc32c_extend(in.crc, c.data.data(), c.data.size());
  if (!c.last) return answer(info, in.received, false, Status());
  // Verify before anything is replaced: size and checksum of what came.
  if (in.received != info.size_bytes || in.crc != info.crc32c) {
    in.writer->abort();
    incoming_.reset();
    logger_.warn("snapshot from ", c.from, " failed its checksum (", in.received, " bytes); asking again");
    return answer(info, 0, false, Status(ErrorCode::kCorruption, "received snapshot failed its checksum"));
  }
  auto committed = in.writer->commit();
  incoming_.reset();
  if (!committed.ok()) return answer(info, 0, false, committed.status());
  Status r = snapshot_store_->retain(config_.retain_snapshots);
  if (!r.ok()) logger_.warn("snapshots: could not remove old ones: ", r.to_string());
  answer(info_of(*committed), committed->size_bytes, true, Status());
}

// ---- restoring a user's snapshot (leader) ----

Status Node::Impl::restore(SnapshotReader& reader, std::chrono::milliseconds timeout) {
  // Where it will sit: right after the leader's log, in its term, with
  // the configuration in effect.
  detail::Promise<storage::SnapshotMeta> where;
  Future<storage::SnapshotMeta> wf = where.future();
  if (!post([this, where]() mutable {
        if (stopped_ || raft_->role() != core::Role::kLeader) {
          where.set_error(Status(ErrorCode::kNotLeader, "restore must run on the leader"));
          return;
        }
        storage::SnapshotMeta m;
        m.index = raft_->last_index() + 1;
        m.term = raft_->term();
        m.configuration = raft_->configuration();
        m.configuration_index = raft_->configuration_index();
        where.set_value(m);
      })) {
    return Status(ErrorCode::kShutdown, "node is shut down");
  }
  if (!wf.wait().ok()) return wf.status();
  storage::SnapshotMeta meta = wf.value();
  auto w = snapshot_store_->create(meta);
  if (!w.ok()) return w.status();
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    auto n = reader.read(buf);
    if (!n.ok()) {
      (*w)->abort();
      return n.status().with_context("reading the snapshot to restore");
    }
    if (*n == 0) break;
    Status s = (*w)->write(std::span<const uint8_t>(buf.data(), *n));
    if (!s.ok()) {
      (*w)->abort();
      return s;
    }
  }
  auto committed = (*w)->commit();
  if (!committed.ok()) return committed.status();
  core::SnapshotInfo info = info_of(*committed);
  detail::Promise<void> done;
  Future<void> df = done.future();
  core::Nanos deadline = deadline_after(timeout);
  if (!post([this, info, done, deadline]() mutable {
        if (stopped_) {
          done.set_error(Status(ErrorCode::kShutdown, "node is shut down"));
          return;
        }
        advance_time();
        auto pos = raft_->restore_snapshot(info);
        if (!pos.ok()) {
          done.set_error(pos.status());
          return;
        }
        logger_.info("restoring a user snapshot at index ", info.index);
        // Commands in flight are superseded by the restored state.
        fail_all_pending(Status(ErrorCode::kLeadershipLost, "superseded by a restored snapshot"));
        Pending p{pos->term, std::nullopt, done, 0, deadline};
        if (deadline.count() > 0) deadlines_.emplace(deadline, pos->index.value);
        pending_.insert(pos->index.value, std::move(p));
        expire_deadlines();
        flush();
      })) {
    return Status(ErrorCode::kShutdown, "node is shut down");
  }
  return df.wait();
}

}  // namespace raft
