// The 2015 API's configuration: defaults, getopt_long options and their
// parsing (raft_default_config, raft_getopt_long_opts, is_raft_option,
// raft_apply_option). Pure functions of their arguments, except that the
// options added since 2015 go to the process's ConfigExtension
// (extension.hpp says why); no node needed.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "compat/address.hpp"
#include "compat/defaults.hpp"
#include "compat/extension.hpp"
#include "raft/raft_if.h"

namespace raft::compat {
namespace {

// Option vals: above any char, so they never collide with a program's own
// short options. Their order is the 2015 library's, then the newer ones
// (appended, so the 2015 vals keep their numbers).
enum OptionVal : int {
  kShmPath = 0x100,
  kShmSize,
  kBackend,
  kDir,
  kPort,
  kSingle,
  kPeers,
  kVerbose,
  kTlsCa,
  kTlsCert,
  kTlsKey,
  kTlsVerifyPeerId,
  kOptionEnd,
};

// The 2015 array ended with an entry named "" (which its callers looked
// for); the all-zero entry after it makes the array safe to hand to
// getopt_long() directly as well.
const struct option kLongOptions[] = {
    {"shm-path", required_argument, nullptr, kShmPath},
    {"shm-size", required_argument, nullptr, kShmSize},
    {"backend-type", required_argument, nullptr, kBackend},
    {"dir", required_argument, nullptr, kDir},
    {"port", required_argument, nullptr, kPort},
    {"single", no_argument, nullptr, kSingle},
    {"peers", required_argument, nullptr, kPeers},
    {"verbose", no_argument, nullptr, kVerbose},
    {"tls-ca", required_argument, nullptr, kTlsCa},
    {"tls-cert", required_argument, nullptr, kTlsCert},
    {"tls-key", required_argument, nullptr, kTlsKey},
    {"tls-verify-peer-id", no_argument, nullptr, kTlsVerifyPeerId},
    {"", 0, nullptr, 0},
    {nullptr, 0, nullptr, 0},
};

int fail(const char* option, const std::string& why) {
  std::fprintf(stderr, "raft: --%s: %s\n", option, why.c_str());
  return -1;
}

// Copies a string into a fixed field, refusing what does not fit.
template <size_t N>
int copy_field(char (&field)[N], const char* option, const char* arg) {
  size_t len = std::strlen(arg);
  if (len >= N) return fail(option, "\"" + std::string(arg) + "\" is too long (at most " + std::to_string(N - 1) + " bytes)");
  std::memcpy(field, arg, len + 1);
  return 0;
}

// A TLS file of the ConfigExtension: "" unsets it; otherwise it must be
// readable now, so that a mistyped path is reported with the option rather
// than when the node starts.
int set_tls_file(std::string ConfigExtension::*field, const char* option, const char* arg) {
  if (*arg != '\0' && ::access(arg, R_OK) != 0)
    return fail(option, "cannot read \"" + std::string(arg) + "\": " + std::strerror(errno));
  std::string path = arg;
  update_config_extension([&](ConfigExtension& e) { e.*field = std::move(path); });
  return 0;
}

// "64M", "512k", "1G", "4096": bytes, with binary suffixes as in 2015.
bool parse_size(const char* s, uint64_t* out) {
  if (*s < '0' || *s > '9') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0) return false;
  uint64_t mult = 1;
  switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = uint64_t{1} << 10; ++end; break;
    case 'm': case 'M': mult = uint64_t{1} << 20; ++end; break;
    case 'g': case 'G': mult = uint64_t{1} << 30; ++end; break;
    default: return false;
  }
  if (*end != '\0' || v > UINT64_MAX / mult) return false;
  *out = static_cast<uint64_t>(v) * mult;
  return true;
}

}  // namespace
}  // namespace raft::compat

using namespace raft::compat;

