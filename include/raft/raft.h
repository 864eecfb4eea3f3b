/* libraft: Raft consensus as a library. The C API.
 *
 * A program starts a node with a configuration and a finite state machine
 * (an FSM: a set of callbacks). Commands given to the leader's
 * raft_node_apply() are replicated to a majority of the cluster, committed,
 * and applied to the FSM of every node in the same order. This header is a
 * thin, handle-based layer over the C++ API (raft/raft.hpp); the behaviour
 * of each call is the one described there and in docs/ (configuration.md,
 * snapshots.md, membership.md). docs/c-api.md is a tour with an example.
 *
 * Conventions (they hold for every function below unless it says
 * otherwise):
 *
 * 1. Handles. Every type is an opaque handle created by a raft_*_create or
 *    raft_*_start function and released by the matching raft_*_free. No
 *    struct layout is public, so new options and fields never break
 *    binaries built against an older header. raft_*_free(NULL) does
 *    nothing.
 *
 * 2. Errors. A function that can fail returns an int: RAFT_OK (0) or one of
 *    the RAFT_E* codes below (they mirror raft::ErrorCode one to one), and
 *    takes `char **errmsg` as its LAST argument (after any callback and
 *    its user pointer). errmsg may be NULL when the caller does not want
 *    the message. Otherwise the library always writes *errmsg: NULL on
 *    success, and on failure a message (NUL-terminated, allocated with
 *    malloc) saying what went wrong and where, which the caller frees with
 *    raft_free(). The previous value of *errmsg is overwritten, not freed.
 *    raft_strerror() names a code. Out-parameters are written only on
 *    success unless the function says otherwise.
 *
 * 3. Robustness. No C++ exception crosses this API: every entry point
 *    catches everything and returns an error (out of memory is
 *    RAFT_EINTERNAL with the message "out of memory"). A NULL handle or a
 *    NULL required pointer is RAFT_EINVAL, never a crash. After
 *    raft_node_shutdown() every call on that node returns RAFT_ESHUTDOWN,
 *    except raft_node_state() (RAFT_STATE_SHUTDOWN), raft_node_id(),
 *    raft_node_shutdown() (idempotent) and raft_node_free(). Using a handle
 *    after its raft_*_free is undefined, as with free().
 *
 * 4. Ownership. Every pointer argument is BORROWED for the duration of the
 *    call (the library copies what it keeps) unless the function says
 *    otherwise. Memory the library hands out (messages, addresses, JSON,
 *    new handles) belongs to the caller: strings are freed with
 *    raft_free(), handles with their raft_*_free. Memory a callback hands
 *    to the library (an apply result, an error message) must come from
 *    malloc() and passes to the library; it frees it with free() (or with
 *    the result destructor set by raft_fsm_set_result_destructor()).
 *    Pointers the library passes to callbacks are borrowed for the
 *    duration of the callback only. A user pointer (`void *user`) is never
 *    dereferenced by the library, only handed back to the callbacks.
 *
 * 5. Threads. Every function may be called from any thread, concurrently,
 *    except raft_*_free, which must not race with other calls on the same
 *    handle. Each node runs three library threads: an event loop (network,
 *    timers), a disk thread and an apply thread, plus a snapshot thread
 *    while a snapshot is written. Callbacks run as follows:
 *      - FSM apply, snapshot and restore: on the node's APPLY thread, one at
 *        a time, in log order (so an FSM needs no locks for them). restore
 *        may also run once on the thread calling raft_node_start(), to
 *        rebuild the state from the newest snapshot on disk.
 *      - FSM persist and release: on the node's SNAPSHOT thread, while
 *        apply goes on. A release that replaces a persist that never ran
 *        (the node stopping first) may come from the apply thread or from
 *        the thread shutting the node down.
 *      - leader-change callback: on the APPLY thread, in order.
 *      - apply completion callback (raft_node_apply_async): on the thread
 *        that resolves the command, usually the apply thread; on the
 *        calling thread, before raft_node_apply_async returns, when the
 *        outcome is known at once (e.g. RAFT_ENOTLEADER).
 *      - log callback: on any library thread, possibly several at once;
 *        it must be thread-safe.
 *    From inside a callback, calls that would block (raft_node_start,
 *    raft_node_bootstrap, raft_node_restore, raft_node_reload_tls,
 *    raft_node_shutdown, raft_node_free, raft_recover_cluster, and
 *    raft_future_await, raft_future_status, raft_future_index or
 *    raft_future_result on an unresolved future) return RAFT_EINVAL
 *    instead of deadlocking;
 *    non-blocking calls (raft_node_state, raft_node_apply with a
 *    timeout, ...) are fine, except from the log callback, which must not
 *    call into libraft at all (such calls return RAFT_EINVAL). Keep callbacks short: the apply
 *    thread is shared with the FSM. No callback of a node runs after
 *    raft_node_free() of that node has returned.
 *
 * 6. Futures. Asynchronous calls give a raft_future through an
 *    out-parameter; the call itself fails only when no future could be
 *    made (bad arguments, a node shut down). Every other outcome,
 *    including RAFT_ENOTLEADER, is the future's. A future resolves exactly
 *    once: RAFT_ENOTLEADER and RAFT_ESHUTDOWN mean the command certainly
 *    did not commit; RAFT_ETIMEOUT and RAFT_ELEADERSHIPLOST mean it may
 *    still commit. A future is independent of its node: it may be waited
 *    on, read and freed after the node is shut down or freed.
 *
 * 7. Units. Durations are milliseconds (names end in _ms), sizes are bytes
 *    unless the name says entries or commands. A timeout_ms of 0 means no
 *    deadline. Booleans are ints: 0 is false, anything else true.
 *
 * Linking: libraft.so (only raft_* symbols are exported) or libraft.a
 * (then also link the C++ standard library and pthreads, e.g. with
 * `pkg-config --static --libs raft`).
 */
