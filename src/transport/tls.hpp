// TLS for the TCP transport (docs/security.md): loading a context from the
// PEM files of TlsOptions, and checking that a peer's certificate names the
// server id it claims. OpenSSL through Asio's SSL support.
//
// Internal to src/transport.
#pragma once

#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <memory>
#include <string>

#include "transport/tcp_transport.hpp"
#include "util/status.hpp"

namespace raft::transport::detail {

// A context for both ends of a connection: TLS 1.2 or newer, this node's
// certificate and key, peers verified against the CA file and required to
// present a certificate. Errors: InvalidArgument naming the file and what
// OpenSSL said (missing, not PEM, a key that does not match the
// certificate, no CA certificate in the CA file).
Result<std::shared_ptr<asio::ssl::context>> load_tls_context(const TlsOptions& tls);

// The name a certificate must carry for server `id` when peer ids are
// pinned: "node<id>".
std::string tls_peer_name(NodeId id);

// Whether the verified peer certificate of `ssl` names `name` as a DNS
// subject alternative name or as its subject common name. False when
// there is no peer certificate.
bool tls_peer_certificate_names(SSL* ssl, const std::string& name);

// The first OpenSSL error on this thread's queue, in words, and clears the
// queue; `fallback` when it is empty.
std::string tls_error_string(const std::string& fallback);

}  // namespace raft::transport::detail
