// raft_config (raft::Config), raft_configuration (ClusterConfiguration)
// and raft_network (InMemoryNetwork): the C API's value handles.
#include <charconv>
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "capi/capi.hpp"

using raft::capi::dup_string;
using raft::capi::fail;
using raft::capi::guarded;
using raft::capi::null_argument;

namespace {

// ---- options by name (docs/configuration.md) ----

struct StringOption {
  const char* name;
  std::string raft::Config::*field;
};
struct DurationOption {
  const char* name;
  std::chrono::milliseconds raft::Config::*field;
};
struct SizeOption {
  const char* name;
  size_t raft::Config::*field;
};
struct U64Option {
  const char* name;
  uint64_t raft::Config::*field;
};
struct BoolOption {
  const char* name;
  bool raft::Config::*field;
};

constexpr StringOption kStringOptions[] = {
    {"cluster_id", &raft::Config::cluster_id},
    {"transport", &raft::Config::transport},
    {"bind_address", &raft::Config::bind_address},
    {"advertise_address", &raft::Config::advertise_address},
    {"store", &raft::Config::store},
    {"data_dir", &raft::Config::data_dir},
    {"tls_ca_file", &raft::Config::tls_ca_file},
    {"tls_cert_file", &raft::Config::tls_cert_file},
    {"tls_key_file", &raft::Config::tls_key_file},
};
constexpr DurationOption kDurationOptions[] = {
    {"heartbeat_interval", &raft::Config::heartbeat_interval},
    {"election_timeout", &raft::Config::election_timeout},
    {"commit_timeout", &raft::Config::commit_timeout},
    {"leader_lease_timeout", &raft::Config::leader_lease_timeout},
    {"snapshot_interval", &raft::Config::snapshot_interval},
};
constexpr SizeOption kSizeOptions[] = {
    {"max_append_entries", &raft::Config::max_append_entries},
    {"max_append_bytes", &raft::Config::max_append_bytes},
    {"max_inflight_appends", &raft::Config::max_inflight_appends},
    {"max_inflight_bytes", &raft::Config::max_inflight_bytes},
    {"max_pending_bytes", &raft::Config::max_pending_bytes},
    {"max_pending_commands", &raft::Config::max_pending_commands},
};
constexpr U64Option kU64Options[] = {
    {"id", &raft::Config::id},
    {"trailing_logs", &raft::Config::trailing_logs},
    {"snapshot_threshold", &raft::Config::snapshot_threshold},
    {"snapshot_log_bytes", &raft::Config::snapshot_log_bytes},
    {"wal_spare_segments", &raft::Config::wal_spare_segments},
};
constexpr BoolOption kBoolOptions[] = {
    {"no_snapshot_restore_on_start", &raft::Config::no_snapshot_restore_on_start},
    {"pre_vote", &raft::Config::pre_vote},
    {"check_quorum", &raft::Config::check_quorum},
    {"shutdown_on_remove", &raft::Config::shutdown_on_remove},
    {"tls_verify_peer_id", &raft::Config::tls_verify_peer_id},
    {"wal_prepare_spares", &raft::Config::wal_prepare_spares},
};

constexpr const char* kLevelNames[] = {"debug", "info", "warn", "error", "off"};

// Typed setters share these; each returns a RAFT_* code.
int set_string(raft_config* c, std::string raft::Config::*field, const char* value, const char* function,
               char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  if (!value) return null_argument(errmsg, function, "value");
  c->config.*field = value;
  return RAFT_OK;
}

int set_duration(raft_config* c, std::chrono::milliseconds raft::Config::*field, uint64_t ms, const char* function,
                 char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  if (ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return fail(errmsg, RAFT_EINVAL, std::string(function) + ": " + std::to_string(ms) + " ms is too large");
  c->config.*field = std::chrono::milliseconds(static_cast<int64_t>(ms));
  return RAFT_OK;
}

int set_size(raft_config* c, size_t raft::Config::*field, uint64_t n, const char* function, char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  if (n > std::numeric_limits<size_t>::max())
    return fail(errmsg, RAFT_EINVAL, std::string(function) + ": " + std::to_string(n) + " does not fit in size_t");
  c->config.*field = static_cast<size_t>(n);
  return RAFT_OK;
}

int set_u64(raft_config* c, uint64_t raft::Config::*field, uint64_t n, const char* function, char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  c->config.*field = n;
  return RAFT_OK;
}

int set_bool(raft_config* c, bool raft::Config::*field, int on, const char* function, char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  c->config.*field = on != 0;
  return RAFT_OK;
}

int set_retain_snapshots(raft_config* c, uint64_t n, const char* function, char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  if (n > std::numeric_limits<uint32_t>::max())
    return fail(errmsg, RAFT_EINVAL, std::string(function) + ": " + std::to_string(n) + " snapshots is too many");
  c->config.retain_snapshots = static_cast<uint32_t>(n);
  return RAFT_OK;
}

int set_log_level(raft_config* c, int level, const char* function, char** errmsg) {
  if (!c) return null_argument(errmsg, function, "config");
  if (level < RAFT_LOG_DEBUG || level > RAFT_LOG_OFF)
    return fail(errmsg, RAFT_EINVAL,
                std::string(function) + ": log level " + std::to_string(level) + " is not one of RAFT_LOG_*");
  c->config.log_level = static_cast<raft::LogLevel>(level);
  return RAFT_OK;
}

// Decimal digits only, no sign, no spaces, no junk after.
bool parse_u64(const char* text, uint64_t* out) {
  std::string_view s(text);
  if (s.empty()) return false;
  for (char ch : s)
    if (ch < '0' || ch > '9') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

int bad_value(char** errmsg, const char* name, const char* value, const char* expected) {
  return fail(errmsg, RAFT_EINVAL,
              std::string("raft_config_set: option ") + name + ": \"" + value + "\" is not " + expected);
}

int set_by_name(raft_config* c, const char* name, const char* value, char** errmsg) {
  const std::string_view n(name);
  for (const auto& o : kStringOptions)
    if (n == o.name) return set_string(c, o.field, value, "raft_config_set", errmsg);
  uint64_t number = 0;
  for (const auto& o : kDurationOptions) {
    if (n != o.name) continue;
    if (!parse_u64(value, &number)) return bad_value(errmsg, name, value, "a number of milliseconds");
    return set_duration(c, o.field, number, "raft_config_set", errmsg);
  }
  for (const auto& o : kSizeOptions) {
    if (n != o.name) continue;
    if (!parse_u64(value, &number)) return bad_value(errmsg, name, value, "a decimal number");
    return set_size(c, o.field, number, "raft_config_set", errmsg);
  }
  for (const auto& o : kU64Options) {
    if (n != o.name) continue;
    if (!parse_u64(value, &number)) return bad_value(errmsg, name, value, "a decimal number");
    return set_u64(c, o.field, number, "raft_config_set", errmsg);
  }
  for (const auto& o : kBoolOptions) {
    if (n != o.name) continue;
    const std::string_view v(value);
    if (v == "true" || v == "1") return set_bool(c, o.field, 1, "raft_config_set", errmsg);
    if (v == "false" || v == "0") return set_bool(c, o.field, 0, "raft_config_set", errmsg);
    return bad_value(errmsg, name, value, "true, false, 1 or 0");
  }
  if (n == "retain_snapshots") {
    if (!parse_u64(value, &number)) return bad_value(errmsg, name, value, "a decimal number");
    return set_retain_snapshots(c, number, "raft_config_set", errmsg);
  }
  if (n == "log_level") {
    for (int level = RAFT_LOG_DEBUG; level <= RAFT_LOG_OFF; ++level)
      if (std::string_view(value) == kLevelNames[level]) return set_log_level(c, level, "raft_config_set", errmsg);
    return bad_value(errmsg, name, value, "debug, info, warn, error or off");
  }
  return fail(errmsg, RAFT_ENOTFOUND, std::string("raft_config_set: no option named \"") + name + "\"");
}

// The text form of an option, or false when there is no such name.
bool get_by_name(const raft::Config& c, std::string_view n, std::string* out) {
  for (const auto& o : kStringOptions)
    if (n == o.name) return *out = c.*o.field, true;
  for (const auto& o : kDurationOptions)
    if (n == o.name) return *out = std::to_string((c.*o.field).count()), true;
  for (const auto& o : kSizeOptions)
    if (n == o.name) return *out = std::to_string(c.*o.field), true;
  for (const auto& o : kU64Options)
    if (n == o.name) return *out = std::to_string(c.*o.field), true;
  for (const auto& o : kBoolOptions)
    if (n == o.name) return *out = (c.*o.field) ? "true" : "false", true;
  if (n == "retain_snapshots") return *out = std::to_string(c.retain_snapshots), true;
  if (n == "log_level") {
    int level = static_cast<int>(c.log_level);
    *out = level >= RAFT_LOG_DEBUG && level <= RAFT_LOG_OFF ? kLevelNames[level] : "unknown";
    return true;
  }
  return false;
}

}  // namespace

extern "C" {

// ---- raft_config ----

raft_config* raft_config_create(void) {
  try {
    return new raft_config();
  } catch (...) {
    return nullptr;
  }
}

void raft_config_free(raft_config* config) { delete config; }

int raft_config_validate(const raft_config* config, char** errmsg) {
  return guarded(errmsg, "raft_config_validate", [&] {
    if (!config) return null_argument(errmsg, "raft_config_validate", "config");
    raft::Status s = config->config.validate();
    return s.ok() ? RAFT_OK : fail(errmsg, s);
  });
}

#define RAFT_CAPI_SETTER(fn, type, call)                              \
  int fn(raft_config* config, type value, char** errmsg) {            \
    const char* function = #fn;                                       \
    return guarded(errmsg, function, [&] { return call; });           \
  }

RAFT_CAPI_SETTER(raft_config_set_id, uint64_t, set_u64(config, &raft::Config::id, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_cluster_id, const char*,
                 set_string(config, &raft::Config::cluster_id, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_transport, const char*,
                 set_string(config, &raft::Config::transport, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_bind_address, const char*,
                 set_string(config, &raft::Config::bind_address, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_advertise_address, const char*,
                 set_string(config, &raft::Config::advertise_address, value, function,
                            errmsg))
RAFT_CAPI_SETTER(raft_config_set_store, const char*,
                 set_string(config, &raft::Config::store, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_data_dir, const char*,
                 set_string(config, &raft::Config::data_dir, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_heartbeat_interval_ms, uint64_t,
                 set_duration(config, &raft::Config::heartbeat_interval, value,
                              function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_election_timeout_ms, uint64_t,
                 set_duration(config, &raft::Config::election_timeout, value, function,
                              errmsg))
RAFT_CAPI_SETTER(raft_config_set_commit_timeout_ms, uint64_t,
                 set_duration(config, &raft::Config::commit_timeout, value, function,
                              errmsg))
RAFT_CAPI_SETTER(raft_config_set_leader_lease_timeout_ms, uint64_t,
                 set_duration(config, &raft::Config::leader_lease_timeout, value,
                              function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_append_entries, uint64_t,
                 set_size(config, &raft::Config::max_append_entries, value, function,
                          errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_append_bytes, uint64_t,
                 set_size(config, &raft::Config::max_append_bytes, value, function,
                          errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_inflight_appends, uint64_t,
                 set_size(config, &raft::Config::max_inflight_appends, value,
                          function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_inflight_bytes, uint64_t,
                 set_size(config, &raft::Config::max_inflight_bytes, value, function,
                          errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_pending_bytes, uint64_t,
                 set_size(config, &raft::Config::max_pending_bytes, value, function,
                          errmsg))
RAFT_CAPI_SETTER(raft_config_set_max_pending_commands, uint64_t,
                 set_size(config, &raft::Config::max_pending_commands, value,
                          function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_trailing_logs, uint64_t,
                 set_u64(config, &raft::Config::trailing_logs, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_snapshot_interval_ms, uint64_t,
                 set_duration(config, &raft::Config::snapshot_interval, value, function,
                              errmsg))
RAFT_CAPI_SETTER(raft_config_set_snapshot_threshold, uint64_t,
                 set_u64(config, &raft::Config::snapshot_threshold, value, function,
                         errmsg))
RAFT_CAPI_SETTER(raft_config_set_snapshot_log_bytes, uint64_t,
                 set_u64(config, &raft::Config::snapshot_log_bytes, value, function,
                         errmsg))
RAFT_CAPI_SETTER(raft_config_set_retain_snapshots, uint64_t,
                 set_retain_snapshots(config, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_no_snapshot_restore_on_start, int,
                 set_bool(config, &raft::Config::no_snapshot_restore_on_start, value,
                          function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_pre_vote, int,
                 set_bool(config, &raft::Config::pre_vote, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_check_quorum, int,
                 set_bool(config, &raft::Config::check_quorum, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_shutdown_on_remove, int,
                 set_bool(config, &raft::Config::shutdown_on_remove, value, function,
                          errmsg))
RAFT_CAPI_SETTER(raft_config_set_log_level, int, set_log_level(config, value, function, errmsg))
RAFT_CAPI_SETTER(raft_config_set_tls_verify_peer_id, int,
                 set_bool(config, &raft::Config::tls_verify_peer_id, value, function, errmsg))

#undef RAFT_CAPI_SETTER

int raft_config_set_memory_network(raft_config* config, raft_network* network, char** errmsg) {
  return guarded(errmsg, "raft_config_set_memory_network", [&] {
    if (!config) return null_argument(errmsg, "raft_config_set_memory_network", "config");
    config->config.memory_network = network ? network->network : nullptr;
    return RAFT_OK;
  });
}

// The three files go together, so one call sets them (NULL means "", and
// three empty names turn TLS off); a partial set is left for
// raft_config_validate to name, like every rule that spans options.
int raft_config_set_tls(raft_config* config, const char* ca_file, const char* cert_file, const char* key_file,
                        char** errmsg) {
  return guarded(errmsg, "raft_config_set_tls", [&] {
    if (!config) return null_argument(errmsg, "raft_config_set_tls", "config");
    // Copied first: out of memory then leaves the config as it was.
    std::string ca = ca_file ? ca_file : "";
    std::string cert = cert_file ? cert_file : "";
    std::string key = key_file ? key_file : "";
    config->config.tls_ca_file = std::move(ca);
    config->config.tls_cert_file = std::move(cert);
    config->config.tls_key_file = std::move(key);
    return RAFT_OK;
  });
}

int raft_config_set_log_callback(raft_config* config, raft_log_fn fn, void* user, char** errmsg) {
  return guarded(errmsg, "raft_config_set_log_callback", [&] {
    if (!config) return null_argument(errmsg, "raft_config_set_log_callback", "config");
    config->log_fn = fn;
    config->log_user = fn ? user : nullptr;
    return RAFT_OK;
  });
}

int raft_config_set(raft_config* config, const char* name, const char* value, char** errmsg) {
  return guarded(errmsg, "raft_config_set", [&] {
    if (!config) return null_argument(errmsg, "raft_config_set", "config");
    if (!name) return null_argument(errmsg, "raft_config_set", "name");
    if (!value) return null_argument(errmsg, "raft_config_set", "value");
    return set_by_name(config, name, value, errmsg);
  });
}

int raft_config_get(const raft_config* config, const char* name, char** value, char** errmsg) {
  return guarded(errmsg, "raft_config_get", [&] {
    if (!config) return null_argument(errmsg, "raft_config_get", "config");
    if (!name) return null_argument(errmsg, "raft_config_get", "name");
    if (!value) return null_argument(errmsg, "raft_config_get", "value");
    std::string text;
    if (!get_by_name(config->config, name, &text))
      return fail(errmsg, RAFT_ENOTFOUND, std::string("raft_config_get: no option named \"") + name + "\"");
    *value = dup_string(text);
    return RAFT_OK;
  });
}

// ---- raft_configuration ----

raft_configuration* raft_configuration_create(void) {
  try {
    return new raft_configuration();
  } catch (...) {
    return nullptr;
  }
}

void raft_configuration_free(raft_configuration* configuration) { delete configuration; }

int raft_configuration_add(raft_configuration* configuration, uint64_t id, const char* address, int voter,
                           char** errmsg) {
  return guarded(errmsg, "raft_configuration_add", [&] {
    if (!configuration) return null_argument(errmsg, "raft_configuration_add", "configuration");
    if (!address) return null_argument(errmsg, "raft_configuration_add", "address");
    if (id == 0) return fail(errmsg, RAFT_EINVAL, "raft_configuration_add: server id 0 is reserved");
    for (const raft::ServerInfo& s : configuration->configuration.servers)
      if (s.id == id)
        return fail(errmsg, RAFT_EEXISTS, "raft_configuration_add: server " + std::to_string(id) + " is already listed");
    configuration->configuration.servers.push_back({id, address, voter != 0});
    return RAFT_OK;
  });
}

int raft_configuration_count(const raft_configuration* configuration, size_t* count, char** errmsg) {
  return guarded(errmsg, "raft_configuration_count", [&] {
    if (!configuration) return null_argument(errmsg, "raft_configuration_count", "configuration");
    if (!count) return null_argument(errmsg, "raft_configuration_count", "count");
    *count = configuration->configuration.servers.size();
    return RAFT_OK;
  });
}

int raft_configuration_get(const raft_configuration* configuration, size_t i, uint64_t* id, const char** address,
                           int* voter, char** errmsg) {
  return guarded(errmsg, "raft_configuration_get", [&] {
    if (!configuration) return null_argument(errmsg, "raft_configuration_get", "configuration");
    const auto& servers = configuration->configuration.servers;
    if (i >= servers.size())
      return fail(errmsg, RAFT_ENOTFOUND,
                  "raft_configuration_get: index " + std::to_string(i) + " is out of range (" +
                      std::to_string(servers.size()) + " servers)");
    if (id) *id = servers[i].id;
    if (address) *address = servers[i].address.c_str();
    if (voter) *voter = servers[i].voter ? 1 : 0;
    return RAFT_OK;
  });
}

// ---- raft_network ----

raft_network* raft_network_create(uint64_t seed) {
  try {
    auto* n = new raft_network();
    try {
      n->network = raft::InMemoryNetwork::create(seed);
    } catch (...) {
      delete n;
      return nullptr;
    }
    return n;
  } catch (...) {
    return nullptr;
  }
}

void raft_network_free(raft_network* network) { delete network; }

int raft_network_partition(raft_network* network, const uint64_t* a, size_t a_count, const uint64_t* b,
                           size_t b_count, char** errmsg) {
  return guarded(errmsg, "raft_network_partition", [&] {
    if (!network) return null_argument(errmsg, "raft_network_partition", "network");
    if (!a && a_count > 0) return null_argument(errmsg, "raft_network_partition", "a");
    if (!b && b_count > 0) return null_argument(errmsg, "raft_network_partition", "b");
    std::vector<raft::ServerId> ga(a, a + a_count), gb(b, b + b_count);
    network->network->partition(ga, gb);
    return RAFT_OK;
  });
}

int raft_network_isolate(raft_network* network, uint64_t id, char** errmsg) {
  return guarded(errmsg, "raft_network_isolate", [&] {
    if (!network) return null_argument(errmsg, "raft_network_isolate", "network");
    network->network->isolate(id);
    return RAFT_OK;
  });
}

int raft_network_heal(raft_network* network, char** errmsg) {
  return guarded(errmsg, "raft_network_heal", [&] {
    if (!network) return null_argument(errmsg, "raft_network_heal", "network");
    network->network->heal();
    return RAFT_OK;
  });
}

int raft_network_set_drop_rate(raft_network* network, double p, char** errmsg) {
  return guarded(errmsg, "raft_network_set_drop_rate", [&] {
    if (!network) return null_argument(errmsg, "raft_network_set_drop_rate", "network");
    if (!(p >= 0.0 && p <= 1.0))
      return fail(errmsg, RAFT_EINVAL, "raft_network_set_drop_rate: " + std::to_string(p) + " is not in [0, 1]");
    network->network->set_drop_rate(p);
    return RAFT_OK;
  });
}

}  // extern "C"
