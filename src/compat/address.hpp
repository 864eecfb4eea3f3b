// Addresses and server ids of the 2015 API.
//
// The 2015 API names nodes only by "host:port" (--peers, raft_add_peer),
// while the engine wants a numeric server id per node that every node
// agrees on. So an address is first normalized ("localhost" and 127.0.0.1
// are the same node; names are resolved; IPv4 first) and the id is derived
// from the normalized address alone: the same on every node, without any
// exchange. docs/migrating-from-2015.md gives the rule to users.
//
// Thread safety: pure functions (normalize() may query the resolver).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace raft::compat {

// "host:port" as written by the user (host without brackets).
struct PeerAddress {
  std::string host;
  uint16_t port = 0;
};
using PeerList = std::vector<PeerAddress>;

// A decimal port in 1..65535.
bool parse_port(std::string_view s, uint16_t* out);

// "host:port" or "[v6]:port". On failure *error says why.
bool parse_host_port(std::string_view item, PeerAddress* out, std::string* error);

// Comma-separated "host:port" items; blanks around items and empty items
// are ignored. Syntax only: no name is resolved here.
bool parse_peer_list(std::string_view list, PeerList* out, std::string* error);

// A node's normalized address.
struct Endpoint {
  std::string host;       // "127.0.0.1" or "fe80::1" (canonical text, no brackets)
  uint16_t port = 0;
  bool ipv6 = false;
  bool loopback = false;  // 127.0.0.0/8 or ::1
  uint8_t ip[16] = {};    // the 4 (IPv4) or 16 (IPv6) address bytes, network order

  // "127.0.0.1:9001" or "[fe80::1]:9001": how the node appears in the
  // cluster configuration.
  std::string str() const;
};

enum class NormalizeResult { kOk, kInvalid, kUnresolved };

// "localhost" -> 127.0.0.1; address literals in canonical form; other
// names resolved (an IPv4 address preferred). *error says why on failure.
NormalizeResult normalize(const std::string& host, uint16_t port, Endpoint* out, std::string* error);

// The server id of a normalized address: for IPv4, the address and the
// port side by side ((a.b.c.d << 16) | port, so 127.0.0.1:9001 is
// 0x7f0000012329); for IPv6, a 63-bit FNV-1a hash of address and port with
// the top bit set, so it never equals an IPv4 id. Never 0.
uint64_t server_id(const Endpoint& e);

// The local address this host uses to reach `peer` (no packet is sent): a
// node advertises it when its peers are on other hosts.
bool local_address_towards(const Endpoint& peer, Endpoint* out, std::string* error);

}  // namespace raft::compat