#ifndef RAFT_RAFT_H
#define RAFT_RAFT_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Version, errors, memory */

/* The library version (also in raft.pc and the CMake package). */
#define RAFT_VERSION_MAJOR 0
#define RAFT_VERSION_MINOR 1
#define RAFT_VERSION_PATCH 0

/* "0.1.0": the version of the library actually linked (static string). */
RAFT_API const char *raft_version(void);

/* Error codes: the same numbers as raft::ErrorCode, append only. */
#define RAFT_OK 0
#define RAFT_EINVAL 1           /* the caller passed something meaningless */
#define RAFT_ENOTLEADER 2       /* certainly not applied: not the leader */
#define RAFT_ELEADERSHIPLOST 3  /* may still commit: leadership changed */
#define RAFT_ETIMEOUT 4         /* may still commit: the deadline passed */
#define RAFT_ESHUTDOWN 5        /* certainly not applied: node shut down */
#define RAFT_ECORRUPTION 6      /* stored or received bytes are damaged */
#define RAFT_EIO 7              /* the operating system refused an I/O call */
#define RAFT_ENOTFOUND 8        /* the requested thing does not exist */
#define RAFT_EBUSY 9            /* try again: another such operation runs */
#define RAFT_EUNSUPPORTED 10    /* a version or feature this build lacks */
#define RAFT_EEXISTS 11         /* e.g. bootstrap on a node that has state */
#define RAFT_EABORTED 12        /* cancelled before completion */
#define RAFT_EINTERNAL 13       /* a bug (or out of memory); see message */

/* A short static description of a code ("not leader"); "unknown error"
 * for a number that is not a code. Never NULL, never fails. */
RAFT_API const char *raft_strerror(int code);

/* Frees memory the library handed out (messages, strings, JSON). It is
 * free(); raft_free(NULL) does nothing. */
RAFT_API void raft_free(void *ptr);

/* ------------------------------------------------------------------------
 * Handles */

typedef struct raft_config raft_config;                   /* node options */
typedef struct raft_configuration raft_configuration;     /* a server list */
typedef struct raft_network raft_network;                 /* in-process network */
typedef struct raft_fsm raft_fsm;                         /* FSM callbacks */
typedef struct raft_node raft_node;                       /* a running node */
typedef struct raft_future raft_future;                   /* an async outcome */
typedef struct raft_snapshot_writer raft_snapshot_writer; /* persist's sink */
typedef struct raft_snapshot_reader raft_snapshot_reader; /* restore's source */

/* ------------------------------------------------------------------------
 * Callback types */

/* Log levels, as raft::LogLevel. */
#define RAFT_LOG_DEBUG 0
#define RAFT_LOG_INFO 1
#define RAFT_LOG_WARN 2
#define RAFT_LOG_ERROR 3
#define RAFT_LOG_OFF 4

/* A log line (without a trailing newline; it starts with "node N: ").
 * Any library thread, possibly concurrently; must not call into libraft.
 * `message` is borrowed for the call. */
typedef void (*raft_log_fn)(void *user, int level, const char *message);

