// Builds the transport a Config names ("tcp" or "memory") on the node's
// event loop.
#pragma once

#include <asio.hpp>

#include <memory>

#include "raft/raft.hpp"
#include "transport/transport.hpp"
#include "util/log.hpp"

namespace raft::runtime {

Result<std::unique_ptr<transport::Transport>> make_transport(const Config& config, asio::io_context& io,
                                                             const Logger& logger);

}  // namespace raft::runtime
