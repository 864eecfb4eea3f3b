// Options of the 2015 API that came after 2015 (--tls-ca, --tls-cert,
// --tls-key, --tls-verify-peer-id), and where they live.
//
// RaftConfig cannot hold them: its layout is the 2015 one (raft_defs.h),
// and 2015 programs allocate it themselves, copy it and read its fields
// by offset, so it can neither grow nor give a field a new meaning. The
// newer options therefore sit beside it, in one set per process, as the
// 2015 API has one node per process: raft_apply_option writes them and
// raft_init reads them, whichever RaftConfig it is given. raft_default_config
// does not clear them (a program that calls it again for another struct
// must not silently lose its TLS settings); an empty value unsets a file.
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <functional>
#include <string>

namespace raft::compat {

struct ConfigExtension {
  // Mutual TLS between nodes (raft::Config's tls_* options): PEM files,
  // all three or none.
  std::string tls_ca_file;    // --tls-ca
  std::string tls_cert_file;  // --tls-cert
  std::string tls_key_file;   // --tls-key
  bool tls_verify_peer_id = false;  // --tls-verify-peer-id
};

// A copy of the process's options as set so far.
ConfigExtension config_extension();
// Changes them in place, atomically (raft_apply_option is the writer).
void update_config_extension(const std::function<void(ConfigExtension&)>& change);

}  // namespace raft::compat