/* The known leader changed: leader_id 0 means none known. Apply thread. */
typedef void (*raft_leader_fn)(void *user, uint64_t leader_id, uint64_t term);

/* Frees an apply result (see raft_fsm_set_result_destructor). */
typedef void (*raft_destroy_fn)(void *ptr);

/* FSM apply: applies the committed command `data` (len bytes, borrowed for
 * the call) at log `index` of `term`. Called once per index per process
 * lifetime, in log order, on the apply thread, for commands only. It may
 * hand a result to the raft_future of the raft_node_apply that submitted
 * the command (on this node; elsewhere it is dropped): set *result (NULL
 * on entry) to memory from malloc() and *result_len (0 on entry) to its
 * size; ownership passes to the library, which frees it with free() (or
 * the FSM's result destructor) once no future refers to it. Must be
 * deterministic: the same commands on the same state give the same state. */
typedef void (*raft_fsm_apply_fn)(void *user, uint64_t index, uint64_t term,
                                  const void *data, size_t len,
                                  void **result, size_t *result_len);

/* FSM snapshot: returns quickly, on the apply thread between two applies,
 * a point-in-time view of the state in *snapshot (NULL on entry; any
 * pointer, NULL included, is fine: the library only hands it back to
 * persist and release). Return RAFT_OK, or an error code (and optionally
 * a malloc'd message in *errmsg, which the library frees) to abandon the
 * snapshot; then neither persist nor release is called. A code that is
 * not a RAFT_E* code is reported as RAFT_EIO (as for every callback). */
typedef int (*raft_fsm_snapshot_fn)(void *user, void **snapshot, char **errmsg);

/* FSM persist: writes the view taken by snapshot through `writer`
 * (borrowed for the call; see raft_snapshot_writer_write), in pieces of
 * any size, on the snapshot thread while apply goes on. Return RAFT_OK, or
 * an error code (and optionally a malloc'd *errmsg) to abandon this
 * snapshot; nothing is lost, the log is compacted only after a snapshot is
 * durable. A code that is not a RAFT_E* code is reported as RAFT_EIO. */
typedef int (*raft_fsm_persist_fn)(void *user, void *snapshot,
                                   raft_snapshot_writer *writer, char **errmsg);

/* FSM release: called exactly once per successful snapshot callback,
 * after persist or instead of it (node shut down first): free the view. */
typedef void (*raft_fsm_release_fn)(void *user, void *snapshot);

/* FSM restore: replaces the whole state with the snapshot read from
 * `reader` (borrowed for the call; read until raft_snapshot_reader_read
 * gives 0 bytes). Apply thread (or the thread calling raft_node_start).
 * Return RAFT_OK, or an error code (and optionally a malloc'd *errmsg):
 * the node then stops (or does not start) rather than run with a wrong
 * state. A code that is not a RAFT_E* code is reported as RAFT_EIO. */
typedef int (*raft_fsm_restore_fn)(void *user, raft_snapshot_reader *reader,
                                   char **errmsg);

/* A byte source for raft_node_restore: fill up to `cap` bytes of `buf`
 * and set *n (0 at the end). Return RAFT_OK or an error code (and
 * optionally a malloc'd *errmsg). Runs on the thread calling
 * raft_node_restore. */
typedef int (*raft_read_fn)(void *user, void *buf, size_t cap, size_t *n,
                            char **errmsg);

/* The outcome of raft_node_apply_async: code RAFT_OK or an error; message
 * NULL on success, else the reason (borrowed for the call); index the
 * command's log index (0 unless RAFT_OK); result/result_len the FSM's
 * result (borrowed for the call; NULL/0 if none). Called exactly once. */
typedef void (*raft_apply_done_fn)(void *user, int code, const char *message,
                                   uint64_t index, const void *result,
                                   size_t result_len);

/* ------------------------------------------------------------------------
 * Configuration of a node (docs/configuration.md has every option)
 *
 * A raft_config holds the defaults of raft::Config when created. Setters
 * check only what they can alone (NULL pointers, numbers that do not fit);
 * raft_config_validate() and raft_node_start() check the whole. */

/* A config with default values; NULL when out of memory. Free with
 * raft_config_free. */
RAFT_API raft_config *raft_config_create(void);
RAFT_API void raft_config_free(raft_config *config);

/* OK, or RAFT_EINVAL with a message naming the first wrong option. */
RAFT_API int raft_config_validate(const raft_config *config, char **errmsg);

/* Identity. id: not 0, unique in the cluster for ever. cluster_id: 1 to
 * 64 bytes; peers of another cluster are refused. */
