/* One node on the in-memory network: every call of a running node,
 * futures of each kind, the completion callback, snapshots (and FSM
 * callbacks that fail), a user restore, the leader-change and log
 * callbacks, blocking calls refused inside callbacks, and every call after
 * shutdown. */
#include "capi_test.h"

/* ---- callbacks of the test ---- */

static atomic_int g_log_lines;
static atomic_int g_log_reentry_rc = -1; /* what a call from the log callback got */
static _Atomic(raft_node *) g_node;      /* the node under test, for callbacks */
static int source_read(void *user, void *buf, size_t cap, size_t *n, char **errmsg);

static void count_log(void *user, int level, const char *message) {
  (void)user;
  CHECK(level >= RAFT_LOG_DEBUG && level < RAFT_LOG_OFF);
  CHECK(message != NULL && strncmp(message, "node ", 5) == 0);
  atomic_fetch_add(&g_log_lines, 1);
  /* The log callback must not call into libraft: refused, not deadlocked. */
  raft_node *n = g_node;
  if (n) {
    int state = 0;
    char *em = NULL;
    atomic_store(&g_log_reentry_rc, raft_node_state(n, &state, &em));
    raft_free(em);
  }
}

static atomic_int g_leader_calls;
static atomic_ullong g_leader_seen;
static atomic_ullong g_leader_term;

static void on_leader(void *user, uint64_t leader_id, uint64_t term) {
  CHECK(user == &g_leader_calls);
  atomic_fetch_add(&g_leader_calls, 1);
  atomic_store(&g_leader_seen, leader_id);
  atomic_store(&g_leader_term, term);
}

static atomic_int g_results_freed;

static void count_free(void *p) {
  atomic_fetch_add(&g_results_freed, 1);
  free(p);
}

/* What the probes inside apply saw (set on the apply thread). */
static atomic_int g_probe_shutdown_rc = -1, g_probe_bootstrap_rc = -1, g_probe_await_rc = -1;
static atomic_int g_probe_await_for_rc = -1, g_probe_state_rc = -1, g_probe_done = -1;
static atomic_int g_probe_restore_rc = -1, g_probe_start_rc = -1, g_probe_ran;
static atomic_int g_probe_reload_tls_rc = -1;

/* tfsm's apply, plus probes of what a callback may call. */
static void probing_apply(void *user, uint64_t index, uint64_t term, const void *data, size_t len,
                          void **result, size_t *result_len) {
  if (len == 5 && memcmp(data, "probe", 5) == 0) {
    raft_node *n = g_node;
    raft_future *f = NULL;
    raft_configuration *conf = raft_configuration_create();
    raft_config *cfg = raft_config_create();
    raft_node *other = NULL;
    int state = 0, done = -1;
    char *em = NULL;
    atomic_store(&g_probe_shutdown_rc, raft_node_shutdown(n, &em));
    raft_free(em);
    atomic_store(&g_probe_bootstrap_rc, raft_node_bootstrap(n, conf, &em));
    raft_free(em);
    atomic_store(&g_probe_restore_rc, raft_node_restore(n, 0, source_read, NULL, NULL));
    atomic_store(&g_probe_reload_tls_rc, raft_node_reload_tls(n, NULL));
    raft_fsm *fsm = raft_fsm_create(NULL, tfsm_apply, NULL, NULL, NULL, NULL);
    atomic_store(&g_probe_start_rc, raft_node_start(cfg, fsm, &other, NULL));
    raft_fsm_free(fsm);
    /* A barrier cannot resolve while this thread is busy here. */
    if (raft_node_barrier(n, 0, &f, NULL) == RAFT_OK) {
      atomic_store(&g_probe_await_rc, raft_future_await(f, &em));
      raft_free(em);
      atomic_store(&g_probe_await_for_rc, raft_future_await_for(f, 1, &done, NULL));
      atomic_store(&g_probe_done, done);
      raft_future_free(f);
    }
    atomic_store(&g_probe_state_rc, raft_node_state(n, &state, NULL));
    /* Does nothing from a callback (the node keeps running). */
    raft_node_free(n);
    raft_config_free(cfg);
    raft_configuration_free(conf);
    atomic_store(&g_probe_ran, 1);
  }
  tfsm_apply(user, index, term, data, len, result, result_len);
}

