/* libraft 2015 compatibility API: the configuration struct and the enums.
 *
 * Part of the 2015 C API (raft_if.h / raft_c_if.h include this file). The
 * layout of RaftConfig, and the order and values of every enum, are those
 * of the 2015 library: programs written against it compile unchanged
 * (C99, -Wall -Werror -pedantic) and link with -lraft.
 *
 * New programs should use the handle-based C API (raft/raft.h) or the C++
 * API (raft/raft.hpp); docs/migrating-from-2015.md maps one onto the other.
 *
 * Thread safety: plain data. Ownership: RaftConfig holds no pointers; the
 * library copies what it needs from it in raft_init().
 */
#ifndef RAFT_DEFS_H
#define RAFT_DEFS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The configuration of the process's node. Fill it with
 * raft_default_config(), then change fields or apply command-line options
 * (raft_apply_option). Durations are in nanoseconds. A duration or count
 * left at 0 means "the default". Strings are NUL-terminated within their
 * arrays. */
typedef struct {
    char     shm_path[256];      /* ignored: the engine runs in-process now */
    uint64_t shm_size;           /* ignored, bytes */
    char     backend_type[16];   /* "boltdb" (default) or "wal": the durable
                                    WAL store in base_dir; "inmem" or
                                    "memory": nothing survives the process */
    char     base_dir[256];      /* data directory; empty: state in memory */
    uint32_t api_workers;        /* ignored */
    bool     verbose;            /* log elections and peer events on stderr */

    uint16_t listen_port;        /* TCP port of this node (default 9001) */
    char     peers[256];         /* "host:port,host:port": the other nodes */

    uint64_t HeartbeatTimeout;   /* ns: a follower without word from a leader
                                    this long starts an election; leaders
                                    send heartbeats ten times as often */
    uint64_t ElectionTimeout;    /* ns: a candidate's election deadline */
    uint64_t CommitTimeout;      /* ns */
    uint32_t MaxAppendEntries;   /* entries in one AppendEntries */
    bool     ShutdownOnRemove;   /* shut down once removed from the cluster */
    bool     DisableBootstrapAfterElect; /* ignored: bootstrap is done once,
                                            and remembered by the store */
    uint64_t TrailingLogs;       /* entries kept after a snapshot */
    uint64_t SnapshotInterval;   /* ns between snapshot checks */
    uint64_t SnapshotThreshold;  /* entries applied before a snapshot */
    bool     EnableSingleNode;   /* --single: a node that elects itself */
    uint64_t LeaderLeaseTimeout; /* ns: a leader that hears from no majority
                                    this long steps down */
    char     LogOutput[256];     /* file the library logs to; empty: stderr */

    uint32_t RetainSnapshots;    /* snapshots kept on disk */
} RaftConfig;

typedef uint64_t RaftIndex;

typedef enum {
    RAFT_INVALID_STATE,
    RAFT_FOLLOWER,
    RAFT_CANDIDATE,
    RAFT_LEADER,
    RAFT_SHUTDOWN
} RaftState;

typedef enum raft_log_type {
    RAFT_LOG_COMMAND,
    RAFT_LOG_NOOP,
    RAFT_LOG_ADD_PEER,
    RAFT_LOG_REMOVE_PEER,
    RAFT_LOG_BARRIER
} RaftLogType;

typedef enum raft_error {
    RAFT_SUCCESS,
    RAFT_E_LEADER,
    RAFT_E_NOT_LEADER,
    RAFT_E_LEADERSHIP_LOST,
    RAFT_E_SHUTDOWN,
    RAFT_E_ENQUEUE_TIMEOUT,
    RAFT_E_KNOWN_PEER,
    RAFT_E_UNKNOWN_PEER,
    RAFT_E_LOG_NOT_FOUND,
    RAFT_E_PIPELINE_REPLICATION_NOT_SUPP,
    RAFT_E_TRANSPORT_SHUTDOWN,
    RAFT_E_PIPELINE_SHUTDOWN,
    RAFT_E_OTHER,
    RAFT_E_INVALID_OP,
    RAFT_E_INVALID_ADDRESS,
    RAFT_E_RESOLVE,
    RAFT_E_IN_SHUTDOWN,
    N_RAFT_ERRORS /* end marker, not an error */
} RaftError;

#ifdef __cplusplus
}
#endif

#endif /* RAFT_DEFS_H */
