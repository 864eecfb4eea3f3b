// Membership changes and leadership transfer in the runtime
// (docs/membership.md): requests go to the core with an id; the core
// answers in Ready::done; the runtime resolves the futures.
#include "runtime/config_convert.hpp"
#include "runtime/node_impl.hpp"

namespace raft {

Future<uint64_t> Node::Impl::submit_change(std::function<Status(uint64_t id)> start, std::chrono::milliseconds timeout) {
  detail::Promise<uint64_t> p;
  Future<uint64_t> f = p.future();
  core::Nanos deadline = deadline_after(timeout);
  if (!post([this, p, start = std::move(start), deadline]() mutable {
        if (stopped_) {
          p.set_error(Status(ErrorCode::kShutdown, "node is shut down"));
          return;
        }
        uint64_t id = next_request_id_++;
        advance_time();
        Status s = start(id);
        if (!s.ok()) {
          p.set_error(s);
          return;
        }
        requests_.emplace(id, PendingRequest{p, std::nullopt, deadline});
        expire_deadlines();
        flush();
      })) {
    return failed_future<uint64_t>(Status(ErrorCode::kShutdown, "node is shut down"));
  }
  return f;
}

Future<uint64_t> Node::Impl::change_membership(core::ConfChange change, std::chrono::milliseconds timeout) {
  return submit_change([this, change](uint64_t id) { return raft_->change_membership(id, change); }, timeout);
}

Future<uint64_t> Node::Impl::change_configuration(const ClusterConfiguration& target, std::chrono::milliseconds timeout) {
  Configuration c = runtime::internal_configuration(target);
  return submit_change([this, c](uint64_t id) { return raft_->change_configuration(id, c); }, timeout);
}

Future<void> Node::Impl::transfer_leadership(std::optional<ServerId> target) {
  detail::Promise<void> p;
  Future<void> f = p.future();
  if (!post([this, p, target]() mutable {
        if (stopped_) {
          p.set_error(Status(ErrorCode::kShutdown, "node is shut down"));
          return;
        }
        uint64_t id = next_request_id_++;
        advance_time();
        Status s = raft_->transfer_leadership(id, target ? NodeId(*target) : kNoNode);
        if (!s.ok()) {
          p.set_error(s);
          return;
        }
        logger_.info("transferring leadership", target ? " to " + std::to_string(*target) : std::string());
        // The core ends a transfer itself (a new leader, or its own timeout).
        requests_.emplace(id, PendingRequest{std::nullopt, p, core::Nanos(0)});
        flush();
      })) {
    return failed_future<void>(Status(ErrorCode::kShutdown, "node is shut down"));
  }
  return f;
}

void Node::Impl::handle_done(std::vector<core::RequestResult>& done) {
  for (core::RequestResult& r : done) {
    auto it = requests_.find(r.id);
    if (it == requests_.end()) continue;
    PendingRequest p = std::move(it->second);
    requests_.erase(it);
    if (r.status.ok()) {
      if (p.index) p.index->set_value(r.index.value);
      if (p.done) p.done->set_ok();
    } else {
      if (p.index) p.index->set_error(r.status);
      if (p.done) p.done->set_error(r.status);
    }
  }
}

bool Node::Impl::check_removed() {
  // A node that the committed configuration no longer names stops, when
  // asked to (ShutdownOnRemove); the application still calls shutdown().
  if (removed_ || !config_.shutdown_on_remove || !raft_->removed_from_cluster()) return false;
  removed_ = true;
  logger_.info("removed from the cluster; shutting down (shutdown_on_remove)");
  return true;
}

}  // namespace raft
