// raft_node: the C face of raft::Node. Starting, stopping, commands,
// queries, membership, leadership and snapshots; each call checks its
// handle, then forwards to the C++ node (include/raft/raft.h, conventions
// 3 and 6).
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "capi/capi.hpp"

using raft::capi::CallbackKind;
using raft::capi::CallbackScope;
using raft::capi::dup_string;
using raft::capi::fail;
using raft::capi::guarded;
using raft::capi::null_argument;
using raft::capi::refuse_in_callback;
using raft::capi::timeout_of;

namespace {

// Runs body(node) for a live node handle: RAFT_EINVAL for NULL,
// RAFT_ESHUTDOWN once raft_node_shutdown was called.
template <class Body>
int with_node(raft_node* node, char** errmsg, const char* function, Body&& body) {
  return guarded(errmsg, function, [&]() -> int {
    if (!node) return null_argument(errmsg, function, "node");
    if (node->shut_down.load())
      return fail(errmsg, RAFT_ESHUTDOWN,
                  std::string(function) + ": node " + std::to_string(node->id) + " is shut down");
    return body(*node->node);
  });
}

// The Config of a C config: the log callback becomes a LogSink that marks
// its thread (so that calls into libraft from it are refused).
raft::Config config_of(const raft_config& c) {
  raft::Config out = c.config;
  if (c.log_fn) {
    out.log_callback = [fn = c.log_fn, user = c.log_user](raft::LogLevel level, std::string_view message) {
      try {
        std::string line(message);
        CallbackScope scope(CallbackKind::kLog);
        fn(user, static_cast<int>(level), line.c_str());
      } catch (...) {
        // A line that cannot be copied (out of memory) is dropped.
      }
    };
  }
  return out;
}

int state_of(raft::Role r) {
  switch (r) {
    case raft::Role::kFollower: return RAFT_STATE_FOLLOWER;
    case raft::Role::kCandidate: return RAFT_STATE_CANDIDATE;
    case raft::Role::kLeader: return RAFT_STATE_LEADER;
    case raft::Role::kShutdown: return RAFT_STATE_SHUTDOWN;
  }
  return RAFT_STATE_SHUTDOWN;
}

void append_json_string(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          *out += buf;
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// The byte source of raft_node_restore as a raft::SnapshotReader.
class CallbackReader : public raft::SnapshotReader {
 public:
  CallbackReader(raft_read_fn fn, void* user) : fn_(fn), user_(user) {}
  raft::Result<size_t> read(std::span<uint8_t> out) override {
    size_t n = 0;
    char* message = nullptr;
    int rc;
    {
      CallbackScope scope;
      rc = fn_(user_, out.data(), out.size(), &n, &message);
    }
    if (rc != RAFT_OK) return raft::capi::status_from_callback(rc, message, "the restore's read callback failed");
    std::free(message);
    if (n > out.size())
      return raft::Status(raft::ErrorCode::kInvalidArgument,
                          "the restore's read callback returned " + std::to_string(n) + " bytes for a buffer of " +
                              std::to_string(out.size()));
    return n;
  }

 private:
  raft_read_fn fn_;
  void* user_;
};

raft_configuration* new_configuration(raft::ClusterConfiguration c) {
  auto out = std::make_unique<raft_configuration>();
  out->configuration = std::move(c);
  return out.release();
}

}  // namespace

extern "C" {

// ---- lifetime ----

int raft_node_start(const raft_config* config, const raft_fsm* fsm, raft_node** node, char** errmsg) {
  return guarded(errmsg, "raft_node_start", [&] {
    if (!config) return null_argument(errmsg, "raft_node_start", "config");
    if (!fsm) return null_argument(errmsg, "raft_node_start", "fsm");
    if (!node) return null_argument(errmsg, "raft_node_start", "node");
    if (int rc = refuse_in_callback(errmsg, "raft_node_start"); rc != RAFT_OK) return rc;
    const raft::capi::FsmCallbacks& cb = raft::capi::fsm_handle(fsm)->callbacks;
    if (!cb.apply) return fail(errmsg, RAFT_EINVAL, "raft_node_start: the FSM has no apply callback");
    if (!cb.snapshot != !cb.persist)
      return fail(errmsg, RAFT_EINVAL, "raft_node_start: the FSM has a snapshot callback without persist, or the reverse");
    auto handle = std::make_unique<raft_node>();
    handle->id = config->config.id;
    handle->leader_slot = std::make_shared<LeaderCallbackSlot>();
    auto started = raft::Node::start(config_of(*config), raft::capi::make_fsm(cb));
    if (!started.ok()) return fail(errmsg, started.status());
    handle->node = std::move(*started);
    handle->node->on_leader_change(
        [slot = handle->leader_slot](std::optional<raft::ServerId> leader, uint64_t term) {
          std::lock_guard<std::recursive_mutex> lock(slot->mu);
          if (!slot->fn) return;
          CallbackScope scope;
          slot->fn(slot->user, leader.value_or(0), term);
        });
    *node = handle.release();
    return RAFT_OK;
  });
}

int raft_node_shutdown(raft_node* node, char** errmsg) {
  return guarded(errmsg, "raft_node_shutdown", [&] {
    if (!node) return null_argument(errmsg, "raft_node_shutdown", "node");
    if (int rc = refuse_in_callback(errmsg, "raft_node_shutdown"); rc != RAFT_OK) return rc;
    node->shut_down.store(true);
    node->node->shutdown();
    return RAFT_OK;
  });
}

void raft_node_free(raft_node* node) {
  if (!node || raft::capi::current_callback() != CallbackKind::kNone) return;
  try {
    node->shut_down.store(true);
    node->node->shutdown();
  } catch (...) {
    // shutdown() does not fail; nothing could be reported from here.
  }
  delete node;
}

int raft_node_bootstrap(raft_node* node, const raft_configuration* conf, char** errmsg) {
  return with_node(node, errmsg, "raft_node_bootstrap", [&](raft::Node& n) {
    if (!conf) return null_argument(errmsg, "raft_node_bootstrap", "conf");
    if (int rc = refuse_in_callback(errmsg, "raft_node_bootstrap"); rc != RAFT_OK) return rc;
    raft::Status s = n.bootstrap(conf->configuration);
    return s.ok() ? RAFT_OK : fail(errmsg, s);
  });
}

// ---- commands ----

int raft_node_apply(raft_node* node, const void* data, size_t len, uint64_t timeout_ms, raft_future** future,
                    char** errmsg) {
  return with_node(node, errmsg, "raft_node_apply", [&](raft::Node& n) {
    if (!data && len > 0) return null_argument(errmsg, "raft_node_apply", "data");
    if (!future) return null_argument(errmsg, "raft_node_apply", "future");
    *future = raft::capi::wrap_apply(n.apply(raft::Buffer::copy_of(data, len), timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_apply_async(raft_node* node, const void* data, size_t len, uint64_t timeout_ms,
                          raft_apply_done_fn done, void* user, char** errmsg) {
  return with_node(node, errmsg, "raft_node_apply_async", [&](raft::Node& n) {
    if (!data && len > 0) return null_argument(errmsg, "raft_node_apply_async", "data");
    if (!done) return null_argument(errmsg, "raft_node_apply_async", "done");
    raft::Buffer command = raft::Buffer::copy_of(data, len);
    raft::capi::on_apply_done(n.apply(std::move(command), timeout_of(timeout_ms)), &n, done, user);
    return RAFT_OK;
  });
}

int raft_node_barrier(raft_node* node, uint64_t timeout_ms, raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_barrier", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_barrier", "future");
    *future = raft::capi::wrap_void(n.barrier(timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_verify_leader(raft_node* node, raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_verify_leader", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_verify_leader", "future");
    *future = raft::capi::wrap_void(n.verify_leader(), &n);
    return RAFT_OK;
  });
}

int raft_node_read_index(raft_node* node, uint64_t timeout_ms, raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_read_index", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_read_index", "future");
    *future = raft::capi::wrap_index(n.read_index(timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

// ---- queries ----

int raft_node_state(raft_node* node, int* state, char** errmsg) {
  return guarded(errmsg, "raft_node_state", [&] {
    if (!node) return null_argument(errmsg, "raft_node_state", "node");
    if (!state) return null_argument(errmsg, "raft_node_state", "state");
    *state = node->shut_down.load() ? RAFT_STATE_SHUTDOWN : state_of(node->node->state());
    return RAFT_OK;
  });
}

int raft_node_id(raft_node* node, uint64_t* id, char** errmsg) {
  return guarded(errmsg, "raft_node_id", [&] {
    if (!node) return null_argument(errmsg, "raft_node_id", "node");
    if (!id) return null_argument(errmsg, "raft_node_id", "id");
    *id = node->id;
    return RAFT_OK;
  });
}

int raft_node_leader(raft_node* node, uint64_t* id, char** address, char** errmsg) {
  return with_node(node, errmsg, "raft_node_leader", [&](raft::Node& n) {
    std::optional<raft::LeaderInfo> l = n.leader();
    char* a = l ? dup_string(l->address) : nullptr;
    if (id) *id = l ? l->id : 0;
    if (address) {
      *address = a;
    } else {
      std::free(a);
    }
    return RAFT_OK;
  });
}

int raft_node_address(raft_node* node, char** address, char** errmsg) {
  return with_node(node, errmsg, "raft_node_address", [&](raft::Node& n) {
    if (!address) return null_argument(errmsg, "raft_node_address", "address");
    *address = dup_string(n.address());
    return RAFT_OK;
  });
}

#define RAFT_CAPI_U64_QUERY(fn, out_name, expr)                      \
  int fn(raft_node* node, uint64_t* out_name, char** errmsg) {       \
    return with_node(node, errmsg, #fn, [&](raft::Node& n) {         \
      if (!out_name) return null_argument(errmsg, #fn, #out_name);   \
      *out_name = (expr);                                            \
      return RAFT_OK;                                                \
    });                                                              \
  }

RAFT_CAPI_U64_QUERY(raft_node_term, term, n.term())
RAFT_CAPI_U64_QUERY(raft_node_last_index, index, n.last_index())
RAFT_CAPI_U64_QUERY(raft_node_commit_index, index, n.commit_index())
RAFT_CAPI_U64_QUERY(raft_node_applied_index, index, n.applied_index())

#undef RAFT_CAPI_U64_QUERY

int raft_node_last_contact_ms(raft_node* node, uint64_t* ms, char** errmsg) {
  return with_node(node, errmsg, "raft_node_last_contact_ms", [&](raft::Node& n) {
    if (!ms) return null_argument(errmsg, "raft_node_last_contact_ms", "ms");
    auto when = n.last_contact();
    if (when == std::chrono::steady_clock::time_point()) {
      *ms = std::numeric_limits<uint64_t>::max();
    } else {
      auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - when);
      *ms = ago.count() > 0 ? static_cast<uint64_t>(ago.count()) : 0;
    }
    return RAFT_OK;
  });
}

int raft_node_stats(raft_node* node, char** json, char** errmsg) {
  return with_node(node, errmsg, "raft_node_stats", [&](raft::Node& n) {
    if (!json) return null_argument(errmsg, "raft_node_stats", "json");
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : n.stats()) {
      if (!first) out += ",";
      first = false;
      append_json_string(&out, key);
      out += ":";
      append_json_string(&out, value);
    }
    out += "}";
    *json = dup_string(out);
    return RAFT_OK;
  });
}

int raft_node_configuration(raft_node* node, raft_configuration** conf, char** errmsg) {
  return with_node(node, errmsg, "raft_node_configuration", [&](raft::Node& n) {
    if (!conf) return null_argument(errmsg, "raft_node_configuration", "conf");
    *conf = new_configuration(n.configuration());
    return RAFT_OK;
  });
}

int raft_node_committed_configuration(raft_node* node, raft_configuration** conf, char** errmsg) {
  return with_node(node, errmsg, "raft_node_committed_configuration", [&](raft::Node& n) {
    if (!conf) return null_argument(errmsg, "raft_node_committed_configuration", "conf");
    *conf = new_configuration(n.committed_configuration());
    return RAFT_OK;
  });
}

// ---- membership and leadership ----

int raft_node_add_voter(raft_node* node, uint64_t id, const char* address, uint64_t timeout_ms,
                        raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_add_voter", [&](raft::Node& n) {
    if (!address) return null_argument(errmsg, "raft_node_add_voter", "address");
    if (!future) return null_argument(errmsg, "raft_node_add_voter", "future");
    *future = raft::capi::wrap_index(n.add_voter(id, address, timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_add_nonvoter(raft_node* node, uint64_t id, const char* address, uint64_t timeout_ms,
                           raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_add_nonvoter", [&](raft::Node& n) {
    if (!address) return null_argument(errmsg, "raft_node_add_nonvoter", "address");
    if (!future) return null_argument(errmsg, "raft_node_add_nonvoter", "future");
    *future = raft::capi::wrap_index(n.add_nonvoter(id, address, timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_remove_server(raft_node* node, uint64_t id, uint64_t timeout_ms, raft_future** future,
                            char** errmsg) {
  return with_node(node, errmsg, "raft_node_remove_server", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_remove_server", "future");
    *future = raft::capi::wrap_index(n.remove_server(id, timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_demote_voter(raft_node* node, uint64_t id, uint64_t timeout_ms, raft_future** future,
                           char** errmsg) {
  return with_node(node, errmsg, "raft_node_demote_voter", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_demote_voter", "future");
    *future = raft::capi::wrap_index(n.demote_voter(id, timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_change_configuration(raft_node* node, const raft_configuration* target, uint64_t timeout_ms,
                                   raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_change_configuration", [&](raft::Node& n) {
    if (!target) return null_argument(errmsg, "raft_node_change_configuration", "target");
    if (!future) return null_argument(errmsg, "raft_node_change_configuration", "future");
    *future = raft::capi::wrap_index(n.change_configuration(target->configuration, timeout_of(timeout_ms)), &n);
    return RAFT_OK;
  });
}

int raft_node_transfer_leadership(raft_node* node, uint64_t target, raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_transfer_leadership", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_transfer_leadership", "future");
    std::optional<raft::ServerId> to;
    if (target != 0) to = target;
    *future = raft::capi::wrap_void(n.transfer_leadership(to), &n);
    return RAFT_OK;
  });
}

int raft_node_set_leader_callback(raft_node* node, raft_leader_fn fn, void* user, char** errmsg) {
  return with_node(node, errmsg, "raft_node_set_leader_callback", [&](raft::Node&) {
    std::lock_guard<std::recursive_mutex> lock(node->leader_slot->mu);
    node->leader_slot->fn = fn;
    node->leader_slot->user = fn ? user : nullptr;
    return RAFT_OK;
  });
}

// ---- snapshots ----

int raft_node_snapshot(raft_node* node, raft_future** future, char** errmsg) {
  return with_node(node, errmsg, "raft_node_snapshot", [&](raft::Node& n) {
    if (!future) return null_argument(errmsg, "raft_node_snapshot", "future");
    *future = raft::capi::wrap_index(n.snapshot(), &n);
    return RAFT_OK;
  });
}

int raft_node_restore(raft_node* node, uint64_t timeout_ms, raft_read_fn read, void* user, char** errmsg) {
  return with_node(node, errmsg, "raft_node_restore", [&](raft::Node& n) {
    if (!read) return null_argument(errmsg, "raft_node_restore", "read");
    if (int rc = refuse_in_callback(errmsg, "raft_node_restore"); rc != RAFT_OK) return rc;
    CallbackReader reader(read, user);
    raft::Status s = n.restore(reader, timeout_of(timeout_ms));
    return s.ok() ? RAFT_OK : fail(errmsg, raft::capi::complete_message(s, &n));
  });
}

// ---- transport security ----

int raft_node_reload_tls(raft_node* node, char** errmsg) {
  return with_node(node, errmsg, "raft_node_reload_tls", [&](raft::Node& n) {
    if (int rc = refuse_in_callback(errmsg, "raft_node_reload_tls"); rc != RAFT_OK) return rc;
    raft::Status s = n.reload_tls();
    return s.ok() ? RAFT_OK : fail(errmsg, s);
  });
}

// ---- offline recovery ----

int raft_recover_cluster(const raft_config* config, const raft_configuration* conf, char** errmsg) {
  return guarded(errmsg, "raft_recover_cluster", [&] {
    if (!config) return null_argument(errmsg, "raft_recover_cluster", "config");
    if (!conf) return null_argument(errmsg, "raft_recover_cluster", "conf");
    if (int rc = refuse_in_callback(errmsg, "raft_recover_cluster"); rc != RAFT_OK) return rc;
    raft::Status s = raft::Node::recover_cluster(config_of(*config), conf->configuration);
    return s.ok() ? RAFT_OK : fail(errmsg, s);
  });
}

}  // extern "C"
