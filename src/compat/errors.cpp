// raft_err_msg and the buffer functions of the 2015 API.
#include <cstdlib>

#include "raft/raft_if.h"

namespace {

// Indexed by RaftError. The 2015 messages were Hashicorp's error strings;
// these say what the code means to a caller of this library.
const char* const kMessages[] = {
    "success",                                                          // RAFT_SUCCESS
    "node is the leader",                                               // RAFT_E_LEADER
    "node is not the leader",                                           // RAFT_E_NOT_LEADER
    "leadership lost while committing (the command may still commit)",  // RAFT_E_LEADERSHIP_LOST
    "raft is shut down",                                                // RAFT_E_SHUTDOWN
    "timed out (the command may still commit)",                         // RAFT_E_ENQUEUE_TIMEOUT
    "peer is already a member",                                         // RAFT_E_KNOWN_PEER
    "peer is unknown (or no leader is known)",                          // RAFT_E_UNKNOWN_PEER
    "log entry not found",                                              // RAFT_E_LOG_NOT_FOUND
    "pipeline replication not supported",                               // RAFT_E_PIPELINE_REPLICATION_NOT_SUPP
    "transport is shut down",                                           // RAFT_E_TRANSPORT_SHUTDOWN
    "pipeline is shut down",                                            // RAFT_E_PIPELINE_SHUTDOWN
    "other error",                                                      // RAFT_E_OTHER
    "invalid operation (no node started, bad argument, or unsupported)",  // RAFT_E_INVALID_OP
    "invalid address (expected host:port)",                             // RAFT_E_INVALID_ADDRESS
    "cannot resolve host name",                                         // RAFT_E_RESOLVE
    "raft is shutting down",                                            // RAFT_E_IN_SHUTDOWN
};
static_assert(sizeof kMessages / sizeof kMessages[0] == N_RAFT_ERRORS, "one message per RaftError");

}  // namespace

extern "C" {

const char* raft_err_msg(RaftError err) {
  int i = static_cast<int>(err);
  if (i < 0 || i >= N_RAFT_ERRORS) return "unknown raft error code";
  return kMessages[i];
}

char* alloc_raft_buffer(size_t len) {
  // At least one byte, so that a zero-length command still has a buffer.
  return static_cast<char*>(std::malloc(len > 0 ? len : 1));
}

void free_raft_buffer(const char* buf) { std::free(const_cast<char*>(buf)); }

}  // extern "C"
