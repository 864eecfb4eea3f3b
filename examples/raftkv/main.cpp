// raftkv: a replicated key-value store with an HTTP API, on libraft's
// public C++ API (README.md shows how to run a cluster).
//
// This file is the life of one node:
//   1. read the flags (options.cpp);
//   2. start the Raft node on --dir, with a KvFsm (kv_fsm.cpp);
//   3. bootstrap a new cluster (--peers), or ask to join one (--join,
//      cluster.cpp), or just carry on from the state in --dir;
//   4. serve the HTTP API (server.cpp) until SIGINT or SIGTERM, or until
//      the node stops by itself (removed from the cluster); with TLS,
//      reload the certificates on SIGHUP (tls.hpp);
//   5. shut down in order: HTTP first (requests in progress finish), then
//      the node (its log is closed cleanly).
//
// Exit codes: 0 after a clean shutdown (a signal, or removal from the
// cluster), 1 when the node cannot start, join or keep running, 2 for bad
// flags.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "cluster.hpp"
#include "kv_fsm.hpp"
#include "log.hpp"
#include "options.hpp"
#include "raft/raft.hpp"
#include "server.hpp"
#include "tls.hpp"

using namespace std::chrono_literals;
using raft::LogLevel;

namespace raftkv {
namespace {

raft::Config make_raft_config(const Options& o) {
  raft::Config c;
  c.id = o.id;
  c.bind_address = o.raft_address;
  c.advertise_address = o.raft_address;
  c.data_dir = o.dir;
  c.heartbeat_interval = o.heartbeat_ms;
  c.election_timeout = o.election_ms;
  // A leader that has not heard from a majority for an election timeout
  // steps down (check-quorum); at most the election timeout, by rule.
  c.leader_lease_timeout = o.election_ms;
  c.snapshot_threshold = o.snapshot_threshold;
  c.snapshot_interval = o.snapshot_interval_ms;
  c.trailing_logs = o.trailing_logs;
  c.log_level = o.log_level;
  c.log_callback = [](LogLevel level, std::string_view message) { log_line(level, message); };
  c.tls_ca_file = o.tls_ca_file;
  c.tls_cert_file = o.tls_cert_file;
  c.tls_key_file = o.tls_key_file;
  c.tls_verify_peer_id = o.tls_verify_peer_id;
  return c;
}

// One SIGHUP: the HTTPS certificate and key, then libraft's files (the
// CA, certificate and key of the Raft connections). Each keeps its old
// files if the new ones are bad. One log line says what happened.
void reload_tls(const Options& o, CertificateStore& certs, raft::Node& node) {
  const std::string before = certs.serial();
  raft::Status https = certs.load(o.tls_cert_file, o.tls_key_file);
  raft::Status transport = node.reload_tls();
  const bool ok = https.ok() && transport.ok();
  log(ok ? LogLevel::kInfo : LogLevel::kError, "SIGHUP: ",
      ok ? "TLS files reloaded" : https.ok() || transport.ok() ? "TLS reload failed in part" : "TLS reload failed",
      "; HTTPS: ",
      https.ok() ? "now presents certificate serial " + certs.serial()
                 : https.message() + " (still presents certificate serial " + before + ")",
      "; Raft transport: ", transport.ok() ? "reloaded" : transport.message() + " (it keeps the previous files)");
}

bool is_member(const raft::ClusterConfiguration& c, raft::ServerId id) {
  return std::any_of(c.servers.begin(), c.servers.end(), [&](const raft::ServerInfo& s) { return s.id == id; });
}

std::string describe(const std::vector<raft::ServerInfo>& servers) {
  std::string out;
  for (const raft::ServerInfo& s : servers) {
    if (!out.empty()) out += ", ";
    out += server_name(s.id) + "=" + s.address + (s.voter ? "" : " (non-voter)");
  }
  return out;
}

// Everything after the flags. `stop` and `reload` are set by the signal
// thread.
int run(const Options& o, const StopSignal& stop, ReloadSignal& reload) {
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) {
    log(LogLevel::kError, "cannot create --dir ", o.dir, ": ", ec.message());
    return 1;
  }
  raft::Config config = make_raft_config(o);
  if (raft::Status v = config.validate(); !v.ok()) {
    std::fprintf(stderr, "raftkv: %s\n", v.message().c_str());
    return 2;
  }

  // The HTTPS certificate, loaded (and checked) before anything starts.
  std::shared_ptr<CertificateStore> certs;
  if (o.tls()) {
    certs = std::make_shared<CertificateStore>();
    if (raft::Status loaded = certs->load(o.tls_cert_file, o.tls_key_file); !loaded.ok()) {
      log(LogLevel::kError, "--tls-cert/--tls-key: ", loaded.message());
      return 1;
    }
    // libraft reads the CA file itself; say early when it cannot be read.
    if (::access(o.tls_ca_file.c_str(), R_OK) != 0) {
      log(LogLevel::kError, "--tls-ca: cannot read ", o.tls_ca_file, ": ", std::strerror(errno));
      return 1;
    }
  }

  auto fsm = std::make_shared<KvFsm>();
  auto started = raft::Node::start(config, fsm);
  if (!started.ok()) {
    log(LogLevel::kError, "cannot start the Raft node: ", started.status().to_string());
    return 1;
  }
  std::unique_ptr<raft::Node> node = std::move(*started);

