/* A replicated counter with the libraft C API: three nodes in one process
 * on the in-memory network, each with the same tiny state machine. The
 * program elects a leader, applies ten "add N" commands through it, reads
 * each command's result, and checks that every node reached the same
 * total. docs/c-api.md walks through it.
 *
 * Build: cc -std=c11 counter.c $(pkg-config --cflags --libs raft)
 * For separate machines, use transport "tcp" with bind addresses and the
 * "wal" store with a data_dir instead (see docs/c-api.md). */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <raft/raft.h>

/* ---- the state machine: a counter ---- */

struct counter {
  pthread_mutex_t mu; /* apply runs on the node's apply thread; main reads */
  int64_t total;
};

/* Applies "add N"; the result (for the submitting caller) is the new
 * total as text, malloc'd: the library frees it. */
static void counter_apply(void *user, uint64_t index, uint64_t term, const void *data, size_t len,
                          void **result, size_t *result_len) {
  struct counter *c = user;
  char cmd[32];
  long long n = 0;
  (void)index;
  (void)term;
  if (len >= sizeof cmd) return;
  memcpy(cmd, data, len);
  cmd[len] = '\0';
  if (sscanf(cmd, "add %lld", &n) != 1) return;
  pthread_mutex_lock(&c->mu);
  c->total += n;
  int64_t total = c->total;
  pthread_mutex_unlock(&c->mu);
  char *out = malloc(24);
  if (!out) return;
  *result_len = (size_t)snprintf(out, 24, "%" PRId64, total);
  *result = out;
}

/* Snapshots: the view is a copy of the total, written later as 8 bytes. */
static int counter_snapshot(void *user, void **snapshot, char **errmsg) {
  struct counter *c = user;
  int64_t *copy = malloc(sizeof *copy);
  (void)errmsg;
  if (!copy) return RAFT_EINTERNAL;
  pthread_mutex_lock(&c->mu);
  *copy = c->total;
  pthread_mutex_unlock(&c->mu);
  *snapshot = copy;
  return RAFT_OK;
}

static int counter_persist(void *user, void *snapshot, raft_snapshot_writer *writer, char **errmsg) {
  (void)user;
  return raft_snapshot_writer_write(writer, snapshot, sizeof(int64_t), errmsg);
}

static void counter_release(void *user, void *snapshot) {
  (void)user;
  free(snapshot);
}

static int counter_restore(void *user, raft_snapshot_reader *reader, char **errmsg) {
  struct counter *c = user;
  int64_t total = 0;
  size_t have = 0, n = 0;
  do {
    int rc = raft_snapshot_reader_read(reader, (char *)&total + have, sizeof total - have, &n, errmsg);
    if (rc != RAFT_OK) return rc;
    have += n;
  } while (n > 0 && have < sizeof total);
  pthread_mutex_lock(&c->mu);
  c->total = total;
  pthread_mutex_unlock(&c->mu);
  return RAFT_OK;
}

static int64_t counter_total(struct counter *c) {
  pthread_mutex_lock(&c->mu);
  int64_t t = c->total;
  pthread_mutex_unlock(&c->mu);
  return t;
}

/* ---- helpers ---- */