/* raft_node_apply_async's completion. */
typedef struct done_record {
  atomic_int calls;
  int code;
  uint64_t index;
  char message[128];
  char result[64];
} done_record;

static void on_done(void *user, int code, const char *message, uint64_t index, const void *result,
                    size_t result_len) {
  done_record *d = user;
  d->code = code;
  d->index = index;
  snprintf(d->message, sizeof d->message, "%s", message ? message : "");
  size_t n = result_len < sizeof d->result - 1 ? result_len : sizeof d->result - 1;
  if (result) memcpy(d->result, result, n);
  d->result[n] = '\0';
  atomic_fetch_add(&d->calls, 1); /* last: publishes the fields */
}

/* A restore source over bytes in memory, in small pieces. */
typedef struct source {
  const unsigned char *bytes;
  size_t size, at;
  int fail;
} source;

static int source_read(void *user, void *buf, size_t cap, size_t *n, char **errmsg) {
  source *s = user;
  if (s->fail) {
    *errmsg = strdup("backup unreadable (injected)");
    return RAFT_EIO;
  }
  size_t left = s->size - s->at, take = left < cap ? left : cap;
  if (take > 3) take = 3;
  memcpy(buf, s->bytes + s->at, take);
  s->at += take;
  *n = take;
  return RAFT_OK;
}

/* ---- the test ---- */

static raft_node *start_single(raft_network *net, tfsm *state, raft_fsm **fsm_out) {
  raft_config *c = memory_config(1, net);
  raft_fsm *fsm = raft_fsm_create(state, probing_apply, tfsm_snapshot, tfsm_persist, tfsm_release,
                                  tfsm_restore);
  raft_node *n = NULL;
  OK(raft_fsm_set_result_destructor(fsm, count_free, &em));
  OK(raft_config_set_log_level(c, RAFT_LOG_INFO, &em));
  OK(raft_config_set_log_callback(c, count_log, NULL, &em));
  OK(raft_node_start(c, fsm, &n, &em));
  raft_config_free(c); /* the node copied it */
  *fsm_out = fsm;
  return n;
}

static void test_before_bootstrap(raft_node *n) {
  raft_future *f = NULL;
  uint64_t leader = 99;
  char *address = (char *)"unchanged";
  OK(raft_node_leader(n, &leader, &address, &em));
  CHECK(leader == 0 && address == NULL);
  OK(raft_node_apply(n, "early", 5, 1000, &f, &em));
  ERR(RAFT_ENOTLEADER, "not leader", raft_future_await(f, &em));
  ERR(RAFT_ENOTLEADER, "not leader", raft_future_result(f, NULL, NULL, &em));
  ERR(RAFT_ENOTLEADER, "not leader", raft_future_index(f, &leader, &em));
  raft_future_free(f);
  uint64_t ms = 0;
  OK(raft_node_last_contact_ms(n, &ms, &em));
  CHECK(ms == UINT64_MAX);
}

