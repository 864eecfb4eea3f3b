/* Three nodes (then four, five) in one process on the in-memory network:
 * election and the leader-change callback on every node, apply on a
 * follower (not leader, naming the leader), replication, leadership
 * transfer, membership (non-voter, voter, demote, remove, joint
 * consensus), partitions through the network handle, and a pending
 * command resolved by shutdown. */
#include "capi_test.h"

enum { kMax = 5 };

static raft_network *g_net;
static raft_node *g_nodes[kMax];
static tfsm g_fsms[kMax];

typedef struct watch {
  atomic_int calls;
  atomic_ullong leader;
} watch;
static watch g_watch[kMax];

static void on_leader(void *user, uint64_t leader_id, uint64_t term) {
  watch *w = user;
  (void)term;
  atomic_store(&w->leader, leader_id);
  atomic_fetch_add(&w->calls, 1);
}

static void start_node(int i) {
  raft_config *c = memory_config((uint64_t)i + 1, g_net);
  raft_fsm *fsm = tfsm_handle(&g_fsms[i]);
  OK(raft_node_start(c, fsm, &g_nodes[i], &em));
  OK(raft_node_set_leader_callback(g_nodes[i], on_leader, &g_watch[i], &em));
  raft_fsm_free(fsm);
  raft_config_free(c);
}

static uint64_t id_of(int i) { return (uint64_t)i + 1; }

/* Every live node among the first `count` has applied `commands` and the
 * digests agree. */
static int converged(int count, uint64_t commands) {
  uint64_t digest = 0;
  int first = 1;
  for (int i = 0; i < count; i++) {
    if (!g_nodes[i]) continue;
    if (tfsm_applied(&g_fsms[i]) != commands) return 0;
    if (!first && tfsm_digest(&g_fsms[i]) != digest) return 0;
    digest = tfsm_digest(&g_fsms[i]);
    first = 0;
  }
  return 1;
}

/* The configuration of node i: the number of servers, and whether `id`
 * is among them as a voter (1), a non-voter (0) or absent (-1). */
static int membership_of(int i, uint64_t id, size_t *count, int committed) {
  raft_configuration *conf = NULL;
  int found = -1;
  if (committed) {
    OK(raft_node_committed_configuration(g_nodes[i], &conf, &em));
  } else {
    OK(raft_node_configuration(g_nodes[i], &conf, &em));
  }
  OK(raft_configuration_count(conf, count, &em));
  for (size_t k = 0; k < *count; k++) {
    uint64_t sid = 0;
    int voter = 0;
    OK(raft_configuration_get(conf, k, &sid, NULL, &voter, &em));
    if (sid == id) found = voter;
  }
  raft_configuration_free(conf);
  return found;
}

static int voter_state(int i, uint64_t id) {
  size_t count = 0;
  return membership_of(i, id, &count, 1);
}

static uint64_t g_commands;

static void apply_some(int leader, int n, const char *tag) {
  for (int k = 0; k < n; k++) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "%s-%d", tag, k);
    apply_ok(g_nodes[leader], cmd);
    g_commands++;
  }
}

/* Applies on follower `f` and expects RAFT_ENOTLEADER naming the leader. */
static void test_follower_refuses(int leader, int f) {
  char want[64];
  raft_future *fut = NULL;
  snprintf(want, sizeof want, "leader is %llu at mem:%llu", (unsigned long long)id_of(leader),
           (unsigned long long)id_of(leader));
  OK(raft_node_apply(g_nodes[f], "nope", 4, 1000, &fut, &em));
  ERR(RAFT_ENOTLEADER, want, raft_future_await(fut, &em));
  raft_future_free(fut);

  OK(raft_node_verify_leader(g_nodes[f], &fut, &em));
  ERR(RAFT_ENOTLEADER, NULL, raft_future_await(fut, &em));
  raft_future_free(fut);
  OK(raft_node_read_index(g_nodes[f], 1000, &fut, &em));
  ERR(RAFT_ENOTLEADER, NULL, raft_future_index(fut, &(uint64_t){0}, &em));
  raft_future_free(fut);
  OK(raft_node_add_nonvoter(g_nodes[f], 9, "mem:9", 1000, &fut, &em));
  ERR(RAFT_ENOTLEADER, want, raft_future_await(fut, &em));
  raft_future_free(fut);

  uint64_t last_contact = UINT64_MAX;
  OK(raft_node_last_contact_ms(g_nodes[f], &last_contact, &em));
  CHECK(last_contact < 10000);
}