RAFT_API int raft_config_set_id(raft_config *config, uint64_t id, char **errmsg);
RAFT_API int raft_config_set_cluster_id(raft_config *config, const char *cluster_id, char **errmsg);

/* Transport: "tcp" (default) or "memory" (then set a memory network).
 * bind_address "host:port" (port 0: any free port; TCP only);
 * advertise_address: how peers reach this node ("" means the bound
 * address; for "memory" any unique name such as "mem:1"). */
RAFT_API int raft_config_set_transport(raft_config *config, const char *transport, char **errmsg);
RAFT_API int raft_config_set_bind_address(raft_config *config, const char *address, char **errmsg);
RAFT_API int raft_config_set_advertise_address(raft_config *config, const char *address, char **errmsg);
/* The network (retained: the config, and every node started from it, keep
 * their own reference, so the caller may free its handle at any time).
 * NULL clears it. */
RAFT_API int raft_config_set_memory_network(raft_config *config, raft_network *network, char **errmsg);

/* Transport security: mutual TLS between nodes (TCP only; docs/security.md).
 * raft_config_set_tls sets the three PEM files (the strings are copied):
 * ca_file, the CA certificate(s) that sign the cluster's nodes; cert_file,
 * this node's certificate (chain); key_file, its private key. TLS is on
 * when all three are set; NULL or "" for all three turns it off (the
 * default). The files are read by raft_node_start and again by
 * raft_node_reload_tls, not here: a missing file is an error there.
 * verify_peer_id on: a peer's certificate must also name "node<id>" (its
 * subject common name or a DNS subject alternative name) for the id it
 * claims; needs TLS. raft_config_validate refuses (RAFT_EINVAL, naming the
 * option) a partial set of files, TLS with transport "memory", and
 * verify_peer_id without TLS. By name: "tls_ca_file", "tls_cert_file",
 * "tls_key_file" (text, "" for unset) and "tls_verify_peer_id" (boolean). */
RAFT_API int raft_config_set_tls(raft_config *config, const char *ca_file, const char *cert_file,
                                 const char *key_file, char **errmsg);
RAFT_API int raft_config_set_tls_verify_peer_id(raft_config *config, int on, char **errmsg);

/* Storage: "wal" (default; durable, needs data_dir) or "memory". */
RAFT_API int raft_config_set_store(raft_config *config, const char *store, char **errmsg);
RAFT_API int raft_config_set_data_dir(raft_config *config, const char *data_dir, char **errmsg);

/* Timing. */
RAFT_API int raft_config_set_heartbeat_interval_ms(raft_config *config, uint64_t ms, char **errmsg);
RAFT_API int raft_config_set_election_timeout_ms(raft_config *config, uint64_t ms, char **errmsg);
RAFT_API int raft_config_set_commit_timeout_ms(raft_config *config, uint64_t ms, char **errmsg);
RAFT_API int raft_config_set_leader_lease_timeout_ms(raft_config *config, uint64_t ms, char **errmsg);

/* Replication flow control and backpressure. */
RAFT_API int raft_config_set_max_append_entries(raft_config *config, uint64_t entries, char **errmsg);
RAFT_API int raft_config_set_max_append_bytes(raft_config *config, uint64_t bytes, char **errmsg);
RAFT_API int raft_config_set_max_inflight_appends(raft_config *config, uint64_t appends, char **errmsg);
RAFT_API int raft_config_set_max_inflight_bytes(raft_config *config, uint64_t bytes, char **errmsg);
RAFT_API int raft_config_set_max_pending_bytes(raft_config *config, uint64_t bytes, char **errmsg);
RAFT_API int raft_config_set_max_pending_commands(raft_config *config, uint64_t commands, char **errmsg);

/* Snapshots and compaction (docs/snapshots.md). */
RAFT_API int raft_config_set_trailing_logs(raft_config *config, uint64_t entries, char **errmsg);
RAFT_API int raft_config_set_snapshot_interval_ms(raft_config *config, uint64_t ms, char **errmsg);
RAFT_API int raft_config_set_snapshot_threshold(raft_config *config, uint64_t entries, char **errmsg);
RAFT_API int raft_config_set_snapshot_log_bytes(raft_config *config, uint64_t bytes, char **errmsg);
RAFT_API int raft_config_set_retain_snapshots(raft_config *config, uint64_t count, char **errmsg);
RAFT_API int raft_config_set_no_snapshot_restore_on_start(raft_config *config, int on, char **errmsg);

