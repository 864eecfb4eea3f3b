/* The C API without a running cluster: version and error names, every
 * config option (typed setters, by name, validation with a message, TLS
 * included), the configuration, network and FSM handles, and every entry
 * point given NULL handles or NULL required pointers (an error, never a
 * crash). */
#include "capi_test.h"

static void test_version_and_names(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", RAFT_VERSION_MAJOR, RAFT_VERSION_MINOR, RAFT_VERSION_PATCH);
  CHECK(strcmp(raft_version(), want) == 0);

  CHECK(RAFT_OK == 0);
  CHECK(strcmp(raft_strerror(RAFT_OK), "OK") == 0);
  CHECK(strcmp(raft_strerror(RAFT_ENOTLEADER), "not leader") == 0);
  CHECK(strcmp(raft_strerror(RAFT_ESHUTDOWN), "shut down") == 0);
  for (int code = RAFT_OK; code <= RAFT_EINTERNAL; code++) {
    CHECK(raft_strerror(code) != NULL);
    CHECK(strcmp(raft_strerror(code), "unknown error") != 0);
  }
  CHECK(strcmp(raft_strerror(-1), "unknown error") == 0);
  CHECK(strcmp(raft_strerror(RAFT_EINTERNAL + 1), "unknown error") == 0);

  CHECK(strcmp(raft_state_name(RAFT_STATE_FOLLOWER), "Follower") == 0);
  CHECK(strcmp(raft_state_name(RAFT_STATE_CANDIDATE), "Candidate") == 0);
  CHECK(strcmp(raft_state_name(RAFT_STATE_LEADER), "Leader") == 0);
  CHECK(strcmp(raft_state_name(RAFT_STATE_SHUTDOWN), "Shutdown") == 0);
  CHECK(strcmp(raft_state_name(42), "Unknown") == 0);

  raft_free(NULL);
  raft_config_free(NULL);
  raft_configuration_free(NULL);
  raft_network_free(NULL);
  raft_fsm_free(NULL);
  raft_node_free(NULL);
  raft_future_free(NULL);
}

/* Reads an option back by name and compares its text. */
static void expect_option(const raft_config *c, const char *name, const char *want) {
  char *value = NULL;
  OK(raft_config_get(c, name, &value, &em));
  if (strcmp(value, want) != 0) {
    fprintf(stderr, "option %s is \"%s\", wanted \"%s\"\n", name, value, want);
    exit(1);
  }
  raft_free(value);
}

static void log_to_nowhere(void *user, int level, const char *message) {
  (void)user;
  (void)level;
  (void)message;
}

