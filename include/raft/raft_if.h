/* libraft 2015 compatibility API: Raft consensus for a C program, with one
 * implicit node per process.
 *
 * This is the API of the 2015 libraft, unchanged: a program written against
 * it compiles (C99, -Wall -Werror -pedantic) and links (-lraft) as it did.
 * The 2015 library ran Hashicorp's Go Raft in a child process over shared
 * memory; the engine now runs in-process (a thin adapter over raft/raft.h),
 * so the shared-memory options are accepted and ignored. New programs
 * should use raft/raft.h (several nodes per process, explicit handles) or
 * raft/raft.hpp; docs/migrating-from-2015.md compares them.
 *
 * Conventions:
 *
 * 1. One node per process. raft_init() starts it; raft_shutdown() stops
 *    it; raft_cleanup() frees what is left, after which raft_init() may
 *    start a node again. Every other call before raft_init() fails with
 *    RAFT_E_INVALID_OP (or returns 0 / false / RAFT_INVALID_STATE).
 * 2. Threads. Every function may be called from any thread. The FSM's
 *    callbacks (struct raft_fsm) run on the library's apply thread, one at
 *    a time, in log order, so an FSM needs no locks for its own state. Do
 *    not wait on a future inside a callback: the apply thread would wait
 *    for itself.
 * 3. Futures. A call that returns a raft_future never blocks and never
 *    returns NULL (except when memory is exhausted); an error that happens
 *    at once is reported by the future. Every future must be released with
 *    raft_future_dispose(), resolved or not.
 * 4. Ownership. Command buffers (alloc_raft_buffer) stay the caller's: the
 *    library copies the bytes, and the caller frees the buffer with
 *    free_raft_buffer() after the future completes. The value an FSM's
 *    apply() returns passes to whoever takes it with
 *    raft_future_get_fsm_reply(); values of entries applied without a
 *    waiting future (on followers, or after a restart) are dropped, so an
 *    FSM that allocates them leaks on followers: return a pointer to
 *    shared state, or encode a small value in the pointer itself.
 * 5. Errors. RaftError codes, RAFT_SUCCESS (0) on success; raft_err_msg()
 *    describes each. Failures of raft_init() are explained on stderr.
 * 6. Nodes and addresses. A node listens on listen_port and is known to
 *    the others as 127.0.0.1:PORT when every peer is on this host, or by
 *    the address this host uses to reach them otherwise. "localhost" and
 *    127.0.0.1 name the same node. Server ids are derived from the
 *    normalized address, identically on every node; every node bootstraps
 *    the configuration of itself plus its peers, once (a restarted node
 *    keeps the configuration in its store).
 */
#ifndef RAFT_IF_H
#define RAFT_IF_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "raft_defs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct raft_fsm RaftFSM;
typedef void* raft_future;

/* ---- Top half: the client side ---------------------------------------- */

/* Starts this process's node with `fsm` (borrowed: it must stay valid until
 * raft_cleanup()) and `cfg` (copied). Opens or creates the store, listens
 * on cfg->listen_port, bootstraps the cluster of this node plus cfg->peers
 * when the store is new, and returns without waiting for an election.
 * Returns getpid() (the 2015 library returned its child's pid), or -1 with
 * the reason on stderr: bad configuration (a partial set of TLS files
 * included), port in use, damaged store, or a node already running. */
pid_t raft_init(RaftFSM *fsm, const RaftConfig *cfg);

/* Fills cfg with the defaults (see raft_defs.h and
 * docs/migrating-from-2015.md). */
void  raft_default_config(RaftConfig *cfg);

/* Shuts the node down if it is still running (blocking) and frees the
 * library's state. Futures not yet disposed stay valid until disposed. */
void  raft_cleanup(void);