extern "C" {

void raft_default_config(RaftConfig* cfg) {
  if (cfg == nullptr) return;
  std::memset(cfg, 0, sizeof *cfg);
  std::snprintf(cfg->shm_path, sizeof cfg->shm_path, "%s", kDefaultShmPath);
  cfg->shm_size = kDefaultShmSize;
  std::snprintf(cfg->backend_type, sizeof cfg->backend_type, "%s", kDefaultBackend);
  cfg->api_workers = kDefaultApiWorkers;
  cfg->verbose = false;
  cfg->listen_port = kDefaultListenPort;
  cfg->HeartbeatTimeout = kDefaultHeartbeatTimeoutNs;
  cfg->ElectionTimeout = kDefaultElectionTimeoutNs;
  cfg->CommitTimeout = kDefaultCommitTimeoutNs;
  cfg->MaxAppendEntries = kDefaultMaxAppendEntries;
  cfg->ShutdownOnRemove = true;
  cfg->DisableBootstrapAfterElect = true;
  cfg->TrailingLogs = kDefaultTrailingLogs;
  cfg->SnapshotInterval = kDefaultSnapshotIntervalNs;
  cfg->SnapshotThreshold = kDefaultSnapshotThreshold;
  cfg->EnableSingleNode = false;
  cfg->LeaderLeaseTimeout = kDefaultLeaderLeaseTimeoutNs;
  cfg->RetainSnapshots = kDefaultRetainSnapshots;
}

const struct option* raft_getopt_long_opts(void) { return kLongOptions; }

bool is_raft_option(int optval) { return optval >= kShmPath && optval < kOptionEnd; }

int raft_apply_option(RaftConfig* cfg, int option, const char* arg) {
  if (cfg == nullptr) {
    std::fprintf(stderr, "raft: raft_apply_option: cfg is NULL\n");
    return -1;
  }
  const char* name = is_raft_option(option) ? kLongOptions[option - kShmPath].name : nullptr;
  if (name == nullptr) {
    std::fprintf(stderr, "raft: raft_apply_option: %d is not a libraft option\n", option);
    return -1;
  }
  bool needs_arg = kLongOptions[option - kShmPath].has_arg == required_argument;
  if (needs_arg && arg == nullptr) return fail(name, "needs a value");

  switch (option) {
    case kShmPath:
      return copy_field(cfg->shm_path, name, arg);
    case kShmSize: {
      uint64_t v = 0;
      if (!parse_size(arg, &v)) return fail(name, "\"" + std::string(arg) + "\" is not a size (a number with an optional k, M or G suffix)");
      cfg->shm_size = v;
      return 0;
    }
    case kBackend:
      if (!backend_known(arg)) return fail(name, "unknown backend \"" + std::string(arg) + "\" (" + kBackendChoices + ")");
      return copy_field(cfg->backend_type, name, arg);
    case kDir:
      if (*arg == '\0') return fail(name, "needs a directory");
      return copy_field(cfg->base_dir, name, arg);
    case kPort: {
      uint16_t port = 0;
      if (!parse_port(arg, &port)) return fail(name, "\"" + std::string(arg) + "\" is not a port number (1 to 65535)");
      cfg->listen_port = port;
      return 0;
    }
    case kSingle:
      cfg->EnableSingleNode = true;
      return 0;
    case kPeers: {
      PeerList peers;
      std::string error;
      if (!parse_peer_list(arg, &peers, &error)) return fail(name, error);
      return copy_field(cfg->peers, name, arg);
    }
    case kVerbose:
      cfg->verbose = true;
      return 0;
    case kTlsCa:
      return set_tls_file(&ConfigExtension::tls_ca_file, name, arg);
    case kTlsCert:
      return set_tls_file(&ConfigExtension::tls_cert_file, name, arg);
    case kTlsKey:
      return set_tls_file(&ConfigExtension::tls_key_file, name, arg);
    case kTlsVerifyPeerId:
      update_config_extension([](ConfigExtension& e) { e.tls_verify_peer_id = true; });
      return 0;
    default:
      return fail(name, "not handled");
  }
}

}  // extern "C"