/* Protocol. */
RAFT_API int raft_config_set_pre_vote(raft_config *config, int on, char **errmsg);
RAFT_API int raft_config_set_check_quorum(raft_config *config, int on, char **errmsg);
RAFT_API int raft_config_set_shutdown_on_remove(raft_config *config, int on, char **errmsg);

/* Logging: the lowest level passed on (RAFT_LOG_*; RAFT_EINVAL for other
 * numbers), and where lines go: `fn` with `user` (NULL fn: stderr, the
 * default). user is retained by every node started from this config until
 * that node is freed. */
RAFT_API int raft_config_set_log_level(raft_config *config, int level, char **errmsg);
RAFT_API int raft_config_set_log_callback(raft_config *config, raft_log_fn fn, void *user, char **errmsg);

/* Any option by its name in docs/configuration.md ("election_timeout",
 * "data_dir", "pre_vote", ...) with its value as text: numbers in decimal
 * (durations in milliseconds), booleans "true"/"false"/"1"/"0", log_level
 * "debug"/"info"/"warn"/"error"/"off". RAFT_ENOTFOUND for an unknown name
 * (memory_network and log_callback have no text form), RAFT_EINVAL for a
 * value that does not parse. */
RAFT_API int raft_config_set(raft_config *config, const char *name, const char *value, char **errmsg);
/* The current value of an option as text, in the form raft_config_set
 * takes, in *value (malloc'd; free with raft_free). */
RAFT_API int raft_config_get(const raft_config *config, const char *name, char **value, char **errmsg);

/* ------------------------------------------------------------------------
 * Cluster configurations: lists of servers (id, address, voter) */

/* An empty list; NULL when out of memory. */
RAFT_API raft_configuration *raft_configuration_create(void);
RAFT_API void raft_configuration_free(raft_configuration *configuration);
/* Appends a server. RAFT_EINVAL for id 0 or a NULL address; RAFT_EEXISTS
 * when the id is already listed. voter 0: a non-voter. */
RAFT_API int raft_configuration_add(raft_configuration *configuration, uint64_t id,
                                    const char *address, int voter, char **errmsg);
RAFT_API int raft_configuration_count(const raft_configuration *configuration, size_t *count,
                                      char **errmsg);
/* Server i (0 <= i < count): any of id, address, voter may be NULL. The
 * address is borrowed until the configuration is changed or freed.
 * RAFT_ENOTFOUND when i is out of range. */
RAFT_API int raft_configuration_get(const raft_configuration *configuration, size_t i,
                                    uint64_t *id, const char **address, int *voter,
                                    char **errmsg);

/* ------------------------------------------------------------------------
 * In-process network (transport "memory"): the nodes of one process that
 * share it talk through it. Fault hooks for tests. Thread-safe. */

/* A network whose random choices (drops) come from `seed`; NULL when out
 * of memory. raft_network_free releases the caller's reference; nodes and
 * configs using the network keep it alive. */
RAFT_API raft_network *raft_network_create(uint64_t seed);
RAFT_API void raft_network_free(raft_network *network);
/* Messages between the two groups of ids are lost, both ways. */
RAFT_API int raft_network_partition(raft_network *network, const uint64_t *a, size_t a_count,
                                    const uint64_t *b, size_t b_count, char **errmsg);
/* Cuts one server off from everyone. */
RAFT_API int raft_network_isolate(raft_network *network, uint64_t id, char **errmsg);
/* Undoes every partition and isolation. */
RAFT_API int raft_network_heal(raft_network *network, char **errmsg);
/* Each message is lost with probability p in [0, 1] (RAFT_EINVAL else). */
RAFT_API int raft_network_set_drop_rate(raft_network *network, double p, char **errmsg);

/* ------------------------------------------------------------------------
 * The state machine */

/* Bundles the FSM callbacks with a user pointer handed back to each.
 * apply is required (raft_node_start refuses an FSM without it);
 * snapshot, persist and restore may be NULL for an FSM that never
 * snapshots (raft_node_snapshot then fails with RAFT_EUNSUPPORTED; a
 * snapshot received from the leader fails to restore), release may be
 * NULL. snapshot and persist go together (both or neither). NULL when out
 * of memory. raft_node_start copies the callbacks: the handle may be
 * freed once the nodes are started. `user` is retained by every node
 * started with it until that node is freed. */
RAFT_API raft_fsm *raft_fsm_create(void *user, raft_fsm_apply_fn apply,
                                   raft_fsm_snapshot_fn snapshot, raft_fsm_persist_fn persist,
                                   raft_fsm_release_fn release, raft_fsm_restore_fn restore);