/* getopt_long support for the library's own options:
 *   --shm-path=ARG  --shm-size=ARG (k/M/G suffixes)  --backend-type=ARG
 *   --dir=ARG  --port=ARG  --single  --peers=HOST:PORT,...  --verbose
 * and, added since 2015 (after those, so the 2015 vals are unchanged):
 *   --tls-ca=FILE  --tls-cert=FILE  --tls-key=FILE  --tls-verify-peer-id
 * mutual TLS between the nodes (PEM files: the cluster's CA, this node's
 * certificate and its key; all three or none), and the check that a
 * peer's certificate names the server id it claims
 * (docs/migrating-from-2015.md). These are not RaftConfig fields, whose
 * layout is 2015's: raft_apply_option keeps them for the process's one
 * node, and raft_init uses them whichever RaftConfig it is given (an
 * empty FILE unsets one; raft_default_config leaves them as they are).
 * The array is terminated, as in 2015, by an entry whose name is the empty
 * string; an all-zero entry follows it, so the array may also be passed to
 * getopt_long() as it is. The vals are above 255 and never collide with
 * short options. Static storage: never free it. */
const struct option* raft_getopt_long_opts(void);

/* Whether getopt_long's return value is one of the options above. */
bool is_raft_option(int optval);

/* Applies one option (its val and its argument, NULL for flags) to cfg
 * (or, for the TLS options, beside it, see above). Returns 0, or -1 after
 * printing the reason on stderr (unknown option, bad number, value too
 * long for its field, a TLS file that cannot be read). */
int raft_apply_option(RaftConfig *cfg, int option, const char* arg);

/* Whether this node is the leader now. Non-blocking. */
bool raft_is_leader(void);

/* Applies a command and waits for the result: raft_apply() followed by
 * raft_future_wait() and raft_future_get_fsm_reply() into *res (which may
 * be NULL to discard the reply). Blocks. */
RaftError raft_apply_sync(char* cmd, size_t cmd_len, uint64_t timeout_ns,
                          void **res);

/* Submits a command (cmd_len bytes at cmd, copied; the caller keeps cmd).
 * The future resolves once the command is committed and applied here,
 * with the FSM's reply; or with RAFT_E_NOT_LEADER (certainly not applied),
 * RAFT_E_LEADERSHIP_LOST or RAFT_E_ENQUEUE_TIMEOUT (may still commit),
 * RAFT_E_SHUTDOWN. timeout_ns 0: no timeout. */
raft_future raft_apply(char* cmd, size_t cmd_len, uint64_t timeout_ns);

/* Resolves once every command submitted before it has been applied. */
raft_future raft_barrier(uint64_t timeout_ns);

/* Resolves with RAFT_SUCCESS once a majority confirms this node leads. */
raft_future raft_verify_leader(void);

/* This node's role; RAFT_INVALID_STATE when no node was started. */
RaftState   raft_state(void);

/* Wall-clock time of the last contact with a leader (now, on the leader);
 * 0 when no node runs or no leader was heard from yet. */
time_t      raft_last_contact(void);

/* The index of the last entry in this node's log (or of its snapshot). */
RaftIndex   raft_last_index(void);

/* The leader's address ("127.0.0.1:9001") in *buf, allocated with
 * alloc_raft_buffer(): the caller frees it with free_raft_buffer().
 * RAFT_E_UNKNOWN_PEER (and *buf untouched) when no leader is known. */
RaftError   raft_leader(char** buf);

/* Takes a snapshot of the FSM now (begin_snapshot is called on the apply
 * thread). Resolves once it is durable; RAFT_SUCCESS also when nothing
 * was applied since the newest snapshot, which then holds every entry. */
raft_future raft_snapshot(void);

/* Membership (leader only): adds or removes the node at host:port, whose
 * server id is derived from the normalized address (convention 6). Both
 * resolve once the new configuration is committed (an added node first
 * catches up as a non-voter), or with RAFT_E_ENQUEUE_TIMEOUT after 60 s.
 * RAFT_E_KNOWN_PEER / RAFT_E_UNKNOWN_PEER when the node already is / is
 * not a member; RAFT_E_NOT_LEADER on followers; RAFT_E_INVALID_ADDRESS or
 * RAFT_E_RESOLVE for a bad host. */
raft_future raft_add_peer(const char *host, uint16_t port);
raft_future raft_remove_peer(const char *host, uint16_t port);

/* The node's statistics; read them with raft_future_get_stats(). */
raft_future raft_stats(void);

/* Stops the node: pending futures fail with RAFT_E_SHUTDOWN. Resolves
 * once every library thread has stopped. Idempotent. */