static void test_queries(raft_node *n) {
  uint64_t u = 0, last = 0, commit = 0, applied = 0;
  char *s = NULL;
  CHECK(node_state(n) == RAFT_STATE_LEADER);
  OK(raft_node_id(n, &u, &em));
  CHECK(u == 1);
  OK(raft_node_leader(n, &u, &s, &em));
  CHECK(u == 1 && strcmp(s, "mem:1") == 0);
  raft_free(s);
  OK(raft_node_leader(n, NULL, NULL, &em));
  OK(raft_node_address(n, &s, &em));
  CHECK(strcmp(s, "mem:1") == 0);
  raft_free(s);
  CHECK(node_term(n) >= 1);
  /* Commit then last: each only grows, so last >= commit holds across
   * the two reads. (The applied index is the apply thread's and may run
   * a moment ahead of the published commit index.) */
  OK(raft_node_commit_index(n, &commit, &em));
  OK(raft_node_last_index(n, &last, &em));
  OK(raft_node_applied_index(n, &applied, &em));
  CHECK(last >= commit && commit >= 1 && applied >= 1);
  OK(raft_node_last_contact_ms(n, &u, &em));
  CHECK(u == 0); /* the leader */

  OK(raft_node_stats(n, &s, &em));
  CHECK(s[0] == '{' && s[strlen(s) - 1] == '}');
  CHECK(strstr(s, "\"state\":\"Leader\"") != NULL);
  CHECK(strstr(s, "\"term\":\"") != NULL);
  CHECK(strstr(s, "\"applied_index\":\"") != NULL);
  raft_free(s);

  raft_configuration *conf = NULL;
  size_t count = 0;
  const char *address = NULL;
  int voter = 0;
  OK(raft_node_configuration(n, &conf, &em));
  OK(raft_configuration_count(conf, &count, &em));
  CHECK(count == 1);
  OK(raft_configuration_get(conf, 0, &u, &address, &voter, &em));
  CHECK(u == 1 && strcmp(address, "mem:1") == 0 && voter == 1);
  raft_configuration_free(conf);
  OK(raft_node_committed_configuration(n, &conf, &em));
  OK(raft_configuration_count(conf, &count, &em));
  CHECK(count == 1);
  raft_configuration_free(conf);

  ERR(RAFT_EINVAL, "state is NULL", raft_node_state(n, NULL, &em));
  ERR(RAFT_EINVAL, "id is NULL", raft_node_id(n, NULL, &em));
  ERR(RAFT_EINVAL, "address is NULL", raft_node_address(n, NULL, &em));
  ERR(RAFT_EINVAL, "term is NULL", raft_node_term(n, NULL, &em));
  ERR(RAFT_EINVAL, "index is NULL", raft_node_last_index(n, NULL, &em));
  ERR(RAFT_EINVAL, "index is NULL", raft_node_commit_index(n, NULL, &em));
  ERR(RAFT_EINVAL, "index is NULL", raft_node_applied_index(n, NULL, &em));
  ERR(RAFT_EINVAL, "ms is NULL", raft_node_last_contact_ms(n, NULL, &em));
  ERR(RAFT_EINVAL, "json is NULL", raft_node_stats(n, NULL, &em));
  ERR(RAFT_EINVAL, "conf is NULL", raft_node_configuration(n, NULL, &em));
  ERR(RAFT_EINVAL, "conf is NULL", raft_node_committed_configuration(n, NULL, &em));

  /* No TLS on this node (nor on the memory transport): nothing to reload,
   * and the node goes on. */
  ERR(RAFT_EINVAL, "TLS", raft_node_reload_tls(n, &em));
  CHECK(node_state(n) == RAFT_STATE_LEADER);
}