RAFT_API void raft_fsm_free(raft_fsm *fsm);
/* How apply results are freed (default: free()). A destructor lets apply
 * return any pointer (a struct, a handle) rather than malloc'd bytes; it
 * runs on whichever thread drops the last reference (the apply thread,
 * or the one calling raft_future_free). NULL: results are not freed. */
RAFT_API int raft_fsm_set_result_destructor(raft_fsm *fsm, raft_destroy_fn destroy, char **errmsg);

/* Appends len bytes to the snapshot being persisted. Only valid inside
 * the persist callback that received the writer. RAFT_EIO (or another
 * code) when the store refused: return that error from persist. */
RAFT_API int raft_snapshot_writer_write(raft_snapshot_writer *writer, const void *data,
                                        size_t len, char **errmsg);
/* Reads up to cap bytes (cap > 0) into buf; *n is the count, 0 at the
 * end. Only valid inside the restore callback that received the reader.
 * RAFT_ECORRUPTION when the stored snapshot fails its checksum: return
 * that error from restore. */
RAFT_API int raft_snapshot_reader_read(raft_snapshot_reader *reader, void *buf, size_t cap,
                                       size_t *n, char **errmsg);

/* ------------------------------------------------------------------------
 * Nodes */

/* Node states (raft::Role). */
#define RAFT_STATE_FOLLOWER 0
#define RAFT_STATE_CANDIDATE 1
#define RAFT_STATE_LEADER 2
#define RAFT_STATE_SHUTDOWN 3

/* "Follower", "Candidate", "Leader", "Shutdown"; "Unknown" otherwise. */
RAFT_API const char *raft_state_name(int state);

/* Opens the store, restores state (calling the FSM's restore on this
 * thread if there is a snapshot), starts listening and starts the node's
 * threads. config and fsm are borrowed (copied). On success *node is a
 * new handle; free it with raft_node_free. Blocks. Errors: RAFT_EINVAL
 * (bad config, FSM without apply), RAFT_EIO (cannot bind or open the
 * store), RAFT_ECORRUPTION (damaged store), or restore's error. Any
 * number of nodes may run in one process. */
RAFT_API int raft_node_start(const raft_config *config, const raft_fsm *fsm, raft_node **node,
                             char **errmsg);

/* Resolves every pending future with RAFT_ESHUTDOWN, stops the threads
 * (waiting for them) and closes the store. Idempotent. Blocks. */
RAFT_API int raft_node_shutdown(raft_node *node, char **errmsg);
/* Shuts down if still running (blocking), then frees the handle. From
 * inside a callback it does nothing (the node cannot stop while its own
 * thread waits): free nodes from the program's own threads. */
RAFT_API void raft_node_free(raft_node *node);

/* Writes the first configuration of a brand-new cluster (conf borrowed).
 * Blocks until durable. RAFT_EEXISTS when the node has any state. Run it
 * on every initial member with the same configuration, or on one. */
RAFT_API int raft_node_bootstrap(raft_node *node, const raft_configuration *conf, char **errmsg);

/* Submits a command (data copied; len may be 0). *future resolves once the
 * command is committed and applied on this node, with the FSM's result
 * (raft_future_result) and the log index (raft_future_index). On a
 * follower the future fails with RAFT_ENOTLEADER, whose message names the
 * leader when known ("not leader; leader is 2 at 127.0.0.1:4242").
 * timeout_ms bounds the whole command (RAFT_ETIMEOUT: it may still
 * commit). Returns at once, except under backpressure: while more than
 * max_pending_bytes/commands are in flight it waits, up to timeout_ms,
 * for room (then the future fails with RAFT_ETIMEOUT: not submitted).
 * From an FSM callback, pass a timeout: there the wait cannot end early,
 * since the apply thread is what makes room. */
RAFT_API int raft_node_apply(raft_node *node, const void *data, size_t len, uint64_t timeout_ms,
                             raft_future **future, char **errmsg);
/* The same with a completion callback instead of a future: on RAFT_OK
 * `done` will be called exactly once with `user` (see convention 5 for
 * the thread); on an error return it is never called. */
RAFT_API int raft_node_apply_async(raft_node *node, const void *data, size_t len,
                                   uint64_t timeout_ms, raft_apply_done_fn done, void *user,
                                   char **errmsg);
/* Resolves once every command submitted before it is applied. */
RAFT_API int raft_node_barrier(raft_node *node, uint64_t timeout_ms, raft_future **future,
                               char **errmsg);