raft_future raft_shutdown(void);

/* Waits for the future; returns its outcome. */
RaftError raft_future_wait(raft_future f);
/* Whether the future is resolved. Non-blocking. */
bool      raft_future_poll(raft_future f);
/* Waits at most wait_ms milliseconds; whether the future is resolved. */
bool      raft_future_wait_for(raft_future f, uint64_t wait_ms);
/* Waits, then stores the FSM's reply of an apply future in *value_ptr
 * (NULL for other futures and failed applies). The reply is the caller's
 * (convention 4). Returns the future's outcome. */
RaftError raft_future_get_fsm_reply(raft_future f, void **value_ptr);
/* Waits, then stores the statistics of a raft_stats() future in
 * *value_ptr: a JSON object of string values ({"state":"Leader",...},
 * like Hashicorp's Stats()), owned by the future (valid until
 * raft_future_dispose). Returns the future's outcome. */
RaftError raft_future_get_stats(raft_future f, const char **value_ptr);
/* Prints statistics (the JSON of raft_future_get_stats) on stdout: a
 * "Raft stats:" line, then one "  name  value" line per statistic, sorted
 * by name, the values aligned. Other text is printed as it is. */
void      raft_print_stats(const char *stats);

/* Releases the future. Safe on a future still pending (its outcome is
 * then dropped) and on NULL. */
void raft_future_dispose(raft_future f);


/* ---- Bottom half: the FSM side ---------------------------------------- */

typedef void* raft_snapshot_req;

/* AKA RaftFSM. Its callbacks run on the library's apply thread. */
struct raft_fsm {
    /* Applies a committed command (type RAFT_LOG_COMMAND; the library
     * handles the other entry types itself). cmd holds len bytes (a copy
     * the FSM may modify, valid during the call). The return value is the
     * reply handed to raft_future_get_fsm_reply() (convention 4). */
    void* (*apply)(uint64_t index, uint64_t term, RaftLogType type,
                   char *cmd, size_t len);
    /* Starts a snapshot of the state as it is now (between two applies).
     * Either write the state to the file `path` (now or from a thread of
     * your own, while applying goes on) and then call
     * raft_fsm_snapshot_complete(s, success); or capture the state in a
     * handle and call raft_fsm_take_snapshot(s, handle, func), and the
     * library writes it through func on a thread of its own. */
    void (*begin_snapshot)(const char *path, raft_snapshot_req s);
    /* Replaces the whole state with the snapshot in the file `path`
     * (written by begin_snapshot here or on another node). 0 on success;
     * anything else stops the node rather than let it run with a wrong
     * state. */
    int (*restore)(const char *path);
};

/* Ends the snapshot request s: success means the file given to
 * begin_snapshot now holds the complete state. Call once per request,
 * from any thread (not needed after raft_fsm_take_snapshot). */
void raft_fsm_snapshot_complete(raft_snapshot_req s, bool success);

/* Optional snapshot support. */

typedef void* raft_fsm_snapshot_handle;

/* Writes the state captured in handle to sink, returning 0 on success.
 * Must not close the sink. */
typedef int (*raft_fsm_snapshot_func)(raft_fsm_snapshot_handle handle, FILE* sink);

/* Completes the request req by calling f(h, sink) on a library thread
 * while applying continues; req then succeeds when f returns 0. f is
 * called exactly once for each call of raft_fsm_take_snapshot, also when
 * the node shuts down first (then with a sink that is thrown away), so f
 * may free h. Call from begin_snapshot or later, from any thread. */
void raft_fsm_take_snapshot(raft_snapshot_req req,
                            raft_fsm_snapshot_handle h,
                            raft_fsm_snapshot_func f);

/* Buffers for commands and for strings the library returns. NULL when
 * memory is exhausted; free_raft_buffer(NULL) does nothing. */
char* alloc_raft_buffer(size_t len);
void free_raft_buffer(const char* buf);

/* A static, human-readable message for every RaftError; a fallback
 * message for values that are not one. */
const char* raft_err_msg(RaftError err);

#ifdef __cplusplus
}
#endif

#endif /* RAFT_IF_H */