static void test_config_typed_setters(void) {
  raft_config *c = raft_config_create();
  CHECK(c != NULL);
  /* Defaults, as raft::Config. */
  expect_option(c, "id", "0");
  expect_option(c, "cluster_id", "libraft");
  expect_option(c, "transport", "tcp");
  expect_option(c, "bind_address", "127.0.0.1:0");
  expect_option(c, "store", "wal");
  expect_option(c, "heartbeat_interval", "100");
  expect_option(c, "election_timeout", "1000");
  expect_option(c, "log_level", "info");
  expect_option(c, "pre_vote", "true");
  expect_option(c, "tls_ca_file", "");
  expect_option(c, "tls_cert_file", "");
  expect_option(c, "tls_key_file", "");
  expect_option(c, "tls_verify_peer_id", "false");
  expect_option(c, "wal_prepare_spares", "true");

  OK(raft_config_set_id(c, 7, &em));
  OK(raft_config_set_cluster_id(c, "blue", &em));
  OK(raft_config_set_transport(c, "memory", &em));
  OK(raft_config_set_bind_address(c, "127.0.0.1:7000", &em));
  OK(raft_config_set_advertise_address(c, "10.0.0.7:7000", &em));
  OK(raft_config_set_store(c, "memory", &em));
  OK(raft_config_set_data_dir(c, "/tmp/nowhere", &em));
  OK(raft_config_set_heartbeat_interval_ms(c, 11, &em));
  OK(raft_config_set_election_timeout_ms(c, 222, &em));
  OK(raft_config_set_commit_timeout_ms(c, 3, &em));
  OK(raft_config_set_leader_lease_timeout_ms(c, 200, &em));
  OK(raft_config_set_max_append_entries(c, 10, &em));
  OK(raft_config_set_max_append_bytes(c, 20, &em));
  OK(raft_config_set_max_inflight_appends(c, 30, &em));
  OK(raft_config_set_max_inflight_bytes(c, 40, &em));
  OK(raft_config_set_max_pending_bytes(c, 50, &em));
  OK(raft_config_set_max_pending_commands(c, 60, &em));
  OK(raft_config_set_trailing_logs(c, 70, &em));
  OK(raft_config_set_snapshot_interval_ms(c, 80, &em));
  OK(raft_config_set_snapshot_threshold(c, 90, &em));
  OK(raft_config_set_snapshot_log_bytes(c, 95, &em));
  OK(raft_config_set_retain_snapshots(c, 3, &em));
  OK(raft_config_set_no_snapshot_restore_on_start(c, 1, &em));
  OK(raft_config_set_pre_vote(c, 0, &em));
  OK(raft_config_set_check_quorum(c, 0, &em));
  OK(raft_config_set_shutdown_on_remove(c, 0, &em));
  OK(raft_config_set_log_level(c, RAFT_LOG_ERROR, &em));
  OK(raft_config_set_log_callback(c, log_to_nowhere, NULL, &em));
  OK(raft_config_set_log_callback(c, NULL, NULL, &em));
  OK(raft_config_set_tls(c, "/etc/raft/ca.pem", "/etc/raft/node7.pem", "/etc/raft/node7.key", &em));
  OK(raft_config_set_tls_verify_peer_id(c, 1, &em));

  expect_option(c, "id", "7");
  expect_option(c, "cluster_id", "blue");
  expect_option(c, "transport", "memory");
  expect_option(c, "bind_address", "127.0.0.1:7000");
  expect_option(c, "advertise_address", "10.0.0.7:7000");
  expect_option(c, "store", "memory");
  expect_option(c, "data_dir", "/tmp/nowhere");
  expect_option(c, "heartbeat_interval", "11");
  expect_option(c, "election_timeout", "222");
  expect_option(c, "commit_timeout", "3");
  expect_option(c, "leader_lease_timeout", "200");
  expect_option(c, "max_append_entries", "10");
  expect_option(c, "max_append_bytes", "20");
  expect_option(c, "max_inflight_appends", "30");
  expect_option(c, "max_inflight_bytes", "40");
  expect_option(c, "max_pending_bytes", "50");
  expect_option(c, "max_pending_commands", "60");
  expect_option(c, "trailing_logs", "70");
  expect_option(c, "snapshot_interval", "80");
  expect_option(c, "snapshot_threshold", "90");
  expect_option(c, "snapshot_log_bytes", "95");
  expect_option(c, "retain_snapshots", "3");
  expect_option(c, "no_snapshot_restore_on_start", "true");
  expect_option(c, "pre_vote", "false");
  expect_option(c, "check_quorum", "false");
  expect_option(c, "shutdown_on_remove", "false");
  expect_option(c, "log_level", "error");
  expect_option(c, "tls_ca_file", "/etc/raft/ca.pem");
  expect_option(c, "tls_cert_file", "/etc/raft/node7.pem");
  expect_option(c, "tls_key_file", "/etc/raft/node7.key");
  expect_option(c, "tls_verify_peer_id", "true");

  /* TLS off again: NULLs, or empty names. */
  OK(raft_config_set_tls_verify_peer_id(c, 0, &em));
  expect_option(c, "tls_verify_peer_id", "false");
  OK(raft_config_set_tls(c, NULL, NULL, NULL, &em));
  expect_option(c, "tls_ca_file", "");
  expect_option(c, "tls_cert_file", "");
  expect_option(c, "tls_key_file", "");
  OK(raft_config_set_tls(c, "a", "b", "c", &em));
  OK(raft_config_set_tls(c, "", "", "", &em));
  expect_option(c, "tls_ca_file", "");
  expect_option(c, "tls_key_file", "");

  /* What a setter alone can refuse. */
  ERR(RAFT_EINVAL, "too large", raft_config_set_election_timeout_ms(c, UINT64_MAX, &em));
  ERR(RAFT_EINVAL, "too many", raft_config_set_retain_snapshots(c, 1ULL << 40, &em));
  ERR(RAFT_EINVAL, "RAFT_LOG_", raft_config_set_log_level(c, 9, &em));
  ERR(RAFT_EINVAL, "RAFT_LOG_", raft_config_set_log_level(c, -1, &em));
  ERR(RAFT_EINVAL, "value is NULL", raft_config_set_cluster_id(c, NULL, &em));
  ERR(RAFT_EINVAL, "value is NULL", raft_config_set_data_dir(c, NULL, &em));
  /* errmsg may be NULL. */
  CHECK(raft_config_set_transport(c, NULL, NULL) == RAFT_EINVAL);
  CHECK(raft_config_set_id(c, 8, NULL) == RAFT_OK);
  raft_config_free(c);
}