/* Resolves OK once a quorum confirmed this node is still the leader. */
RAFT_API int raft_node_verify_leader(raft_node *node, raft_future **future, char **errmsg);
/* A linearizable read point (thesis 6.4): resolves with an index
 * (raft_future_index) once this node has applied everything committed
 * before the call; the FSM's state may then be read locally.
 * RAFT_ENOTLEADER on followers. */
RAFT_API int raft_node_read_index(raft_node *node, uint64_t timeout_ms, raft_future **future,
                                  char **errmsg);

/* Queries: non-blocking, any thread. */
/* RAFT_STATE_*; works after shutdown (RAFT_STATE_SHUTDOWN). */
RAFT_API int raft_node_state(raft_node *node, int *state, char **errmsg);
/* The known leader: *id 0 and *address NULL when none is known, else the
 * leader's id and its address (malloc'd; free with raft_free). Either
 * out-parameter may be NULL. */
RAFT_API int raft_node_leader(raft_node *node, uint64_t *id, char **address, char **errmsg);
/* This node's id (works after shutdown). */
RAFT_API int raft_node_id(raft_node *node, uint64_t *id, char **errmsg);
/* Where peers reach this node ("127.0.0.1:40123"; malloc'd). */
RAFT_API int raft_node_address(raft_node *node, char **address, char **errmsg);
RAFT_API int raft_node_term(raft_node *node, uint64_t *term, char **errmsg);
RAFT_API int raft_node_last_index(raft_node *node, uint64_t *index, char **errmsg);
RAFT_API int raft_node_commit_index(raft_node *node, uint64_t *index, char **errmsg);
RAFT_API int raft_node_applied_index(raft_node *node, uint64_t *index, char **errmsg);
/* Milliseconds since this node last heard from a leader: 0 on the leader,
 * UINT64_MAX when it never has. */
RAFT_API int raft_node_last_contact_ms(raft_node *node, uint64_t *ms, char **errmsg);
/* Like Hashicorp's Stats(): a JSON object whose values are all strings
 * ({"state":"Leader","term":"3",...}; the keys of raft::Node::stats()),
 * malloc'd in *json (free with raft_free). */
RAFT_API int raft_node_stats(raft_node *node, char **json, char **errmsg);
/* The latest configuration in the log (in effect), and the committed one,
 * as a new handle (free with raft_configuration_free). */
RAFT_API int raft_node_configuration(raft_node *node, raft_configuration **conf, char **errmsg);
RAFT_API int raft_node_committed_configuration(raft_node *node, raft_configuration **conf,
                                               char **errmsg);

/* Membership (docs/membership.md). Each future resolves with the log index
 * of the configuration entry that completed the change (raft_future_index)
 * once it is committed. Leader only (RAFT_ENOTLEADER elsewhere);
 * RAFT_EBUSY while another change is uncommitted, during a leadership
 * transfer or before a new leader committed an entry of its term;
 * RAFT_ETIMEOUT or RAFT_ELEADERSHIPLOST: the change may still happen.
 * add_voter first adds the server as a non-voter and promotes it once it
 * has caught up; a brand-new server needs no bootstrap. */
RAFT_API int raft_node_add_voter(raft_node *node, uint64_t id, const char *address,
                                 uint64_t timeout_ms, raft_future **future, char **errmsg);
RAFT_API int raft_node_add_nonvoter(raft_node *node, uint64_t id, const char *address,
                                    uint64_t timeout_ms, raft_future **future, char **errmsg);
RAFT_API int raft_node_remove_server(raft_node *node, uint64_t id, uint64_t timeout_ms,
                                     raft_future **future, char **errmsg);
RAFT_API int raft_node_demote_voter(raft_node *node, uint64_t id, uint64_t timeout_ms,
                                    raft_future **future, char **errmsg);
/* Any number of servers at once, through joint consensus (thesis 4.3);
 * target borrowed. */
RAFT_API int raft_node_change_configuration(raft_node *node, const raft_configuration *target,
                                            uint64_t timeout_ms, raft_future **future,
                                            char **errmsg);

/* Hands leadership to server `target` (0: the most up-to-date voter).
 * New commands are refused (RAFT_EBUSY) meanwhile. Resolves OK once
 * another leader is known; RAFT_ETIMEOUT after an election timeout without
 * one, after which this node leads on. */
RAFT_API int raft_node_transfer_leadership(raft_node *node, uint64_t target, raft_future **future,
                                           char **errmsg);

