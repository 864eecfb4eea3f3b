#include "runtime/transport_factory.hpp"

#include "runtime/in_memory_network.hpp"
#include "transport/memory_transport.hpp"
#include "transport/tcp_transport.hpp"

namespace raft::runtime {

Result<std::unique_ptr<transport::Transport>> make_transport(const Config& config, asio::io_context& io,
                                                             const Logger& logger) {
  if (config.transport == "memory") {
    if (!config.memory_network) return Status(ErrorCode::kInvalidArgument, "transport \"memory\" needs memory_network");
    transport::MemoryTransportOptions o;
    o.address = config.advertise_address;
    o.logger = logger;
    return std::unique_ptr<transport::Transport>(std::make_unique<transport::MemoryTransport>(
        *config.memory_network->impl()->network, NodeId(config.id), io, std::move(o)));
  }
  transport::TcpTransportOptions o;
  o.node_id = NodeId(config.id);
  o.cluster_id = config.cluster_id;
  o.listen_address = config.bind_address;
  o.advertise_address = config.advertise_address;
  o.logger = logger;
  o.tls.ca_file = config.tls_ca_file;
  o.tls.cert_file = config.tls_cert_file;
  o.tls.key_file = config.tls_key_file;
  o.tls.verify_peer_id = config.tls_verify_peer_id;
  // A frame must hold the largest AppendEntries the core may build: the
  // byte bound, plus one entry that exceeds it alone, plus headers.
  o.frame_bytes_max = std::max<size_t>(o.frame_bytes_max, 2 * config.max_append_bytes + (1 << 20));
  return std::unique_ptr<transport::Transport>(std::make_unique<transport::TcpTransport>(io, std::move(o)));
}

}  // namespace raft::runtime