static void test_config_by_name(void) {
  static const char *const kNames[][2] = {
      {"id", "3"},
      {"cluster_id", "green"},
      {"transport", "memory"},
      {"bind_address", "0.0.0.0:1"},
      {"advertise_address", "mem:3"},
      {"store", "memory"},
      {"data_dir", "/d"},
      {"heartbeat_interval", "15"},
      {"election_timeout", "300"},
      {"commit_timeout", "4"},
      {"leader_lease_timeout", "250"},
      {"max_append_entries", "5"},
      {"max_append_bytes", "6"},
      {"max_inflight_appends", "7"},
      {"max_inflight_bytes", "8"},
      {"max_pending_bytes", "9"},
      {"max_pending_commands", "10"},
      {"trailing_logs", "11"},
      {"snapshot_interval", "12"},
      {"snapshot_threshold", "13"},
      {"snapshot_log_bytes", "15"},
      {"retain_snapshots", "14"},
      {"wal_spare_segments", "3"},
      {"no_snapshot_restore_on_start", "true"},
      {"pre_vote", "false"},
      {"check_quorum", "false"},
      {"shutdown_on_remove", "false"},
      {"log_level", "debug"},
      {"tls_ca_file", "/certs/ca.pem"},
      {"tls_cert_file", "/certs/node3.pem"},
      {"tls_key_file", "/certs/node3.key"},
      {"tls_verify_peer_id", "true"},
      {"wal_prepare_spares", "false"},
  };
  raft_config *c = raft_config_create();
  for (size_t i = 0; i < sizeof kNames / sizeof kNames[0]; i++) {
    OK(raft_config_set(c, kNames[i][0], kNames[i][1], &em));
    expect_option(c, kNames[i][0], kNames[i][1]);
  }
  OK(raft_config_set(c, "pre_vote", "1", &em));
  expect_option(c, "pre_vote", "true");
  OK(raft_config_set(c, "pre_vote", "0", &em));
  expect_option(c, "pre_vote", "false");
  for (int level = RAFT_LOG_DEBUG; level <= RAFT_LOG_OFF; level++) {
    static const char *const kLevels[] = {"debug", "info", "warn", "error", "off"};
    OK(raft_config_set(c, "log_level", kLevels[level], &em));
    expect_option(c, "log_level", kLevels[level]);
  }

  ERR(RAFT_ENOTFOUND, "no option named \"colour\"", raft_config_set(c, "colour", "red", &em));
  ERR(RAFT_ENOTFOUND, "memory_network", raft_config_set(c, "memory_network", "x", &em));
  char *v = NULL;
  ERR(RAFT_ENOTFOUND, "no option named", raft_config_get(c, "colour", &v, &em));
  CHECK(v == NULL);
  ERR(RAFT_EINVAL, "election_timeout", raft_config_set(c, "election_timeout", "soon", &em));
  ERR(RAFT_EINVAL, "milliseconds", raft_config_set(c, "election_timeout", "-5", &em));
  ERR(RAFT_EINVAL, "milliseconds", raft_config_set(c, "election_timeout", "", &em));
  ERR(RAFT_EINVAL, "milliseconds", raft_config_set(c, "election_timeout", "99999999999999999999999", &em));
  ERR(RAFT_EINVAL, "decimal", raft_config_set(c, "max_append_bytes", "1k", &em));
  ERR(RAFT_EINVAL, "decimal", raft_config_set(c, "id", " 1", &em));
  ERR(RAFT_EINVAL, "decimal", raft_config_set(c, "retain_snapshots", "x", &em));
  ERR(RAFT_EINVAL, "too many", raft_config_set(c, "retain_snapshots", "99999999999", &em));
  ERR(RAFT_EINVAL, "true, false", raft_config_set(c, "pre_vote", "yes", &em));
  ERR(RAFT_EINVAL, "debug, info", raft_config_set(c, "log_level", "loud", &em));
  ERR(RAFT_EINVAL, "tls_verify_peer_id", raft_config_set(c, "tls_verify_peer_id", "yes", &em));
  OK(raft_config_set(c, "tls_key_file", "", &em)); /* "" unsets a file */
  expect_option(c, "tls_key_file", "");
  ERR(RAFT_EINVAL, "name is NULL", raft_config_set(c, NULL, "1", &em));
  ERR(RAFT_EINVAL, "value is NULL", raft_config_set(c, "id", NULL, &em));
  ERR(RAFT_EINVAL, "name is NULL", raft_config_get(c, NULL, &v, &em));
  ERR(RAFT_EINVAL, "value is NULL", raft_config_get(c, "id", NULL, &em));
  raft_config_free(c);
}