/* Takes a snapshot now; resolves with its last index (raft_future_index).
 * RAFT_EBUSY while one is being taken; RAFT_EABORTED when nothing was
 * applied since the last one; the FSM's error when snapshot or persist
 * failed. */
RAFT_API int raft_node_snapshot(raft_node *node, raft_future **future, char **errmsg);
/* Leader only: replaces the state of the whole cluster with the snapshot
 * bytes `read` produces (like Hashicorp's Restore): this node's FSM
 * restores them and every follower receives them. `read` runs on this
 * thread. Blocks until done or timeout_ms. For disaster recovery into an
 * idle cluster only: until followers hold it, a leader crash can make
 * replicas diverge (docs/snapshots.md). */
RAFT_API int raft_node_restore(raft_node *node, uint64_t timeout_ms, raft_read_fn read, void *user,
                               char **errmsg);

/* Reads the node's TLS files (raft_config_set_tls) again, for certificate
 * rotation without a restart: connections made afterwards present the new
 * certificate and trust the new CA file; connections already open keep
 * the identity they were made with. On any error (a file missing or
 * unreadable, a key that does not match its certificate) the files loaded
 * before stay in use and nothing changes. Blocks until the node's event
 * loop has loaded them (so not from a callback: RAFT_EINVAL there).
 * Errors: RAFT_EINVAL (TLS is off for this node, a bad file, called from
 * a callback), RAFT_ESHUTDOWN. */
RAFT_API int raft_node_reload_tls(raft_node *node, char **errmsg);

/* Calls fn(user, leader_id, term) on the apply thread whenever the known
 * leader changes (leader_id 0: none known), in order. Replaces any
 * previous callback; NULL fn removes it. user is retained until it is
 * replaced or the node is freed. Changes before this call are not
 * replayed: read raft_node_leader for the current leader. */
RAFT_API int raft_node_set_leader_callback(raft_node *node, raft_leader_fn fn, void *user,
                                           char **errmsg);

/* DANGER: offline recovery for a cluster that lost a majority for good.
 * Run on each surviving server's data directory (config's store and
 * data_dir) while no node runs there; it rewrites the configuration to
 * `conf` without consensus. Used wrongly it causes split brain and data
 * loss: see docs/membership.md, "Recovering from the loss of a majority". */
RAFT_API int raft_recover_cluster(const raft_config *config, const raft_configuration *conf,
                                  char **errmsg);

/* ------------------------------------------------------------------------
 * Futures
 *
 * (The names avoid raft_future_wait, raft_future_poll and
 * raft_future_wait_for, which the 2015 API in raft_if.h defines with other
 * signatures; both APIs live in one library.) */

/* Blocks until resolved; returns the outcome (RAFT_OK or the error, with
 * its message in *errmsg). Once resolved it returns at once, so it is
 * also the outcome getter. */
RAFT_API int raft_future_await(raft_future *future, char **errmsg);
/* Blocks at most timeout_ms (0: does not block); *done is 1 when resolved
 * (then read the outcome with raft_future_status), else 0. Returns RAFT_OK
 * unless the arguments are bad. A bounded wait is allowed in callbacks. */
RAFT_API int raft_future_await_for(raft_future *future, uint64_t timeout_ms, int *done,
                                   char **errmsg);
/* Non-blocking: *done is 1 when resolved, else 0. */
RAFT_API int raft_future_ready(raft_future *future, int *done, char **errmsg);
/* The outcome: the same as raft_future_await (it blocks until resolved;
 * use it once raft_future_ready or raft_future_await_for said done). */
RAFT_API int raft_future_status(raft_future *future, char **errmsg);
/* Waits, then: RAFT_OK and *index for a successful future that has an
 * index (apply: the command's log index; read_index; membership changes;
 * snapshot); the outcome's error when it failed; RAFT_EINVAL for a
 * future that carries no index (barrier, verify_leader, transfer). */
RAFT_API int raft_future_index(raft_future *future, uint64_t *index, char **errmsg);
/* Waits, then for a successful apply future: the FSM's result in *data /
 * *len (NULL/0 if it gave none), borrowed until raft_future_free. The
 * outcome's error when it failed; RAFT_EINVAL for other futures. Either
 * out-parameter may be NULL. */
RAFT_API int raft_future_result(raft_future *future, const void **data, size_t *len, char **errmsg);
/* Frees the handle (not the operation: an unresolved command still runs).
 * Must not race with other calls on the same future. */
RAFT_API void raft_future_free(raft_future *future);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RAFT_RAFT_H */
