// Address parsing, normalization and server ids (address.hpp).
#include "compat/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace raft::compat {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void set_v4(Endpoint* e, const in_addr& a, uint16_t port) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof text);
  e->host = text;
  e->port = port;
  e->ipv6 = false;
  std::memset(e->ip, 0, sizeof e->ip);
  std::memcpy(e->ip, &a, 4);
  e->loopback = e->ip[0] == 127;
}

void set_v6(Endpoint* e, const in6_addr& a, uint16_t port) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, text, sizeof text);
  e->host = text;
  e->port = port;
  e->ipv6 = true;
  std::memcpy(e->ip, &a, 16);
  e->loopback = IN6_IS_ADDR_LOOPBACK(&a);
}

}  // namespace

std::string Endpoint::str() const {
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool parse_port(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

bool parse_host_port(std::string_view item, PeerAddress* out, std::string* error) {
  std::string_view host, port;
  if (!item.empty() && item.front() == '[') {
    auto close = item.find(']');
    if (close == std::string_view::npos || close + 1 >= item.size() || item[close + 1] != ':') {
      *error = "\"" + std::string(item) + "\" is not [address]:port";
      return false;
    }
    host = item.substr(1, close - 1);
    port = item.substr(close + 2);
  } else {
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "\"" + std::string(item) + "\" is not host:port";
      return false;
    }
    host = item.substr(0, colon);
    port = item.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *error = "\"" + std::string(item) + "\": write IPv6 addresses as [address]:port";
      return false;
    }
  }
  if (host.empty()) {
    *error = "\"" + std::string(item) + "\" has no host";
    return false;
  }
  uint16_t p = 0;
  if (!parse_port(port, &p)) {
    *error = "\"" + std::string(item) + "\": \"" + std::string(port) + "\" is not a port number (1 to 65535)";
    return false;
  }
  out->host = std::string(host);
  out->port = p;
  return true;
}

bool parse_peer_list(std::string_view list, PeerList* out, std::string* error) {
  out->clear();
  while (true) {
    auto comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) {
      PeerAddress a;
      if (!parse_host_port(item, &a, error)) return false;
      out->push_back(a);
    }
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

NormalizeResult normalize(const std::string& host_in, uint16_t port, Endpoint* out, std::string* error) {
  std::string host = lower(std::string(trim(host_in)));
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || port == 0) {
    *error = "\"" + host_in + ":" + std::to_string(port) + "\" is not host:port";
    return NormalizeResult::kInvalid;
  }
  // "localhost" may resolve to ::1 first; the 2015 demo means 127.0.0.1.
  if (host == "localhost") host = "127.0.0.1";
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    set_v4(out, a4, port);
    return NormalizeResult::kOk;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    set_v6(out, a6, port);
    return NormalizeResult::kOk;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    *error = "cannot resolve \"" + host_in + "\": " + gai_strerror(rc);
    return NormalizeResult::kUnresolved;
  }
  const addrinfo* v4 = nullptr;
  const addrinfo* v6 = nullptr;
  for (const addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_family == AF_INET && v4 == nullptr) v4 = p;
    if (p->ai_family == AF_INET6 && v6 == nullptr) v6 = p;
  }
  NormalizeResult result = NormalizeResult::kOk;
  if (v4 != nullptr) {
    set_v4(out, reinterpret_cast<const sockaddr_in*>(v4->ai_addr)->sin_addr, port);
  } else if (v6 != nullptr) {
    set_v6(out, reinterpret_cast<const sockaddr_in6*>(v6->ai_addr)->sin6_addr, port);
  } else {
    *error = "\"" + host_in + "\" has no IPv4 or IPv6 address";
    result = NormalizeResult::kUnresolved;
  }
  freeaddrinfo(res);
  return result;
}

uint64_t server_id(const Endpoint& e) {
  if (!e.ipv6) {
    uint64_t a = (uint64_t{e.ip[0]} << 24) | (uint64_t{e.ip[1]} << 16) | (uint64_t{e.ip[2]} << 8) | e.ip[3];
    return (a << 16) | e.port;  // never 0: the port is not 0
  }
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ULL;
  };
  for (uint8_t b : e.ip) mix(b);
  mix(static_cast<uint8_t>(e.port >> 8));
  mix(static_cast<uint8_t>(e.port & 0xff));
  return h | (uint64_t{1} << 63);
}

bool local_address_towards(const Endpoint& peer, Endpoint* out, std::string* error) {
  int family = peer.ipv6 ? AF_INET6 : AF_INET;
  int fd = ::socket(family, SOCK_DGRAM, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (peer.ipv6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(peer.port);
    std::memcpy(&s6->sin6_addr, peer.ip, 16);
    len = sizeof *s6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(peer.port);
    std::memcpy(&s4->sin_addr, peer.ip, 4);
    len = sizeof *s4;
  }
  // A UDP connect only picks a route and a source address.
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  ok = ok && ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0;
  if (!ok) *error = "no route to " + peer.str() + ": " + std::strerror(errno);
  ::close(fd);
  if (!ok) return false;
  if (peer.ipv6) set_v6(out, reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, 0);
  else set_v4(out, reinterpret_cast<sockaddr_in*>(&local)->sin_addr, 0);
  return true;
}

}  // namespace raft::compat
