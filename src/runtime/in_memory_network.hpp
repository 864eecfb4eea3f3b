// The public InMemoryNetwork (include/raft/raft.hpp) wraps the transport
// layer's MemoryNetwork.
#pragma once

#include <memory>

#include "raft/raft.hpp"
#include "transport/memory_transport.hpp"

namespace raft {

struct InMemoryNetwork::Impl {
  std::unique_ptr<transport::MemoryNetwork> network;
};

}  // namespace raft