static void test_config_validation(void) {
  raft_config *c = raft_config_create();
  raft_network *net = raft_network_create(1);
  tfsm state;
  tfsm_init(&state);
  raft_fsm *fsm = tfsm_handle(&state);
  raft_node *node = NULL;

  /* The defaults lack an id and a data_dir. */
  ERR(RAFT_EINVAL, "id must not be 0", raft_config_validate(c, &em));
  ERR(RAFT_EINVAL, "id must not be 0", raft_node_start(c, fsm, &node, &em));
  CHECK(node == NULL);
  OK(raft_config_set_id(c, 1, &em));
  ERR(RAFT_EINVAL, "data_dir", raft_config_validate(c, &em));
  OK(raft_config_set_store(c, "memory", &em));
  OK(raft_config_validate(c, &em));

  OK(raft_config_set_heartbeat_interval_ms(c, 2000, &em));
  ERR(RAFT_EINVAL, "heartbeat_interval", raft_config_validate(c, &em));
  OK(raft_config_set_heartbeat_interval_ms(c, 100, &em));
  OK(raft_config_set_transport(c, "carrier-pigeon", &em));
  ERR(RAFT_EINVAL, "unknown transport \"carrier-pigeon\"", raft_config_validate(c, &em));
  ERR(RAFT_EINVAL, "unknown transport", raft_node_start(c, fsm, &node, &em));
  OK(raft_config_set_transport(c, "memory", &em));
  ERR(RAFT_EINVAL, "memory_network", raft_config_validate(c, &em));
  OK(raft_config_set_memory_network(c, net, &em));
  OK(raft_config_validate(c, &em));
  /* The config keeps its own reference to the network. */
  raft_network_free(net);
  OK(raft_config_validate(c, &em));
  OK(raft_config_set_memory_network(c, NULL, &em));
  ERR(RAFT_EINVAL, "memory_network", raft_config_validate(c, &em));
  OK(raft_config_set_transport(c, "tcp", &em));
  OK(raft_config_set_bind_address(c, "nowhere", &em));
  ERR(RAFT_EINVAL, "bind_address \"nowhere\"", raft_config_validate(c, &em));
  OK(raft_config_set_bind_address(c, "127.0.0.1:0", &em));
  OK(raft_config_set_cluster_id(c, "", &em));
  ERR(RAFT_EINVAL, "cluster_id", raft_config_validate(c, &em));
  OK(raft_config_set_cluster_id(c, "ok", &em));
  OK(raft_config_set_retain_snapshots(c, 0, &em));
  ERR(RAFT_EINVAL, "retain_snapshots", raft_config_validate(c, &em));
  OK(raft_config_set_retain_snapshots(c, 2, &em));
  OK(raft_config_validate(c, &em));

  /* TLS: all three files or none (the message names them), TCP only, and
   * peer ids pinned only with TLS. The files are read at start, not here. */
  OK(raft_config_set_tls(c, "ca.pem", "node1.pem", NULL, &em));
  ERR(RAFT_EINVAL, "tls_key_file", raft_config_validate(c, &em));
  ERR(RAFT_EINVAL, "tls_ca_file, tls_cert_file and tls_key_file", raft_node_start(c, fsm, &node, &em));
  OK(raft_config_set_tls(c, "ca.pem", NULL, "node1.key", &em));
  ERR(RAFT_EINVAL, "tls_cert_file", raft_config_validate(c, &em));
  OK(raft_config_set(c, "tls_cert_file", "node1.pem", &em));
  OK(raft_config_set(c, "tls_ca_file", "", &em));
  ERR(RAFT_EINVAL, "tls_ca_file", raft_config_validate(c, &em));
  OK(raft_config_set_tls(c, "ca.pem", "node1.pem", "node1.key", &em));
  OK(raft_config_validate(c, &em));
  OK(raft_config_set_tls_verify_peer_id(c, 1, &em));
  OK(raft_config_validate(c, &em));
  net = raft_network_create(2);
  OK(raft_config_set_transport(c, "memory", &em));
  OK(raft_config_set_memory_network(c, net, &em));
  raft_network_free(net);
  ERR(RAFT_EINVAL, "TLS needs transport \"tcp\"", raft_config_validate(c, &em));
  ERR(RAFT_EINVAL, "TLS needs transport", raft_node_start(c, fsm, &node, &em));
  OK(raft_config_set_tls(c, NULL, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "tls_verify_peer_id needs TLS", raft_config_validate(c, &em));
  OK(raft_config_set_transport(c, "tcp", &em));
  ERR(RAFT_EINVAL, "tls_verify_peer_id", raft_config_validate(c, &em));
  OK(raft_config_set_tls_verify_peer_id(c, 0, &em));
  OK(raft_config_validate(c, &em));
  CHECK(node == NULL);

  /* An FSM must have apply, and snapshot goes with persist. */
  raft_fsm *no_apply = raft_fsm_create(&state, NULL, NULL, NULL, NULL, NULL);
  ERR(RAFT_EINVAL, "no apply callback", raft_node_start(c, no_apply, &node, &em));
  raft_fsm_free(no_apply);
  raft_fsm *half = raft_fsm_create(&state, tfsm_apply, tfsm_snapshot, NULL, NULL, tfsm_restore);
  ERR(RAFT_EINVAL, "persist", raft_node_start(c, half, &node, &em));
  raft_fsm_free(half);
  CHECK(node == NULL);

  raft_fsm_free(fsm);
  raft_config_free(c);
  tfsm_destroy(&state);
}

static void test_configuration_handle(void) {
  raft_configuration *conf = raft_configuration_create();
  size_t count = 99;
  uint64_t id = 0;
  const char *address = NULL;
  int voter = -1;
  CHECK(conf != NULL);
  OK(raft_configuration_count(conf, &count, &em));
  CHECK(count == 0);
  OK(raft_configuration_add(conf, 1, "a:1", 1, &em));
  OK(raft_configuration_add(conf, 2, "b:2", 0, &em));
  ERR(RAFT_EEXISTS, "server 1 is already listed", raft_configuration_add(conf, 1, "c:3", 1, &em));
  ERR(RAFT_EINVAL, "id 0", raft_configuration_add(conf, 0, "c:3", 1, &em));
  ERR(RAFT_EINVAL, "address is NULL", raft_configuration_add(conf, 3, NULL, 1, &em));
  OK(raft_configuration_count(conf, &count, &em));
  CHECK(count == 2);
  OK(raft_configuration_get(conf, 0, &id, &address, &voter, &em));
  CHECK(id == 1 && strcmp(address, "a:1") == 0 && voter == 1);
  OK(raft_configuration_get(conf, 1, &id, &address, &voter, &em));
  CHECK(id == 2 && strcmp(address, "b:2") == 0 && voter == 0);
  OK(raft_configuration_get(conf, 1, NULL, NULL, NULL, &em));
  ERR(RAFT_ENOTFOUND, "out of range", raft_configuration_get(conf, 2, &id, &address, &voter, &em));
  ERR(RAFT_EINVAL, "count is NULL", raft_configuration_count(conf, NULL, &em));
  raft_configuration_free(conf);
}

static void test_network_handle(void) {
  raft_network *net = raft_network_create(7);
  uint64_t a[] = {1, 2}, b[] = {3};
  CHECK(net != NULL);
  OK(raft_network_partition(net, a, 2, b, 1, &em));
  OK(raft_network_partition(net, NULL, 0, b, 1, &em));
  ERR(RAFT_EINVAL, "a is NULL", raft_network_partition(net, NULL, 2, b, 1, &em));
  ERR(RAFT_EINVAL, "b is NULL", raft_network_partition(net, a, 2, NULL, 1, &em));
  OK(raft_network_isolate(net, 2, &em));
  OK(raft_network_heal(net, &em));
  OK(raft_network_set_drop_rate(net, 0.25, &em));
  OK(raft_network_set_drop_rate(net, 0.0, &em));
  ERR(RAFT_EINVAL, "not in [0, 1]", raft_network_set_drop_rate(net, 1.5, &em));
  ERR(RAFT_EINVAL, "not in [0, 1]", raft_network_set_drop_rate(net, -0.1, &em));
  raft_network_free(net);
}

static void test_fsm_handle(void) {
  raft_fsm *fsm = raft_fsm_create(NULL, tfsm_apply, NULL, NULL, NULL, NULL);
  CHECK(fsm != NULL);
  OK(raft_fsm_set_result_destructor(fsm, free, &em));
  OK(raft_fsm_set_result_destructor(fsm, NULL, &em));
  raft_fsm_free(fsm);
}

/* Every entry point with a NULL handle: RAFT_EINVAL naming the argument. */
static void test_null_handles(void) {
  raft_future *f = NULL;
  raft_configuration *conf = raft_configuration_create();
  raft_config *cfg = raft_config_create();
  raft_fsm *fsm = raft_fsm_create(NULL, tfsm_apply, NULL, NULL, NULL, NULL);
  raft_node *node = NULL;
  uint64_t u = 0;
  int i = 0;
  size_t n = 0;
  char *s = NULL;
  const void *data = NULL;
  char buf[4];

  ERR(RAFT_EINVAL, "config is NULL", raft_config_validate(NULL, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_id(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_cluster_id(NULL, "x", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_transport(NULL, "tcp", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_bind_address(NULL, "x", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_advertise_address(NULL, "x", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_memory_network(NULL, NULL, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_store(NULL, "wal", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_data_dir(NULL, "x", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_heartbeat_interval_ms(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_election_timeout_ms(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_commit_timeout_ms(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_leader_lease_timeout_ms(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_append_entries(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_append_bytes(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_inflight_appends(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_inflight_bytes(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_pending_bytes(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_max_pending_commands(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_trailing_logs(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_snapshot_interval_ms(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_snapshot_threshold(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_retain_snapshots(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_no_snapshot_restore_on_start(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_pre_vote(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_check_quorum(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_shutdown_on_remove(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_log_level(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_log_callback(NULL, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_tls(NULL, "a", "b", "c", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set_tls_verify_peer_id(NULL, 1, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_set(NULL, "id", "1", &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_config_get(NULL, "id", &s, &em));

  ERR(RAFT_EINVAL, "configuration is NULL", raft_configuration_add(NULL, 1, "x", 1, &em));
  ERR(RAFT_EINVAL, "configuration is NULL", raft_configuration_count(NULL, &n, &em));
  ERR(RAFT_EINVAL, "configuration is NULL", raft_configuration_get(NULL, 0, &u, NULL, &i, &em));

  ERR(RAFT_EINVAL, "network is NULL", raft_network_partition(NULL, NULL, 0, NULL, 0, &em));
  ERR(RAFT_EINVAL, "network is NULL", raft_network_isolate(NULL, 1, &em));
  ERR(RAFT_EINVAL, "network is NULL", raft_network_heal(NULL, &em));
  ERR(RAFT_EINVAL, "network is NULL", raft_network_set_drop_rate(NULL, 0.5, &em));

  ERR(RAFT_EINVAL, "fsm is NULL", raft_fsm_set_result_destructor(NULL, free, &em));
  ERR(RAFT_EINVAL, "writer is NULL", raft_snapshot_writer_write(NULL, "x", 1, &em));
  ERR(RAFT_EINVAL, "reader is NULL", raft_snapshot_reader_read(NULL, buf, sizeof buf, &n, &em));

  ERR(RAFT_EINVAL, "config is NULL", raft_node_start(NULL, fsm, &node, &em));
  ERR(RAFT_EINVAL, "fsm is NULL", raft_node_start(cfg, NULL, &node, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_start(cfg, fsm, NULL, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_shutdown(NULL, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_bootstrap(NULL, conf, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_apply(NULL, "x", 1, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_apply_async(NULL, "x", 1, 0, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_barrier(NULL, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_verify_leader(NULL, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_read_index(NULL, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_state(NULL, &i, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_leader(NULL, &u, &s, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_id(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_address(NULL, &s, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_term(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_last_index(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_commit_index(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_applied_index(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_last_contact_ms(NULL, &u, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_stats(NULL, &s, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_configuration(NULL, &conf, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_committed_configuration(NULL, &conf, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_add_voter(NULL, 2, "x", 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_add_nonvoter(NULL, 2, "x", 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_remove_server(NULL, 2, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_demote_voter(NULL, 2, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_change_configuration(NULL, conf, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_transfer_leadership(NULL, 0, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_snapshot(NULL, &f, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_restore(NULL, 0, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_set_leader_callback(NULL, NULL, NULL, &em));
  ERR(RAFT_EINVAL, "node is NULL", raft_node_reload_tls(NULL, &em));
  ERR(RAFT_EINVAL, "config is NULL", raft_recover_cluster(NULL, conf, &em));
  ERR(RAFT_EINVAL, "conf is NULL", raft_recover_cluster(cfg, NULL, &em));

  ERR(RAFT_EINVAL, "future is NULL", raft_future_await(NULL, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_future_await_for(NULL, 1, &i, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_future_ready(NULL, &i, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_future_status(NULL, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_future_index(NULL, &u, &em));
  ERR(RAFT_EINVAL, "future is NULL", raft_future_result(NULL, &data, &n, &em));
  CHECK(f == NULL && node == NULL);

  raft_fsm_free(fsm);
  raft_config_free(cfg);
  raft_configuration_free(conf);
}

int main(void) {
  test_version_and_names();
  test_config_typed_setters();
  test_config_by_name();
  test_config_validation();
  test_configuration_handle();
  test_network_handle();
  test_fsm_handle();
  test_null_handles();
  printf("api_test: OK\n");
  return 0;
}