  // The observer runs on libraft's apply thread: it only pokes the
  // registrar's own thread (see cluster.hpp).
  LeaderRegistrar registrar(*node, *fsm, o.id, o.http_address);
  node->on_leader_change([&registrar](std::optional<raft::ServerId>, uint64_t) { registrar.poke(); });
  registrar.start();
  HttpServer server(*node, *fsm, ServerSettings{o.id, o.http_address, o.request_timeout_ms, certs});
  // SIGHUP's work, on a thread of its own (the signal thread only asks).
  std::thread reloader;
  if (certs) {
    reloader = std::thread([&] {
      while (reload.wait()) reload_tls(o, *certs, *node);
    });
  }
  // In this order: a reload in progress finishes; HTTP requests in
  // progress finish; then the node (which resolves anything still
  // waiting); then the registrar, which the node's observer may poke until
  // the node is down.
  auto stop_all = [&] {
    reload.close();
    if (reloader.joinable()) reloader.join();
    server.stop();
    node->shutdown();
    registrar.stop();
  };

  // Take the HTTP port before bootstrapping: a node that cannot serve
  // exits without writing a first configuration.
  std::string why;
  raft::Status bound = server.bind(*parse_host_port(o.http_address, &why));
  if (!bound.ok()) {
    log(LogLevel::kError, "--http: ", bound.message());
    stop_all();
    return 1;
  }

  // What --dir holds is visible as soon as Node::start returns.
  const raft::ClusterConfiguration recovered = node->configuration();
  const bool has_state = node->last_index() > 0 || !recovered.servers.empty();
  const bool member = is_member(recovered, o.id);

  if (has_state) {
    log(LogLevel::kInfo, "recovered from ", o.dir, ": last log index ", node->last_index(), ", term ", node->term(),
        ", members ", describe(recovered.servers));
    if (!o.peers.empty())
      log(LogLevel::kInfo, "--peers ignored: ", o.dir, " already holds the cluster's configuration");
  } else if (!o.peers.empty()) {
    // Every initial node may run this at the same time with the same
    // --peers: each writes the same first configuration. A node that
    // already has state answers AlreadyExists, which is fine.
    raft::Status b = node->bootstrap(raft::ClusterConfiguration{o.peers});
    if (b.ok()) {
      log(LogLevel::kInfo, "bootstrapped a new cluster: ", describe(o.peers));
    } else if (b.code() == raft::ErrorCode::kAlreadyExists) {
      log(LogLevel::kInfo, "not bootstrapping: this node already has state");
    } else {
      log(LogLevel::kError, "cannot bootstrap the cluster: ", b.to_string());
      stop_all();
      return 1;
    }
  } else if (o.join_url.empty()) {
    log(LogLevel::kWarn, o.dir, " holds no state and neither --peers nor --join was given: waiting for a member ",
        "to add this node (POST /members on the leader)");
  }

  server.start();
  log(LogLevel::kInfo, "serving HTTP on ", o.scheme(), "://", o.http_address, " (Raft on ", o.raft_address,
      o.tls() ? ", mutual TLS" : "", ")");

  if (!o.join_url.empty()) {
    if (member) {
      log(LogLevel::kInfo, "already a member according to ", o.dir, "; not asking to join");
    } else {
      JoinRequest join{.url = o.join_url,
                       .id = o.id,
                       .raft_address = o.raft_address,
                       .http_address = o.http_address,
                       .tls_ca_file = o.tls_ca_file};
      raft::Status joined = join_cluster(join, stop);
      if (!joined.ok() && joined.code() != raft::ErrorCode::kAborted) {
        log(LogLevel::kError, "cannot join the cluster: ", joined.message());
        stop_all();
        return 1;
      }
    }
  }

  // Serve until a signal, or until the node stops by itself.
  int code = 0;
  while (!stop.wait_for(250ms)) {
    if (node->state() != raft::Role::kShutdown) continue;
    if (!is_member(node->configuration(), o.id)) {
      log(LogLevel::kInfo, "this node was removed from the cluster; exiting");
    } else {
      log(LogLevel::kError, "the Raft node stopped on its own (see the errors above); exiting");
      code = 1;
    }
    break;
  }
  log(LogLevel::kInfo, "shutting down");
  stop_all();
  log(LogLevel::kInfo, "stopped");
  return code;
}

}  // namespace
}  // namespace raftkv

int main(int argc, char** argv) {
  using namespace raftkv;
  // Signals: SIGINT, SIGTERM and SIGHUP are blocked here, before any other
  // thread exists, so every thread inherits the mask and they are only
  // ever received by the signal thread's sigwait below: no signal handler,
  // no async-signal-safety concerns. The signal thread only records them;
  // run()'s threads do the work.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that hangs up mid-answer must not kill the server.
  signal(SIGPIPE, SIG_IGN);

  ParsedOptions parsed = parse_options(argc, argv);
  if (parsed.kind == ParsedOptions::Kind::kHelp) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  if (parsed.kind == ParsedOptions::Kind::kError) {
    std::fprintf(stderr, "raftkv: %s\n", parsed.error.c_str());
    return 2;
  }
  const Options& options = parsed.options;
  log_init(server_name(options.id), options.log_level);

  StopSignal stop;
  ReloadSignal reload;
  std::atomic<bool> exiting{false};
  std::thread signal_thread([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (exiting.load()) return;  // main is done: its wake-up call
      if (sig == SIGHUP) {
        if (options.tls()) {
          log(LogLevel::kInfo, "received SIGHUP; reloading the TLS files");
          reload.request();
        } else {
          log(LogLevel::kInfo, "received SIGHUP; nothing to reload (no --tls-* flags)");
        }
        continue;
      }
      // A second signal changes nothing: the shutdown is bounded (by the
      // request timeout) and exits 0; kill -9 remains for the impatient.
      const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      log(LogLevel::kInfo, "received ", name, stop.requested() ? "; already shutting down" : "; shutting down");
      stop.request();
    }
  });

  int code = run(options, stop, reload);

  exiting.store(true);
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return code;
}