static void test_commands(raft_node *n, tfsm *state) {
  raft_future *f = NULL;
  uint64_t index = 0, i2 = 0;
  const void *data = NULL;
  size_t len = 0;
  int done = 0;

  index = apply_ok(n, "x=1");
  CHECK(tfsm_applied(state) == 1);
  i2 = apply_ok(n, "x=2");
  CHECK(i2 > index);

  /* An empty command: data may be NULL when len is 0. */
  OK(raft_node_apply(n, NULL, 0, 0, &f, &em));
  OK(raft_future_await(f, &em));
  OK(raft_future_result(f, &data, &len, &em));
  CHECK(len == 3 && memcmp(data, "ok:", 3) == 0);
  raft_future_free(f);

  /* The result lives until raft_future_free, then its destructor runs. */
  int freed = atomic_load(&g_results_freed);
  OK(raft_node_apply(n, "keep", 4, 0, &f, &em));
  OK(raft_future_status(f, &em));
  OK(raft_future_ready(f, &done, &em));
  CHECK(done == 1);
  OK(raft_future_await_for(f, 0, &done, &em));
  CHECK(done == 1);
  OK(raft_future_result(f, &data, NULL, &em));
  CHECK(memcmp(data, "ok:keep", 7) == 0);
  raft_future_free(f);
  WAIT_UNTIL(atomic_load(&g_results_freed) >= freed + 1, 2000);

  /* Argument errors of apply. */
  ERR(RAFT_EINVAL, "data is NULL", raft_node_apply(n, NULL, 3, 0, &f, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_node_apply(n, "x", 1, 0, NULL, &em));
  ERR(RAFT_EINVAL, "done is NULL", raft_node_apply_async(n, "x", 1, 0, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "data is NULL", raft_node_apply_async(n, NULL, 1, 0, on_done, NULL, &em));

  /* The completion callback. */
  done_record d;
  memset(&d, 0, sizeof d);
  OK(raft_node_apply_async(n, "async=1", 7, 5000, on_done, &d, &em));
  WAIT_UNTIL(atomic_load(&d.calls) == 1, 5000);
  CHECK(d.code == RAFT_OK && d.index > i2 && strcmp(d.result, "ok:async=1") == 0 && d.message[0] == '\0');
  char last[64];
  tfsm_last(state, last, sizeof last);
  CHECK(strcmp(last, "async=1") == 0);

  /* Barrier: no index, no result. */
  OK(raft_node_barrier(n, 5000, &f, &em));
  OK(raft_future_await(f, &em));
  ERR(RAFT_EINVAL, "no index", raft_future_index(f, &index, &em));
  ERR(RAFT_EINVAL, "FSM result", raft_future_result(f, &data, &len, &em));
  raft_future_free(f);
  ERR(RAFT_EINVAL, "future is NULL", raft_node_barrier(n, 0, NULL, &em));

  /* Verify leader and read index. */
  OK(raft_node_verify_leader(n, &f, &em));
  OK(raft_future_await(f, &em));
  ERR(RAFT_EINVAL, "no index", raft_future_index(f, &index, &em));
  raft_future_free(f);
  ERR(RAFT_EINVAL, "future is NULL", raft_node_verify_leader(n, NULL, &em));
  uint64_t applied = 0;
  OK(raft_node_read_index(n, 5000, &f, &em));
  OK(raft_future_index(f, &index, &em));
  OK(raft_node_applied_index(n, &applied, &em));
  CHECK(index >= d.index && applied >= index);
  ERR(RAFT_EINVAL, "FSM result", raft_future_result(f, &data, &len, &em));
  ERR(RAFT_EINVAL, "index is NULL", raft_future_index(f, NULL, &em));
  ERR(RAFT_EINVAL, "done is NULL", raft_future_ready(f, NULL, &em));
  ERR(RAFT_EINVAL, "done is NULL", raft_future_await_for(f, 1, NULL, &em));
  raft_future_free(f);
  ERR(RAFT_EINVAL, "future is NULL", raft_node_read_index(n, 0, NULL, &em));

  /* Bootstrap again: the node has state. */
  raft_configuration *conf = raft_configuration_create();
  OK(raft_configuration_add(conf, 1, "mem:1", 1, &em));
  ERR(RAFT_EEXISTS, NULL, raft_node_bootstrap(n, conf, &em));
  ERR(RAFT_EINVAL, "conf is NULL", raft_node_bootstrap(n, NULL, &em));
  raft_configuration_free(conf);
}

static void test_callbacks_refuse_blocking(raft_node *n) {
  raft_future *f = NULL;
  OK(raft_node_apply(n, "probe", 5, 5000, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  CHECK(atomic_load(&g_probe_ran) == 1);
  CHECK(atomic_load(&g_probe_shutdown_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_bootstrap_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_restore_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_reload_tls_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_start_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_await_rc) == RAFT_EINVAL);
  CHECK(atomic_load(&g_probe_await_for_rc) == RAFT_OK);
  CHECK(atomic_load(&g_probe_done) == 0);
  CHECK(atomic_load(&g_probe_state_rc) == RAFT_OK);
  /* raft_node_free from the callback did nothing. */
  CHECK(node_state(n) == RAFT_STATE_LEADER);
  apply_ok(n, "still-alive");
}

static void test_snapshots(raft_node *n, tfsm *state) {
  raft_future *f = NULL;
  uint64_t index = 0, applied = 0;
  OK(raft_node_snapshot(n, &f, &em));
  OK(raft_future_index(f, &index, &em));
  OK(raft_node_applied_index(n, &applied, &em));
  CHECK(index > 0 && index <= applied);
  raft_future_free(f);
  CHECK(atomic_load(&state->snapshots) == 1 && atomic_load(&state->persists) == 1);
  WAIT_UNTIL(atomic_load(&state->releases) == 1, 2000);

  /* Nothing applied since: aborted. */
  OK(raft_node_snapshot(n, &f, &em));
  ERR(RAFT_EABORTED, "nothing was applied", raft_future_await(f, &em));
  raft_future_free(f);

  /* The FSM refuses to snapshot: the error and message come back. */
  apply_ok(n, "y=1");
  atomic_store(&state->fail_snapshot, 1);
  OK(raft_node_snapshot(n, &f, &em));
  ERR(RAFT_EIO, "snapshot refused (injected)", raft_future_await(f, &em));
  raft_future_free(f);
  atomic_store(&state->fail_snapshot, 0);
  CHECK(atomic_load(&state->releases) == 1); /* no view, nothing to release */

  /* persist fails: the view is still released, exactly once. */
  atomic_store(&state->fail_persist, 1);
  OK(raft_node_snapshot(n, &f, &em));
  ERR(RAFT_EIO, "disk full (injected)", raft_future_await(f, &em));
  raft_future_free(f);
  atomic_store(&state->fail_persist, 0);
  WAIT_UNTIL(atomic_load(&state->releases) == 2, 2000);

  /* And it works again. */
  OK(raft_node_snapshot(n, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  WAIT_UNTIL(atomic_load(&state->releases) == 3, 2000);
  ERR(RAFT_EINVAL, "future is NULL", raft_node_snapshot(n, NULL, &em));
}

static void test_user_restore(raft_node *n, tfsm *state) {
  tfsm_view v;
  memset(&v, 0, sizeof v);
  v.applied = 1000;
  v.digest = 42;
  v.last_index = 0;
  snprintf(v.last, sizeof v.last, "from-backup");
  source src = {(const unsigned char *)&v, sizeof v, 0, 0};
  int restores = atomic_load(&state->restores);
  OK(raft_node_restore(n, 5000, source_read, &src, &em));
  CHECK(atomic_load(&state->restores) == restores + 1);
  CHECK(tfsm_applied(state) == 1000 && tfsm_digest(state) == 42);
  char last[64];
  tfsm_last(state, last, sizeof last);
  CHECK(strcmp(last, "from-backup") == 0);
  /* Commands go on after the restored state. */
  apply_ok(n, "after-restore");
  CHECK(tfsm_applied(state) == 1001);

  /* The source fails: its code and message come back. */
  source bad = {(const unsigned char *)&v, sizeof v, 0, 1};
  ERR(RAFT_EIO, "backup unreadable (injected)", raft_node_restore(n, 5000, source_read, &bad, &em));
  ERR(RAFT_EINVAL, "read is NULL", raft_node_restore(n, 5000, NULL, NULL, &em));

  /* The FSM refuses the snapshot: the node stops rather than run with a
   * wrong state (docs/snapshots.md). Done last, on a node of its own. */
}

static void test_after_shutdown(raft_node *n, raft_future *old) {
  raft_future *f = NULL;
  raft_configuration *conf = raft_configuration_create();
  uint64_t u = 0;
  int i = 0;
  char *s = NULL;
  OK(raft_node_shutdown(n, &em));
  OK(raft_node_shutdown(n, &em)); /* idempotent */
  CHECK(node_state(n) == RAFT_STATE_SHUTDOWN);
  OK(raft_node_id(n, &u, &em));
  CHECK(u == 1);
  ERR(RAFT_ESHUTDOWN, "node 1 is shut down", raft_node_apply(n, "x", 1, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_apply_async(n, "x", 1, 0, on_done, NULL, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_bootstrap(n, conf, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_barrier(n, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_verify_leader(n, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_read_index(n, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_leader(n, &u, &s, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_address(n, &s, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_term(n, &u, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_last_index(n, &u, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_commit_index(n, &u, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_applied_index(n, &u, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_last_contact_ms(n, &u, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_stats(n, &s, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_configuration(n, &conf, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_committed_configuration(n, &conf, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_add_voter(n, 2, "mem:2", 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_add_nonvoter(n, 2, "mem:2", 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_remove_server(n, 2, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_demote_voter(n, 2, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_change_configuration(n, conf, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_transfer_leadership(n, 0, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_snapshot(n, &f, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_restore(n, 0, source_read, NULL, &em));
  ERR(RAFT_ESHUTDOWN, NULL, raft_node_set_leader_callback(n, NULL, NULL, &em));
  ERR(RAFT_ESHUTDOWN, "node 1 is shut down", raft_node_reload_tls(n, &em));
  CHECK(f == NULL && i == 0);
  raft_configuration_free(conf);
  g_node = NULL;
  raft_node_free(n);
  /* A future outlives its node. */
  const void *data = NULL;
  size_t len = 0;
  OK(raft_future_result(old, &data, &len, &em));
  CHECK(len == 6 && memcmp(data, "ok:old", 6) == 0);
  raft_future_free(old);
}

/* An FSM with apply only: snapshots are unsupported. */
static void test_fsm_without_snapshots(void) {
  raft_network *net = raft_network_create(3);
  raft_config *c = memory_config(1, net);
  tfsm state;
  tfsm_init(&state);
  raft_fsm *fsm = raft_fsm_create(&state, tfsm_apply, NULL, NULL, NULL, NULL);
  raft_node *n = NULL;
  raft_future *f = NULL;
  raft_configuration *conf = raft_configuration_create();
  OK(raft_configuration_add(conf, 1, "mem:1", 1, &em));
  OK(raft_node_start(c, fsm, &n, &em));
  OK(raft_node_bootstrap(n, conf, &em));
  WAIT_UNTIL(node_state(n) == RAFT_STATE_LEADER, 5000);
  apply_ok(n, "a");
  OK(raft_node_snapshot(n, &f, &em));
  ERR(RAFT_EUNSUPPORTED, "no snapshot callback", raft_future_await(f, &em));
  raft_future_free(f);
  raft_node_free(n);
  raft_configuration_free(conf);
  raft_fsm_free(fsm);
  raft_config_free(c);
  raft_network_free(net);
  tfsm_destroy(&state);
}

int main(void) {
  raft_network *net = raft_network_create(1);
  tfsm state;
  raft_fsm *fsm = NULL;
  tfsm_init(&state);
  raft_node *n = start_single(net, &state, &fsm);
  g_node = n;
  raft_fsm_free(fsm); /* the node copied the callbacks */
  raft_network_free(net); /* the node keeps the network alive */

  OK(raft_node_set_leader_callback(n, on_leader, &g_leader_calls, &em));
  test_before_bootstrap(n);

  raft_configuration *conf = raft_configuration_create();
  OK(raft_configuration_add(conf, 1, "mem:1", 1, &em));
  OK(raft_node_bootstrap(n, conf, &em));
  raft_configuration_free(conf);
  WAIT_UNTIL(node_state(n) == RAFT_STATE_LEADER, 5000);
  WAIT_UNTIL(atomic_load(&g_leader_seen) == 1, 5000);
  CHECK(atomic_load(&g_leader_term) == node_term(n));
  CHECK(atomic_load(&g_log_lines) > 0);
  CHECK(atomic_load(&g_log_reentry_rc) == RAFT_EINVAL);

  /* A new leader's first entry commits a moment after it is elected. */
  raft_future *settle = NULL;
  OK(raft_node_barrier(n, 5000, &settle, &em));
  OK(raft_future_await(settle, &em));
  raft_future_free(settle);

  test_queries(n);
  test_commands(n, &state);
  test_callbacks_refuse_blocking(n);
  test_snapshots(n, &state);
  test_user_restore(n, &state);

  /* Removing the leader callback: no more calls. */
  OK(raft_node_set_leader_callback(n, NULL, NULL, &em));

  raft_future *old = NULL;
  OK(raft_node_apply(n, "old", 3, 0, &old, &em));
  OK(raft_future_await(old, &em));
  test_after_shutdown(n, old);
  tfsm_destroy(&state);

  test_fsm_without_snapshots();
  printf("node_test: OK\n");
  return 0;
}
