#include "runtime/in_memory_network.hpp"

namespace raft {

namespace {
std::vector<NodeId> ids(const std::vector<ServerId>& v) {
  std::vector<NodeId> out;
  for (ServerId id : v) out.push_back(NodeId(id));
  return out;
}
}  // namespace

std::shared_ptr<InMemoryNetwork> InMemoryNetwork::create(uint64_t seed) {
  return std::shared_ptr<InMemoryNetwork>(new InMemoryNetwork(seed));
}

InMemoryNetwork::InMemoryNetwork(uint64_t seed) : impl_(std::make_unique<Impl>()) {
  impl_->network = std::make_unique<transport::MemoryNetwork>(seed);
}
InMemoryNetwork::~InMemoryNetwork() = default;

void InMemoryNetwork::partition(const std::vector<ServerId>& a, const std::vector<ServerId>& b) {
  impl_->network->partition(ids(a), ids(b));
}
void InMemoryNetwork::isolate(ServerId id) { impl_->network->isolate(NodeId(id)); }
void InMemoryNetwork::heal() { impl_->network->heal(); }
void InMemoryNetwork::set_drop_rate(double p) { impl_->network->set_drop_probability(p); }

}  // namespace raft
