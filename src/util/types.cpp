#include "util/types.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "util/coding.hpp"

namespace raft {

const char* entry_type_name(EntryType t) {
  switch (t) {
    case EntryType::kCommand: return "command";
    case EntryType::kNoop: return "noop";
    case EntryType::kConfiguration: return "configuration";
    case EntryType::kBarrier: return "barrier";
  }
  return "unknown";
}

bool entry_type_valid(uint8_t raw) { return raw >= 1 && raw <= 4; }

const Server* Configuration::find(NodeId id) const {
  for (const auto& s : servers)
    if (s.id == id) return &s;
  return nullptr;
}

bool Configuration::is_voter(NodeId id) const {
  const Server* s = find(id);
  if (s && s->role == ServerRole::kVoter) return true;
  return std::find(old_voters.begin(), old_voters.end(), id) != old_voters.end();
}

std::vector<NodeId> Configuration::voters() const {
  std::vector<NodeId> v;
  for (const auto& s : servers)
    if (s.role == ServerRole::kVoter) v.push_back(s.id);
  std::sort(v.begin(), v.end());
  return v;
}

bool Configuration::valid(std::string* why) const {
  std::unordered_set<NodeId> seen;
  bool any_voter = false;
  for (const auto& s : servers) {
    if (s.id == kNoNode) {
      if (why) *why = "server id 0 is reserved";
      return false;
    }
    if (!seen.insert(s.id).second) {
      if (why) *why = "server id " + std::to_string(s.id.value) + " appears twice";
      return false;
    }
    if (s.role != ServerRole::kVoter && s.role != ServerRole::kNonVoter) {
      if (why) *why = "server " + std::to_string(s.id.value) + " has an unknown role";
      return false;
    }
    any_voter |= s.role == ServerRole::kVoter;
  }
  if (!any_voter) {
    if (why) *why = "a configuration needs at least one voter";
    return false;
  }
  std::unordered_set<NodeId> old_seen;
  for (NodeId id : old_voters) {
    if (id == kNoNode || !old_seen.insert(id).second) {
      if (why) *why = "bad or duplicate id in the old voter set";
      return false;
    }
  }
  return true;
}

std::string Configuration::to_string() const {
  std::ostringstream os;
  os << "{";
  for (size_t i = 0; i < servers.size(); ++i) {
    if (i) os << " ";
    os << servers[i].id << "@" << servers[i].address;
    if (servers[i].role == ServerRole::kNonVoter) os << "(nonvoter)";
  }
  if (joint()) {
    os << " | old:";
    for (NodeId id : old_voters) os << " " << id;
  }
  os << "}";
  return os.str();
}

namespace {
constexpr uint8_t kConfigurationVersion = 1;
constexpr size_t kAddressBytesMax = 1024;
constexpr uint64_t kServersMax = 1u << 16;
}  // namespace

Buffer encode_configuration(const Configuration& c) {
  std::string out;
  put_u8(&out, kConfigurationVersion);
  put_varint(&out, c.servers.size());
  for (const auto& s : c.servers) {
    put_varint(&out, s.id.value);
    put_u8(&out, static_cast<uint8_t>(s.role));
    put_bytes(&out, s.address);
  }
  put_varint(&out, c.old_voters.size());
  for (NodeId id : c.old_voters) put_varint(&out, id.value);
  return Buffer::from_string(std::move(out));
}

bool decode_configuration(std::span<const uint8_t> bytes, Configuration* out) {
  Reader r(bytes);
  if (r.u8() != kConfigurationVersion) return false;
  uint64_t n = r.varint();
  if (!r.ok() || n > kServersMax) return false;
  out->servers.clear();
  out->old_voters.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    Server s;
    s.id = NodeId(r.varint());
    s.role = static_cast<ServerRole>(r.u8());
    s.address = std::string(r.length_prefixed(kAddressBytesMax));
    out->servers.push_back(std::move(s));
  }
  uint64_t m = r.varint();
  if (!r.ok() || m > kServersMax) return false;
  for (uint64_t i = 0; i < m && r.ok(); ++i) out->old_voters.push_back(NodeId(r.varint()));
  return r.ok() && r.remaining() == 0 && out->valid(nullptr);
}

}  // namespace raft
