/* Three nodes over TCP on 127.0.0.1 with the WAL in a temporary directory:
 * replication, snapshots, a follower restarted from its directory (its
 * state rebuilt by the FSM's restore callback, then the log), a restore
 * callback that fails (the node refuses to start, with the FSM's message),
 * and offline recovery of a lost majority. */
#include "capi_test.h"

enum { kNodes = 3 };

static char *g_dir;
static char g_data[kNodes][512];
static char g_addr[kNodes][64];
static raft_node *g_nodes[kNodes];
static tfsm g_fsms[kNodes];
static uint64_t g_commands;

/* Starts node i on its data directory and last address (or any port);
 * returns the code of raft_node_start, and its message in *errmsg. */
static int start_node(int i, char **errmsg) {
  raft_config *c = tcp_config((uint64_t)i + 1, g_addr[i][0] ? g_addr[i] : "127.0.0.1:0", g_data[i]);
  return start_on_remembered_address(c, &g_fsms[i], &g_nodes[i], g_addr[i], sizeof g_addr[i], errmsg);
}

static void stop_node(int i) {
  OK(raft_node_shutdown(g_nodes[i], &em));
  raft_node_free(g_nodes[i]);
  g_nodes[i] = NULL;
}

static int converged(void) {
  uint64_t digest = 0;
  int first = 1;
  for (int i = 0; i < kNodes; i++) {
    if (!g_nodes[i]) continue;
    if (tfsm_applied(&g_fsms[i]) != g_commands) return 0;
    if (!first && tfsm_digest(&g_fsms[i]) != digest) return 0;
    digest = tfsm_digest(&g_fsms[i]);
    first = 0;
  }
  return 1;
}

static void apply_some(int n, const char *tag) {
  int leader = wait_leader(g_nodes, kNodes);
  for (int k = 0; k < n; k++) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "%s-%d", tag, k);
    apply_ok(g_nodes[leader], cmd);
    g_commands++;
  }
}

int main(void) {
  g_dir = temp_dir("tcp");
  raft_configuration *members = raft_configuration_create();
  for (int i = 0; i < kNodes; i++) {
    tfsm_init(&g_fsms[i]);
    snprintf(g_data[i], sizeof g_data[i], "%s/n%d", g_dir, i + 1);
    OK(start_node(i, &em));
    CHECK(strncmp(g_addr[i], "127.0.0.1:", 10) == 0 && strcmp(g_addr[i], "127.0.0.1:0") != 0);
    OK(raft_configuration_add(members, (uint64_t)i + 1, g_addr[i], 1, &em));
  }
  for (int i = 0; i < kNodes; i++) bootstrap_member(g_nodes[i], members);
  raft_configuration_free(members);

  apply_some(10, "a");
  WAIT_UNTIL(converged(), 5000);
  /* Without TLS files there is nothing to reload. */
  ERR(RAFT_EINVAL, "TLS", raft_node_reload_tls(g_nodes[0], &em));

  /* A snapshot on every node. */
  for (int i = 0; i < kNodes; i++) {
    raft_future *f = NULL;
    uint64_t index = 0;
    OK(raft_node_snapshot(g_nodes[i], &f, &em));
    OK(raft_future_index(f, &index, &em));
    CHECK(index >= 10);
    raft_future_free(f);
  }
  apply_some(5, "b");
  WAIT_UNTIL(converged(), 5000);

  /* A follower goes down, misses commands, and comes back from its
   * directory: the FSM (empty, as after a crash) is rebuilt from the
   * snapshot by restore, then from the log and its peers. */
  int follower = (wait_leader(g_nodes, kNodes) + 1) % kNodes;
  uint64_t digest_before = tfsm_digest(&g_fsms[follower]);
  stop_node(follower);
  apply_some(5, "c");
  tfsm_destroy(&g_fsms[follower]);
  tfsm_init(&g_fsms[follower]);
  OK(start_node(follower, &em));
  CHECK(atomic_load(&g_fsms[follower].restores) == 1);
  CHECK(tfsm_applied(&g_fsms[follower]) >= 10);
  WAIT_UNTIL(converged(), 8000);
  CHECK(tfsm_digest(&g_fsms[follower]) != digest_before);

  /* A restore callback that fails: the node does not start, and says why. */
  stop_node(follower);
  tfsm_destroy(&g_fsms[follower]);
  tfsm_init(&g_fsms[follower]);
  atomic_store(&g_fsms[follower].fail_restore, 1);
  ERR(RAFT_ECORRUPTION, "restore refused (injected)", start_node(follower, &em));
  CHECK(g_nodes[follower] == NULL);
  atomic_store(&g_fsms[follower].fail_restore, 0);
  OK(start_node(follower, &em));
  WAIT_UNTIL(converged(), 8000);

  /* The majority is lost for good: recover the survivor offline, as a
   * one-server cluster, and it leads with every committed command. */
  uint64_t digest = tfsm_digest(&g_fsms[0]);
  for (int i = 0; i < kNodes; i++) stop_node(i);
  raft_config *c = tcp_config(1, g_addr[0], g_data[0]);
  raft_configuration *alone = raft_configuration_create();
  OK(raft_configuration_add(alone, 1, g_addr[0], 1, &em));
  OK(raft_recover_cluster(c, alone, &em));
  raft_configuration_free(alone);
  raft_config_free(c);
  tfsm_destroy(&g_fsms[0]);
  tfsm_init(&g_fsms[0]);
  OK(start_node(0, &em));
  WAIT_UNTIL(node_state(g_nodes[0]) == RAFT_STATE_LEADER, 5000);
  WAIT_UNTIL(tfsm_applied(&g_fsms[0]) == g_commands, 5000);
  CHECK(tfsm_digest(&g_fsms[0]) == digest);
  apply_ok(g_nodes[0], "alone");
  stop_node(0);

  for (int i = 0; i < kNodes; i++) tfsm_destroy(&g_fsms[i]);
  rm_rf(g_dir);
  free(g_dir);
  printf("tcp_test: OK\n");
  return 0;
}
