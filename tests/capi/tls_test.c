/* Three nodes over TCP with mutual TLS (raft_config_set_tls, peer ids
 * pinned with raft_config_set_tls_verify_peer_id), certificates made at
 * test time by scripts/make-certs.sh: replication, certificate rotation
 * with raft_node_reload_tls (a node restarted afterwards reconnects to the
 * rotated one), a reload with a bad key that changes nothing, and a node
 * whose files are missing, which does not start.
 *
 * Usage: tls_test MAKE_CERTS (the script's path). Exits 77 (skipped) when
 * openssl is missing. */
#include "capi_test.h"

enum { kNodes = 3 };

static char *g_dir;
static char g_certs[512];
static char g_data[kNodes][600];
static char g_addr[kNodes][64];
static raft_node *g_nodes[kNodes];
static tfsm g_fsms[kNodes];
static uint64_t g_commands;

/* Runs a shell command (built with snprintf), failing the test if it fails. */
static void run(const char *cmd) {
  if (system(cmd) != 0) {
    fprintf(stderr, "failed: %s\n", cmd);
    exit(1);
  }
}

/* node<id>.pem and node<id>.key under the test's certificate folder. */
static void cert_path(char *out, size_t cap, uint64_t id, const char *ext) {
  snprintf(out, cap, "%s/node%llu.%s", g_certs, (unsigned long long)id, ext);
}

/* Starts node i with TLS on its data directory and last address (or any
 * port); returns the code of raft_node_start, and its message in *errmsg.
 * ca: the CA file (NULL: the test's). */
static int start_node(int i, const char *ca, char **errmsg) {
  uint64_t id = (uint64_t)i + 1;
  char ca_file[600], cert[600], key[600];
  snprintf(ca_file, sizeof ca_file, "%s/ca.pem", g_certs);
  cert_path(cert, sizeof cert, id, "pem");
  cert_path(key, sizeof key, id, "key");
  raft_config *c = tcp_config(id, g_addr[i][0] ? g_addr[i] : "127.0.0.1:0", g_data[i]);
  OK(raft_config_set_tls(c, ca ? ca : ca_file, cert, key, &em));
  OK(raft_config_set_tls_verify_peer_id(c, 1, &em));
  return start_on_remembered_address(c, &g_fsms[i], &g_nodes[i], g_addr[i], sizeof g_addr[i], errmsg);
}

/* Stops node i; its FSM starts over empty, as after a crash: a restart
 * rebuilds it from the node's directory. */
static void stop_node(int i) {
  OK(raft_node_shutdown(g_nodes[i], &em));
  raft_node_free(g_nodes[i]);
  g_nodes[i] = NULL;
  tfsm_destroy(&g_fsms[i]);
  tfsm_init(&g_fsms[i]);
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

/* Applies n commands on whichever node leads. Leadership can move while
 * certificates change and nodes restart; a command the old leader refused
 * with RAFT_ENOTLEADER certainly did not commit, so it goes to the new one
 * (any other failure may have committed and fails the test). */
static void apply_some(int n, const char *tag) {
  for (int k = 0; k < n; k++) {
    char cmd[32];
    snprintf(cmd, sizeof cmd, "%s-%d", tag, k);
    for (int attempt = 0;; attempt++) {
      int leader = wait_leader(g_nodes, kNodes);
      raft_future *f = NULL;
      OK(raft_node_apply(g_nodes[leader], cmd, strlen(cmd), 5000, &f, &em));
      char *err = NULL;
      int rc = raft_future_await(f, &err);
      raft_future_free(f);
      if (rc == RAFT_ENOTLEADER && attempt < 20) {
        raft_free(err);
        continue;
      }
      if (rc != RAFT_OK) {
        fprintf(stderr, "tls_test: applying %s: %s: %s\n", cmd, raft_strerror(rc), err ? err : "");
        exit(1);
      }
      raft_free(err);
      break;
    }
    g_commands++;
  }
}

int main(int argc, char **argv) {
  char cmd[4096], key[600];
  if (argc < 2) {
    fprintf(stderr, "usage: %s MAKE_CERTS\n", argv[0]);
    return 2;
  }
  if (system("command -v openssl >/dev/null 2>&1") != 0) {
    printf("tls_test: SKIP (no openssl to make certificates with)\n");
    return 77;
  }
  const char *make_certs = argv[1];
  g_dir = temp_dir("tls");
  snprintf(g_certs, sizeof g_certs, "%s/certs", g_dir);
  snprintf(cmd, sizeof cmd, "bash '%s' '%s' 1 2 3", make_certs, g_certs);
  run(cmd);

  raft_configuration *members = raft_configuration_create();
  for (int i = 0; i < kNodes; i++) {
    tfsm_init(&g_fsms[i]);
    snprintf(g_data[i], sizeof g_data[i], "%s/n%d", g_dir, i + 1);
    OK(start_node(i, NULL, &em));
    OK(raft_configuration_add(members, (uint64_t)i + 1, g_addr[i], 1, &em));
  }
  for (int i = 0; i < kNodes; i++) bootstrap_member(g_nodes[i], members);
  raft_configuration_free(members);
  apply_some(10, "a");
  WAIT_UNTIL(converged(), 8000);

  /* Reloading unchanged files works on every node. */
  for (int i = 0; i < kNodes; i++) OK(raft_node_reload_tls(g_nodes[i], &em));

  /* Rotation: node 1 gets a new certificate and key from the same CA and
   * reloads them; node 2, restarted, connects to it anew and the cluster
   * goes on. */
  snprintf(cmd, sizeof cmd, "bash '%s' '%s' 1", make_certs, g_certs);
  run(cmd);
  OK(raft_node_reload_tls(g_nodes[0], &em));
  apply_some(5, "b");
  WAIT_UNTIL(converged(), 8000);
  stop_node(1);
  OK(start_node(1, NULL, &em));
  apply_some(5, "c");
  WAIT_UNTIL(converged(), 8000);

  /* A key that does not match the certificate: refused, with a message,
   * and the files loaded before stay in use. */
  cert_path(key, sizeof key, 1, "key");
  snprintf(cmd, sizeof cmd, "cp '%s' '%s.good' && cp '%s/node3.key' '%s'", key, key, g_certs, key);
  run(cmd);
  {
    char *e = NULL;
    int rc = raft_node_reload_tls(g_nodes[0], &e);
    CHECK(rc == RAFT_EINVAL && e != NULL);
    fprintf(stderr, "tls_test: a mismatched key is refused: %s\n", e);
    raft_free(e);
  }
  apply_some(5, "d");
  WAIT_UNTIL(converged(), 8000);
  snprintf(cmd, sizeof cmd, "mv '%s.good' '%s'", key, key);
  run(cmd);
  OK(raft_node_reload_tls(g_nodes[0], &em));

  /* Files that do not exist: the node does not start, and says which. */
  stop_node(2);
  {
    char *e = NULL;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-ca.pem", g_certs);
    int rc = start_node(2, missing, &e);
    CHECK(rc != RAFT_OK && g_nodes[2] == NULL);
    CHECK(e != NULL && strstr(e, "no-such-ca.pem") != NULL);
    raft_free(e);
  }
  OK(start_node(2, NULL, &em));
  apply_some(3, "e");
  WAIT_UNTIL(converged(), 8000);

  for (int i = 0; i < kNodes; i++) stop_node(i);
  for (int i = 0; i < kNodes; i++) tfsm_destroy(&g_fsms[i]);
  rm_rf(g_dir);
  free(g_dir);
  printf("tls_test: OK\n");
  return 0;
}
