// raft::Node: the public face of a running node (include/raft/raft.hpp);
// everything happens in Node::Impl (node_impl.hpp).
#include "runtime/node_impl.hpp"

namespace raft {

Result<std::unique_ptr<Node>> Node::start(const Config& config, std::shared_ptr<Fsm> fsm) {
  return NodeFactory::start(config, std::move(fsm), NodeHooks{});
}

Result<std::unique_ptr<Node>> NodeFactory::start(const Config& config, std::shared_ptr<Fsm> fsm, NodeHooks hooks) {
  Status v = config.validate();
  if (!v.ok()) return v;
  if (!fsm) return Status(ErrorCode::kInvalidArgument, "start needs an Fsm");
  auto impl = std::make_unique<Node::Impl>(config, std::move(fsm), std::move(hooks));
  Status s = impl->start();
  if (!s.ok()) {
    impl->shutdown();
    return s;
  }
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() { shutdown(); }

Status Node::bootstrap(const ClusterConfiguration& c) { return impl_->bootstrap(c); }
Future<std::any> Node::apply(Buffer command, std::chrono::milliseconds timeout) {
  return impl_->apply(std::move(command), timeout);
}
Future<void> Node::barrier(std::chrono::milliseconds timeout) { return impl_->barrier(timeout); }
Future<void> Node::verify_leader() { return impl_->verify_leader(); }
Future<uint64_t> Node::read_index(std::chrono::milliseconds timeout) { return impl_->read_index(timeout); }
Role Node::state() const { return impl_->state(); }
std::optional<LeaderInfo> Node::leader() const { return impl_->leader(); }
uint64_t Node::term() const { return impl_->term(); }
uint64_t Node::last_index() const { return impl_->last_index(); }
uint64_t Node::commit_index() const { return impl_->commit_index(); }
uint64_t Node::applied_index() const { return impl_->applied_index(); }
std::chrono::steady_clock::time_point Node::last_contact() const { return impl_->last_contact(); }
std::map<std::string, std::string> Node::stats() const { return impl_->stats(); }
Metrics Node::metrics() const { return impl_->metrics(); }
ClusterConfiguration Node::configuration() const { return impl_->configuration(false); }
ClusterConfiguration Node::committed_configuration() const { return impl_->configuration(true); }
std::string Node::address() const { return impl_->address(); }
ServerId Node::id() const { return impl_->config_.id; }
void Node::on_leader_change(LeaderObserver observer) { impl_->on_leader_change(std::move(observer)); }

Future<uint64_t> Node::add_voter(ServerId id, const std::string& address, std::chrono::milliseconds timeout) {
  return impl_->change_membership({core::ConfChangeType::kAddVoter, NodeId(id), address}, timeout);
}
Future<uint64_t> Node::add_nonvoter(ServerId id, const std::string& address, std::chrono::milliseconds timeout) {
  return impl_->change_membership({core::ConfChangeType::kAddNonVoter, NodeId(id), address}, timeout);
}
Future<uint64_t> Node::remove_server(ServerId id, std::chrono::milliseconds timeout) {
  return impl_->change_membership({core::ConfChangeType::kRemoveServer, NodeId(id), ""}, timeout);
}
Future<uint64_t> Node::demote_voter(ServerId id, std::chrono::milliseconds timeout) {
  return impl_->change_membership({core::ConfChangeType::kDemoteVoter, NodeId(id), ""}, timeout);
}
Future<uint64_t> Node::change_configuration(const ClusterConfiguration& target, std::chrono::milliseconds timeout) {
  return impl_->change_configuration(target, timeout);
}
Future<void> Node::transfer_leadership(std::optional<ServerId> target) { return impl_->transfer_leadership(target); }
Future<uint64_t> Node::snapshot() { return impl_->snapshot(); }
Status Node::restore(SnapshotReader& reader, std::chrono::milliseconds timeout) {
  return impl_->restore(reader, timeout);
}
Status Node::reload_tls() { return impl_->reload_tls(); }
void Node::shutdown() {
  if (impl_) impl_->shutdown();
}

}  // namespace raft