/* Prints a failed call's message, frees it, and exits. */
static void check(int rc, char *errmsg, const char *what) {
  if (rc == RAFT_OK) return;
  fprintf(stderr, "%s: %s: %s\n", what, raft_strerror(rc), errmsg ? errmsg : "");
  raft_free(errmsg);
  exit(1);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The node that is leader, polling up to 10 s (a short pause between
 * polls; never a sleep that guesses how long an election takes). */
static raft_node *find_leader(raft_node **nodes, int count) {
  uint64_t deadline = now_ms() + 10000;
  while (now_ms() < deadline) {
    for (int i = 0; i < count; i++) {
      int state = 0;
      if (raft_node_state(nodes[i], &state, NULL) == RAFT_OK && state == RAFT_STATE_LEADER)
        return nodes[i];
    }
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "no leader within 10 s\n");
  exit(1);
}

int main(void) {
  enum { kNodes = 3 };
  char *err = NULL;
  raft_network *net = raft_network_create(1);
  struct counter counters[kNodes];
  raft_node *nodes[kNodes];
  raft_configuration *members = raft_configuration_create();
  if (!net || !members) return 1;

  /* Every node of a new cluster starts with the same member list. */
  for (int i = 0; i < kNodes; i++) {
    char address[16];
    snprintf(address, sizeof address, "mem:%d", i + 1);
    check(raft_configuration_add(members, (uint64_t)i + 1, address, 1, &err), err, "add member");
  }

  for (int i = 0; i < kNodes; i++) {
    char address[16];
    snprintf(address, sizeof address, "mem:%d", i + 1);
    pthread_mutex_init(&counters[i].mu, NULL);
    counters[i].total = 0;

    raft_config *config = raft_config_create();
    check(raft_config_set_id(config, (uint64_t)i + 1, &err), err, "id");
    check(raft_config_set_transport(config, "memory", &err), err, "transport");
    check(raft_config_set_memory_network(config, net, &err), err, "network");
    check(raft_config_set_advertise_address(config, address, &err), err, "address");
    check(raft_config_set_store(config, "memory", &err), err, "store");
    check(raft_config_set(config, "heartbeat_interval", "20", &err), err, "heartbeat");
    check(raft_config_set(config, "election_timeout", "200", &err), err, "election timeout");
    check(raft_config_set(config, "leader_lease_timeout", "200", &err), err, "lease");
    check(raft_config_set(config, "log_level", "warn", &err), err, "log level");

    raft_fsm *fsm = raft_fsm_create(&counters[i], counter_apply, counter_snapshot, counter_persist,
                                    counter_release, counter_restore);
    check(raft_node_start(config, fsm, &nodes[i], &err), err, "start");
    raft_fsm_free(fsm);       /* the node copied the callbacks */
    raft_config_free(config); /* and the options */
    /* RAFT_EEXISTS: the node already has state; here, because the nodes
     * bootstrapped before it elected a leader that reached it first. */
    int rc = raft_node_bootstrap(nodes[i], members, &err);
    if (rc != RAFT_EEXISTS) check(rc, err, "bootstrap");
    raft_free(err);
  }
  raft_configuration_free(members);

  raft_node *leader = find_leader(nodes, kNodes);
  int64_t want = 0;
  for (int n = 1; n <= 10; n++) {
    char cmd[32];
    int len = snprintf(cmd, sizeof cmd, "add %d", n);
    raft_future *f = NULL;
    const void *result = NULL;
    size_t result_len = 0;
    uint64_t index = 0;
    want += n;
    check(raft_node_apply(leader, cmd, (size_t)len, 5000, &f, &err), err, "apply");
    check(raft_future_await(f, &err), err, cmd); /* committed and applied */
    check(raft_future_result(f, &result, &result_len, &err), err, "result");
    check(raft_future_index(f, &index, &err), err, "index");
    printf("%-7s -> total %.*s (log index %" PRIu64 ")\n", cmd, (int)result_len, (const char *)result, index);
    raft_future_free(f); /* frees the result too */
  }

  /* Followers apply the same commands a moment later: wait with a deadline. */
  uint64_t deadline = now_ms() + 10000;
  for (int i = 0; i < kNodes; i++) {
    while (counter_total(&counters[i]) != want) {
      if (now_ms() > deadline) {
        fprintf(stderr, "node %d has %" PRId64 ", wanted %" PRId64 "\n", i + 1, counter_total(&counters[i]), want);
        return 1;
      }
      struct timespec pause = {0, 2 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
  }

  char *stats = NULL;
  check(raft_node_stats(leader, &stats, &err), err, "stats");
  printf("every node has total %" PRId64 "\nleader stats: %.60s...\n", want, stats);
  raft_free(stats);

  for (int i = 0; i < kNodes; i++) {
    raft_node_free(nodes[i]); /* shuts down, then frees */
    pthread_mutex_destroy(&counters[i].mu);
  }
  raft_network_free(net);
  return 0;
}
