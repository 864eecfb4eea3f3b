/* Helpers of the C API tests (C11 + POSIX): checks that print the library's
 * message, polling with a deadline (never a sleep that waits for a
 * condition), a small replicated FSM and node/cluster builders.
 *
 * The tests include only the public header raft/raft.h and link only the
 * installed libraft. Each test program runs its cases in order and exits
 * non-zero at the first failed check. */
#ifndef RAFT_CAPI_TEST_H
#define RAFT_CAPI_TEST_H

#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "raft/raft.h"

/* ---- checks ---- */

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Runs `call`, which passes &em as its errmsg, and expects RAFT_OK (and
 * em NULL). */
#define OK(call)                                                                 \
  do {                                                                           \
    char *em = NULL;                                                             \
    int rc_ = (call);                                                            \
    if (rc_ != RAFT_OK || em != NULL) {                                          \
      fprintf(stderr, "%s:%d: %s\n  returned %d (%s): %s\n", __FILE__, __LINE__, \
              #call, rc_, raft_strerror(rc_), em ? em : "(no message)");         \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* Expects error `code` with a message containing `part` (NULL: any). */
#define ERR(code, part, call)                                                    \
  do {                                                                           \
    char *em = NULL;                                                             \
    int rc_ = (call);                                                            \
    const char *part_ = (part);                                                  \
    if (rc_ != (code) || em == NULL || (part_ && !strstr(em, part_))) {          \
      fprintf(stderr, "%s:%d: %s\n  returned %d (%s): %s\n  wanted %d (%s)%s%s\n", \
              __FILE__, __LINE__, #call, rc_, raft_strerror(rc_),                \
              em ? em : "(no message)", (code), raft_strerror(code),             \
              part_ ? " with a message containing " : "", part_ ? part_ : "");   \
      exit(1);                                                                   \
    }                                                                            \
    raft_free(em);                                                               \
  } while (0)

/* ---- time: polling with a deadline ---- */

static inline uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The polling interval of WAIT_UNTIL (not a wait for a condition). */
static inline void poll_pause(void) {
  struct timespec ts = {0, 2 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

/* Polls `cond` until it holds, failing the test after `limit_ms`. */
#define WAIT_UNTIL(cond, limit_ms)                                               \
  do {                                                                           \
    uint64_t deadline_ = now_ms() + (limit_ms);                                  \
    while (!(cond)) {                                                            \
      if (now_ms() > deadline_) {                                                \
        fprintf(stderr, "%s:%d: timed out waiting for %s\n", __FILE__, __LINE__, \
                #cond);                                                          \
        exit(1);                                                                 \
      }                                                                          \
      poll_pause();                                                              \
    }                                                                            \
  } while (0)

/* ---- a test FSM: a register of every command applied ----
 *
 * The state is the number of commands applied, a digest of them in order
 * and the last one. apply returns "ok:<command>" (malloc'd). Snapshot,
 * persist and restore can be told to fail. */

typedef struct tfsm {
  pthread_mutex_t mu;
  uint64_t applied;    /* commands applied */
  uint64_t digest;     /* FNV-1a over every command, in order */
  uint64_t last_index; /* index of the last command applied */
  char last[64];       /* the last command, NUL-terminated, truncated */
  /* failure injection (set before the callback runs) */
  atomic_int fail_snapshot, fail_persist, fail_restore;
  /* counters */
  atomic_int snapshots, persists, releases, restores, results_freed;
} tfsm;

/* The view a snapshot takes: a copy of the state. */
typedef struct tfsm_view {
  uint64_t applied, digest, last_index;
  char last[64];
} tfsm_view;

static inline void tfsm_init(tfsm *f) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  f->digest = 1469598103934665603ULL;
}

static inline void tfsm_destroy(tfsm *f) { pthread_mutex_destroy(&f->mu); }

static inline uint64_t tfsm_applied(tfsm *f) {
  pthread_mutex_lock(&f->mu);
  uint64_t n = f->applied;
  pthread_mutex_unlock(&f->mu);
  return n;
}

static inline uint64_t tfsm_digest(tfsm *f) {
  pthread_mutex_lock(&f->mu);
  uint64_t d = f->digest;
  pthread_mutex_unlock(&f->mu);
  return d;
}

static inline void tfsm_last(tfsm *f, char *out, size_t cap) {
  pthread_mutex_lock(&f->mu);
  snprintf(out, cap, "%s", f->last);
  pthread_mutex_unlock(&f->mu);
}

static inline void tfsm_apply(void *user, uint64_t index, uint64_t term, const void *data,
                              size_t len, void **result, size_t *result_len) {
  tfsm *f = user;
  const unsigned char *p = data;
  (void)term;
  pthread_mutex_lock(&f->mu);
  f->applied++;
  for (size_t i = 0; i < len; i++) f->digest = (f->digest ^ p[i]) * 1099511628211ULL;
  f->digest = (f->digest ^ 0xff) * 1099511628211ULL;
  f->last_index = index;
  size_t n = len < sizeof f->last - 1 ? len : sizeof f->last - 1;
  memcpy(f->last, data, n);
  f->last[n] = '\0';
  pthread_mutex_unlock(&f->mu);
  char *r = malloc(len + 3);
  if (!r) return;
  memcpy(r, "ok:", 3);
  memcpy(r + 3, data, len);
  *result = r;
  *result_len = len + 3;
}

static inline int tfsm_snapshot(void *user, void **snapshot, char **errmsg) {
  tfsm *f = user;
  if (atomic_load(&f->fail_snapshot)) {
    *errmsg = strdup("snapshot refused (injected)");
    return RAFT_EIO;
  }
  tfsm_view *v = malloc(sizeof *v);
  if (!v) return RAFT_EINTERNAL;
  pthread_mutex_lock(&f->mu);
  v->applied = f->applied;
  v->digest = f->digest;
  v->last_index = f->last_index;
  memcpy(v->last, f->last, sizeof v->last);
  pthread_mutex_unlock(&f->mu);
  atomic_fetch_add(&f->snapshots, 1);
  *snapshot = v;
  return RAFT_OK;
}

static inline int tfsm_persist(void *user, void *snapshot, raft_snapshot_writer *writer,
                               char **errmsg) {
  tfsm *f = user;
  const unsigned char *bytes = snapshot;
  atomic_fetch_add(&f->persists, 1);
  if (atomic_load(&f->fail_persist)) {
    *errmsg = strdup("disk full (injected)");
    return RAFT_EIO;
  }
  /* In three pieces, as a large state would be written. */
  size_t size = sizeof(tfsm_view), a = 5, b = 17;
  int rc = raft_snapshot_writer_write(writer, bytes, a, errmsg);
  if (rc == RAFT_OK) rc = raft_snapshot_writer_write(writer, bytes + a, b, errmsg);
  if (rc == RAFT_OK) rc = raft_snapshot_writer_write(writer, bytes + a + b, size - a - b, errmsg);
  return rc;
}

static inline void tfsm_release(void *user, void *snapshot) {
  tfsm *f = user;
  atomic_fetch_add(&f->releases, 1);
  free(snapshot);
}

static inline int tfsm_restore(void *user, raft_snapshot_reader *reader, char **errmsg) {
  tfsm *f = user;
  tfsm_view v;
  size_t have = 0;
  for (;;) {
    unsigned char buf[7]; /* small reads: the reader must handle any size */
    size_t n = 0;
    int rc = raft_snapshot_reader_read(reader, buf, sizeof buf, &n, errmsg);
    if (rc != RAFT_OK) return rc;
    if (n == 0) break;
    if (have + n > sizeof v) {
      *errmsg = strdup("snapshot larger than a tfsm_view");
      return RAFT_ECORRUPTION;
    }
    memcpy((unsigned char *)&v + have, buf, n);
    have += n;
  }
  if (atomic_load(&f->fail_restore)) {
    *errmsg = strdup("restore refused (injected)");
    return RAFT_ECORRUPTION;
  }
  if (have != sizeof v) {
    *errmsg = strdup("snapshot shorter than a tfsm_view");
    return RAFT_ECORRUPTION;
  }
  pthread_mutex_lock(&f->mu);
  f->applied = v.applied;
  f->digest = v.digest;
  f->last_index = v.last_index;
  memcpy(f->last, v.last, sizeof f->last);
  pthread_mutex_unlock(&f->mu);
  atomic_fetch_add(&f->restores, 1);
  return RAFT_OK;
}

static inline raft_fsm *tfsm_handle(tfsm *f) {
  raft_fsm *h = raft_fsm_create(f, tfsm_apply, tfsm_snapshot, tfsm_persist, tfsm_release,
                                tfsm_restore);
  CHECK(h != NULL);
  return h;
}

/* ---- nodes ---- */

/* Fast timing for tests on one machine. */
static inline void set_fast_timing(raft_config *c) {
  OK(raft_config_set_heartbeat_interval_ms(c, 20, &em));
  OK(raft_config_set_election_timeout_ms(c, 400, &em));
  OK(raft_config_set_leader_lease_timeout_ms(c, 400, &em));
  OK(raft_config_set_commit_timeout_ms(c, 5, &em));
  OK(raft_config_set_cluster_id(c, "capi-test", &em));
  OK(raft_config_set_log_level(c, RAFT_LOG_WARN, &em));
}

/* A config for node `id` on the in-memory network with the memory store;
 * its address is "mem:<id>". */
static inline raft_config *memory_config(uint64_t id, raft_network *net) {
  raft_config *c = raft_config_create();
  char addr[32];
  CHECK(c != NULL);
  snprintf(addr, sizeof addr, "mem:%llu", (unsigned long long)id);
  OK(raft_config_set_id(c, id, &em));
  OK(raft_config_set_transport(c, "memory", &em));
  OK(raft_config_set_memory_network(c, net, &em));
  OK(raft_config_set_advertise_address(c, addr, &em));
  OK(raft_config_set_store(c, "memory", &em));
  set_fast_timing(c);
  return c;
}

/* A config for node `id` over TCP on 127.0.0.1 (bind: "127.0.0.1:0" or a
 * previous address) with the WAL in `dir`. */
static inline raft_config *tcp_config(uint64_t id, const char *bind, const char *dir) {
  raft_config *c = raft_config_create();
  CHECK(c != NULL);
  OK(raft_config_set_id(c, id, &em));
  OK(raft_config_set_transport(c, "tcp", &em));
  OK(raft_config_set_bind_address(c, bind, &em));
  OK(raft_config_set_store(c, "wal", &em));
  OK(raft_config_set_data_dir(c, dir, &em));
  set_fast_timing(c);
  return c;
}

/* Starts a node from c (freed here) with the test FSM f. On success
 * remembers the address it bound in addr (so that a restart reuses the
 * port); on failure sets *node to NULL. Returns raft_node_start's code,
 * its message in *errmsg. */
static inline int start_on_remembered_address(raft_config *c, tfsm *f, raft_node **node, char *addr,
                                              size_t addr_cap, char **errmsg) {
  raft_fsm *fsm = tfsm_handle(f);
  int rc = raft_node_start(c, fsm, node, errmsg);
  raft_fsm_free(fsm);
  raft_config_free(c);
  if (rc != RAFT_OK) {
    *node = NULL;
    return rc;
  }
  char *a = NULL;
  OK(raft_node_address(*node, &a, &em));
  snprintf(addr, addr_cap, "%s", a);
  raft_free(a);
  return rc;
}

static inline int node_state(raft_node *n) {
  int s = -1;
  OK(raft_node_state(n, &s, &em));
  return s;
}

static inline uint64_t node_leader_id(raft_node *n) {
  uint64_t id = 0;
  OK(raft_node_leader(n, &id, NULL, &em));
  return id;
}

static inline uint64_t node_term(raft_node *n) {
  uint64_t t = 0;
  OK(raft_node_term(n, &t, &em));
  return t;
}

/* The index of the one leader among nodes[0..count) that every other
 * live node (NULL entries are skipped) follows in the same term, or -1. */
static inline int agreed_leader(raft_node **nodes, int count) {
  int leader = -1;
  for (int i = 0; i < count; i++) {
    if (!nodes[i] || node_state(nodes[i]) != RAFT_STATE_LEADER) continue;
    if (leader >= 0) return -1;
    leader = i;
  }
  if (leader < 0) return -1;
  uint64_t id = 0, term = node_term(nodes[leader]);
  OK(raft_node_id(nodes[leader], &id, &em));
  for (int i = 0; i < count; i++) {
    if (!nodes[i] || i == leader) continue;
    if (node_leader_id(nodes[i]) != id || node_term(nodes[i]) != term) return -1;
  }
  return leader;
}

/* Waits (with a deadline) for an agreed leader; returns its index. */
static inline int wait_leader(raft_node **nodes, int count) {
  int leader = -1;
  WAIT_UNTIL((leader = agreed_leader(nodes, count)) >= 0, 8000);
  return leader;
}

/* Bootstraps one initial member. RAFT_EEXISTS is fine: the members
 * bootstrapped before it may already have elected a leader that reached
 * it (bootstrap is harmless on a node with state). */
static inline void bootstrap_member(raft_node *n, const raft_configuration *members) {
  char *em = NULL;
  int rc = raft_node_bootstrap(n, members, &em);
  if (rc != RAFT_OK && rc != RAFT_EEXISTS) {
    fprintf(stderr, "bootstrap: %s: %s\n", raft_strerror(rc), em ? em : "");
    exit(1);
  }
  raft_free(em);
}

/* Applies `cmd` on `n` and waits for it; checks the FSM's result. */
static inline uint64_t apply_ok(raft_node *n, const char *cmd) {
  raft_future *f = NULL;
  const void *data = NULL;
  size_t len = 0;
  uint64_t index = 0;
  OK(raft_node_apply(n, cmd, strlen(cmd), 5000, &f, &em));
  OK(raft_future_await(f, &em));
  OK(raft_future_result(f, &data, &len, &em));
  CHECK(len == strlen(cmd) + 3);
  CHECK(memcmp(data, "ok:", 3) == 0 && memcmp((const char *)data + 3, cmd, len - 3) == 0);
  OK(raft_future_index(f, &index, &em));
  CHECK(index > 0);
  raft_future_free(f);
  return index;
}

/* A fresh temporary directory (freed with rm_rf). */
static inline char *temp_dir(const char *name) {
  const char *base = getenv("TMPDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/raft-capi-%s-XXXXXX", base && *base ? base : "/tmp", name);
  char *dir = strdup(path);
  CHECK(dir != NULL && mkdtemp(dir) != NULL);
  return dir;
}

static inline void rm_rf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

#endif /* RAFT_CAPI_TEST_H */