static void test_transfer(int *leader) {
  int target = (*leader + 1) % 3;
  raft_future *f = NULL;
  OK(raft_node_transfer_leadership(g_nodes[*leader], id_of(target), &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  WAIT_UNTIL(agreed_leader(g_nodes, 3) == target, 5000);
  for (int i = 0; i < 3; i++) WAIT_UNTIL(atomic_load(&g_watch[i].leader) == id_of(target), 5000);
  *leader = target;
  apply_some(*leader, 3, "after-transfer");

  /* To whichever voter is most up to date (0). */
  OK(raft_node_transfer_leadership(g_nodes[*leader], 0, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  int next = wait_leader(g_nodes, 3);
  CHECK(next != *leader);
  *leader = next;
  /* A new leader refuses membership changes (RAFT_EBUSY) until it has
   * committed an entry of its term: a barrier waits for that. */
  OK(raft_node_barrier(g_nodes[*leader], 5000, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  ERR(RAFT_EINVAL, "future is NULL", raft_node_transfer_leadership(g_nodes[*leader], 0, NULL, &em));
}

static void test_membership(int *leader) {
  raft_future *f = NULL;
  uint64_t index = 0, prev = 0;
  size_t count = 0;
  raft_node *l = g_nodes[*leader];

  /* A brand-new server joins without bootstrap: first as a non-voter. */
  start_node(3);
  OK(raft_node_add_nonvoter(l, 4, "mem:4", 5000, &f, &em));
  OK(raft_future_index(f, &index, &em));
  raft_future_free(f);
  CHECK(index > 0);
  CHECK(membership_of(*leader, 4, &count, 0) == 0 && count == 4);
  WAIT_UNTIL(voter_state(*leader, 4) == 0, 5000);
  WAIT_UNTIL(converged(4, g_commands), 5000);

  /* Promoted to voter. */
  prev = index;
  OK(raft_node_add_voter(l, 4, "mem:4", 5000, &f, &em));
  OK(raft_future_index(f, &index, &em));
  raft_future_free(f);
  CHECK(index > prev);
  WAIT_UNTIL(voter_state(*leader, 4) == 1, 5000);
  apply_some(*leader, 2, "four");
  WAIT_UNTIL(converged(4, g_commands), 5000);

  /* Demoted, then removed. */
  OK(raft_node_demote_voter(l, 4, 5000, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  WAIT_UNTIL(voter_state(*leader, 4) == 0, 5000);
  OK(raft_node_remove_server(l, 4, 5000, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  WAIT_UNTIL(voter_state(*leader, 4) == -1, 5000);
  CHECK(membership_of(*leader, 4, &count, 1) == -1 && count == 3);
  raft_node_free(g_nodes[3]);
  g_nodes[3] = NULL;

  /* Several at once through joint consensus: add 5 as a voter. */
  start_node(4);
  raft_configuration *target = NULL;
  OK(raft_node_configuration(l, &target, &em));
  OK(raft_configuration_add(target, 5, "mem:5", 1, &em));
  OK(raft_node_change_configuration(l, target, 5000, &f, &em));
  OK(raft_future_index(f, &index, &em));
  raft_future_free(f);
  raft_configuration_free(target);
  WAIT_UNTIL(voter_state(*leader, 5) == 1, 5000);
  apply_some(*leader, 2, "five");
  WAIT_UNTIL(converged(5, g_commands), 5000);

  /* And back to the three. */
  target = raft_configuration_create();
  for (int i = 0; i < 3; i++) {
    char addr[16];
    snprintf(addr, sizeof addr, "mem:%d", i + 1);
    OK(raft_configuration_add(target, id_of(i), addr, 1, &em));
  }
  OK(raft_node_change_configuration(l, target, 5000, &f, &em));
  OK(raft_future_await(f, &em));
  raft_future_free(f);
  raft_configuration_free(target);
  WAIT_UNTIL(voter_state(*leader, 5) == -1, 5000);
  raft_node_free(g_nodes[4]);
  g_nodes[4] = NULL;

  ERR(RAFT_EINVAL, "address is NULL", raft_node_add_voter(l, 6, NULL, 0, &f, &em));
  ERR(RAFT_EINVAL, "address is NULL", raft_node_add_nonvoter(l, 6, NULL, 0, &f, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_node_add_voter(l, 6, "mem:6", 0, NULL, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_node_add_nonvoter(l, 6, "mem:6", 0, NULL, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_node_remove_server(l, 6, 0, NULL, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_node_demote_voter(l, 6, 0, NULL, &em));
  ERR(RAFT_EINVAL, "target is NULL", raft_node_change_configuration(l, NULL, 0, &f, &em));
}

static void test_partition(int *leader) {
  raft_future *f = NULL;
  int old = *leader;
  uint64_t old_term = node_term(g_nodes[old]);

  /* Cut the leader off: what it accepts now cannot commit. */
  OK(raft_network_isolate(g_net, id_of(old), &em));
  OK(raft_node_apply(g_nodes[old], "lost", 4, 0, &f, &em));
  raft_node *rest[2];
  int map[2], k = 0;
  for (int i = 0; i < 3; i++)
    if (i != old) map[k] = i, rest[k++] = g_nodes[i];
  int r = wait_leader(rest, 2);
  CHECK(node_term(rest[r]) > old_term);
  int rc = raft_future_await(f, NULL);
  CHECK(rc == RAFT_ELEADERSHIPLOST || rc == RAFT_ETIMEOUT);
  raft_future_free(f);

  /* Heal: one leader again, the old one follows, nothing was lost. */
  OK(raft_network_heal(g_net, &em));
  *leader = map[r];
  apply_some(*leader, 2, "healed");
  WAIT_UNTIL(agreed_leader(g_nodes, 3) >= 0, 5000);
  WAIT_UNTIL(converged(3, g_commands), 5000);

  /* Partition {leader} from the rest with the two-group form, then a
   * pending command on it is resolved by shutdown. */
  uint64_t a[1] = {id_of(*leader)}, b[2];
  for (int i = 0, j = 0; i < 3; i++)
    if (i != *leader) b[j++] = id_of(i);
  OK(raft_network_partition(g_net, a, 1, b, 2, &em));
  OK(raft_node_apply(g_nodes[*leader], "pending", 7, 0, &f, &em));
  OK(raft_node_shutdown(g_nodes[*leader], &em));
  rc = raft_future_await(f, NULL);
  CHECK(rc == RAFT_ESHUTDOWN || rc == RAFT_ELEADERSHIPLOST);
  raft_future_free(f);
  OK(raft_network_heal(g_net, &em));
}

int main(void) {
  g_net = raft_network_create(42);
  raft_configuration *members = raft_configuration_create();
  for (int i = 0; i < kMax; i++) tfsm_init(&g_fsms[i]);
  for (int i = 0; i < 3; i++) {
    char addr[16];
    snprintf(addr, sizeof addr, "mem:%d", i + 1);
    OK(raft_configuration_add(members, id_of(i), addr, 1, &em));
    start_node(i);
  }
  for (int i = 0; i < 3; i++) bootstrap_member(g_nodes[i], members);
  raft_configuration_free(members);

  int leader = wait_leader(g_nodes, 3);
  for (int i = 0; i < 3; i++) WAIT_UNTIL(atomic_load(&g_watch[i].leader) == id_of(leader), 5000);

  test_follower_refuses(leader, (leader + 1) % 3);
  apply_some(leader, 20, "cmd");
  WAIT_UNTIL(converged(3, g_commands), 5000);
  test_transfer(&leader);
  test_membership(&leader);
  test_partition(&leader);

  for (int i = 0; i < kMax; i++) {
    raft_node_free(g_nodes[i]);
    tfsm_destroy(&g_fsms[i]);
  }
  raft_network_free(g_net);
  printf("cluster_test: OK\n");
  return 0;
}
