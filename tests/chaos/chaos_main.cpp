// raftkv_chaos: black-box fault injection against real raftkv processes.
//
// Each node runs in its own network namespace (netns.hpp). Clients write,
// read and compare-and-set a few keys through the HTTP API while a nemesis
// kills, pauses, partitions and slows nodes on a schedule drawn from a
// seed. Every operation is recorded with its outcome (ok, failed, or
// unknown when the client cannot tell). At the end the faults are healed
// and the test checks:
//   1. the cluster takes writes again within a few seconds;
//   2. no acknowledged write is lost (a separate writer's acknowledged keys
//      are all there, with their values);
//   3. every replica converges to the same data;
//   4. the history is linearizable (linearizability.hpp);
//   5. no node crashed, and every node exits cleanly on SIGTERM.
//
//   raftkv_chaos --raftkv PATH [--nodes 3] [--duration 60] [--seed N] ...
//   raftkv_chaos --check history.jsonl     (re-check a saved history)
//
// Exit status: 0 all checks passed, 1 a check failed, 2 bad usage, 77 the
// network namespaces cannot be set up here (ctest reports a skip).
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "httplib.h"
#include "kv_cluster.hpp"
#include "history_io.hpp"
#include "netns.hpp"

namespace raft::chaos {
namespace {

using testing::CheckOutcome;
using testing::OpKind;
using testing::OpOutcome;
using testing::Operation;

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Options {
  std::string raftkv;
  std::string dir;
  std::string check_file;
  int nodes = 3;
  int duration_s = 60;
  uint64_t seed = 0;
  int clients = 6;
  int keys = 0;  // 0: scaled with the duration (see parse)
  int recover_s = 10;  // the cluster must take writes this soon after healing
  bool keep = false;
};

// ---------------------------------------------------------------------------
// Clients

// One client's view of the cluster: which node it believes leads.
class KvClient {
 public:
  KvClient(const KvCluster& cluster, int id, uint64_t seed) : cluster_(cluster), id_(id), rng_(seed) {
    target_ = 1 + static_cast<int>(rng_() % cluster.size());
  }

  struct Reply {
    int status = 0;  // 0: no answer (connection refused, timeout)
    std::string body;
    std::string leader_http;
  };

  Reply send(const std::string& method, const std::string& path, const std::string& body) {
    httplib::Client& c = client(target_);
    httplib::Result r = method == "GET"    ? c.Get(path)
                        : method == "PUT"  ? c.Put(path, body, "application/octet-stream")
                        : method == "POST" ? c.Post(path, body, "application/octet-stream")
                                           : c.Delete(path);
    Reply out;
    if (!r) {
      // The node may be dead, paused or cut off: try another next time.
      clients_.erase(target_);
      retarget(0);
      return out;
    }
    out.status = r->status;
    out.body = r->body;
    out.leader_http = r->get_header_value("X-Raft-Leader-Http");
    if (out.status == 503) retarget(cluster_.node_of_http(out.leader_http));
    return out;
  }

  std::mt19937_64& rng() { return rng_; }
  int id() const { return id_; }

 private:
  void retarget(int hint) {
    if (hint > 0) target_ = hint;
    else target_ = 1 + static_cast<int>(rng_() % cluster_.size());
  }
  httplib::Client& client(int node) {
    auto it = clients_.find(node);
    if (it != clients_.end()) return *it->second;
    auto c = std::make_unique<httplib::Client>("http://" + cluster_.http_address(node));
    c->set_connection_timeout(0, 300'000);
    c->set_read_timeout(3, 0);  // above the server's request timeout: its 504 normally comes first
    c->set_write_timeout(1, 0);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);  // small requests: no Nagle delay behind a delayed ACK
    return *clients_.emplace(node, std::move(c)).first->second;
  }

  const KvCluster& cluster_;
  int id_;
  std::mt19937_64 rng_;
  int target_ = 1;
  std::map<int, std::unique_ptr<httplib::Client>> clients_;
};

struct History {
  std::mutex mu;
  std::vector<Operation> ops;
  std::map<int, int> unexpected;  // HTTP statuses no client should see
  std::vector<std::string> unexpected_samples;
  void add(Operation op) {
    std::lock_guard<std::mutex> lock(mu);
    ops.push_back(std::move(op));
  }
  void strange(int status, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    if (unexpected[status]++ < 3) unexpected_samples.push_back(what);
  }
};

// Percent-encodes a query parameter value.
std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

// What a client asks; a delete is a write of "absent" to the checker.
enum class Req { kGet, kPut, kDelete, kCas };

// Runs one request and records it. Reads without a certain answer are
// recorded as failed (the checker drops them either way); writes without
// one as unknown. Returns what it recorded.
Operation run_op(KvClient& kc, History& h, Req req, const std::string& key, const std::string& value = "",
                 const std::string& expected = "") {
  Operation op;
  op.client = kc.id();
  op.key = key;
  op.kind = req == Req::kGet ? OpKind::kRead : req == Req::kCas ? OpKind::kCas : OpKind::kWrite;
  if (req == Req::kPut || req == Req::kCas) op.value = value;
  if (req == Req::kCas) op.expected = expected;
  std::string path = "/kv/" + key;
  op.invoke_ns = now_ns();
  KvClient::Reply r;
  switch (req) {
    case Req::kGet: r = kc.send("GET", path, ""); break;
    case Req::kPut: r = kc.send("PUT", path, value); break;
    case Req::kDelete: r = kc.send("DELETE", path, ""); break;
    case Req::kCas: r = kc.send("POST", path + "?cas=" + url_encode(expected), value); break;
  }
  op.return_ns = now_ns();
  op.outcome = OpOutcome::kOk;
  std::optional<Operation> observed;  // a 409's current value, as a read
  if (r.status == 0 || r.status == 504) {
    op.outcome = req == Req::kGet ? OpOutcome::kFailed : OpOutcome::kUnknown;
  } else if (r.status == 503) {
    op.outcome = OpOutcome::kFailed;  // refused before it was submitted
  } else if (req == Req::kGet && (r.status == 200 || r.status == 404)) {
    if (r.status == 200) op.read_value = r.body;
  } else if (req == Req::kCas && r.status == 200) {
    op.swapped = true;
  } else if (req == Req::kCas && r.status == 409) {
    op.swapped = false;
    // The server also says what the value was when the cas ran. A read
    // over the same interval is a sound (if weaker) way to record that:
    // the cas's own moment is one place that read may take.
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("current")) {
      h.strange(r.status, "409 without a current value: " + r.body);
    } else {
      observed = op;
      observed->kind = OpKind::kRead;
      observed->value = observed->expected = std::nullopt;
      if (j["current"].is_string()) observed->read_value = j["current"].get<std::string>();
    }
  } else if ((req == Req::kPut || req == Req::kDelete) && r.status == 200) {
    // done
  } else {
    h.strange(r.status, testing::format_operation(op, 0) + " -> " + std::to_string(r.status) + " " +
                            r.body.substr(0, 200));
    op.outcome = req == Req::kGet ? OpOutcome::kFailed : OpOutcome::kUnknown;
  }
  h.add(op);
  if (observed) h.add(*observed);
  if (observed) op.read_value = observed->read_value;  // for the caller's bookkeeping
  return op;
}

// A client: random reads, writes, deletes and cas on a few keys. Values are
// unique, so the checker can tell every write apart (and stays fast).
void client_loop(KvClient& kc, History& h, int keys, const std::atomic<bool>& stop) {
  std::map<std::string, std::string> last_seen;
  for (uint64_t seq = 0; !stop; ++seq) {
    std::mt19937_64& rng = kc.rng();
    std::string key = "k" + std::to_string(rng() % keys);
    std::string fresh = "c" + std::to_string(kc.id()) + "-" + std::to_string(seq);
    int dice = static_cast<int>(rng() % 100);
    Operation done;
    if (dice < 40) {
      done = run_op(kc, h, Req::kGet, key);
    } else if (dice < 70) {
      done = run_op(kc, h, Req::kPut, key, fresh);
    } else if (dice < 95) {
      auto it = last_seen.find(key);
      done = run_op(kc, h, Req::kCas, key, fresh, it != last_seen.end() ? it->second : "none");
    } else {
      done = run_op(kc, h, Req::kDelete, key);
    }
    if (done.outcome != OpOutcome::kOk) continue;
    if (done.kind == OpKind::kRead && done.read_value) last_seen[key] = *done.read_value;
    if (done.kind == OpKind::kCas && !done.swapped && done.read_value) last_seen[key] = *done.read_value;
    if (done.kind == OpKind::kWrite && done.value) last_seen[key] = *done.value;
    if (done.kind == OpKind::kCas && done.swapped) last_seen[key] = *done.value;
  }
}

// Writes unique keys and remembers the acknowledged ones: after the chaos,
// every one of them must still be there.
struct AckWriter {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acked;
  uint64_t attempts = 0;
  void loop(KvClient& kc, const std::atomic<bool>& stop) {
    for (uint64_t n = 0; !stop; ++n) {
      std::string key = "ack/" + std::to_string(n), value = "v" + std::to_string(n);
      KvClient::Reply r = kc.send("PUT", "/kv/" + key, value);
      std::lock_guard<std::mutex> lock(mu);
      ++attempts;
      if (r.status == 200) acked.push_back({key, value});
    }
  }
};

// ---------------------------------------------------------------------------
// Asking the cluster

struct NodeStatus {
  bool ok = false;
  std::string state;
  uint64_t term = 0, commit = 0, applied = 0, last = 0;
};

NodeStatus status_of(const KvCluster& c, int node) {
  httplib::Client cl("http://" + c.http_address(node));
  cl.set_connection_timeout(0, 300'000);
  cl.set_read_timeout(0, 500'000);
  NodeStatus s;
  auto r = cl.Get("/status");
  if (!r || r->status != 200) return s;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return s;
  s.ok = true;
  s.state = j.value("state", "");
  s.term = j.value("term", uint64_t{0});
  s.commit = j.value("commit_index", uint64_t{0});
  s.applied = j.value("applied_index", uint64_t{0});
  s.last = j.value("last_log_index", uint64_t{0});
  return s;
}

// The node that says it leads with the highest term, or 0.
int find_leader(const KvCluster& c) {
  int best = 0;
  uint64_t best_term = 0;
  for (int i = 1; i <= c.size(); ++i) {
    if (!c.running(i) || c.paused(i)) continue;
    NodeStatus s = status_of(c, i);
    if (s.ok && s.state == "leader" && s.term >= best_term) {
      best = i;
      best_term = s.term;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// The nemesis

struct FaultLog {
  std::map<std::string, int> counts;
  std::vector<std::string> lines;
  Clock::time_point start = Clock::now();
  // `kind` names a fault; empty for the end of one (heal, restart, resume).
  void add(const std::string& kind, const std::string& what) {
    if (!kind.empty()) ++counts[kind];
    char t[32];
    snprintf(t, sizeof t, "%7.2fs ", std::chrono::duration<double>(Clock::now() - start).count());
    lines.push_back(t + what);
    std::cerr << "chaos: " << t << what << "\n";
  }
};

std::string nodes_str(const std::vector<int>& v) {
  std::string s;
  for (int n : v) s += (s.empty() ? "n" : ",n") + std::to_string(n);
  return s;
}

class Nemesis {
 public:
  Nemesis(NetNs& net, KvCluster& cluster, uint64_t seed, FaultLog& log)
      : net_(net), c_(cluster), rng_(seed), log_(log) {}

  // One fault, held for a while, then healed. Returns false on a setup
  // error (a node that cannot be restarted).
  bool step(std::string* why) {
    int n = c_.size();
    auto pick = [&] { return 1 + static_cast<int>(rng_() % n); };
    auto hold = [&](int min_ms, int max_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(min_ms + rng_() % (max_ms - min_ms + 1)));
    };
    int leader = find_leader(c_);
    int victim = leader > 0 && rng_() % 2 ? leader : pick();
    switch (rng_() % 8) {
      case 0:
      case 1: {  // crash and restart
        log_.add("kill", "SIGKILL n" + std::to_string(victim) + (victim == leader ? " (leader)" : ""));
        c_.kill(victim);
        hold(300, 2500);
        if (!c_.start(victim, why)) return false;
        log_.add("", "restart n" + std::to_string(victim));
        break;
      }
      case 2: {  // a process that stops answering for a while (GC pause, VM stall)
        log_.add("pause", "SIGSTOP n" + std::to_string(victim) + (victim == leader ? " (leader)" : ""));
        c_.pause(victim);
        hold(500, 3000);
        c_.resume(victim);
        log_.add("", "SIGCONT n" + std::to_string(victim));
        break;
      }
      case 3: {  // the leader alone on its side
        int l = leader > 0 ? leader : pick();
        std::vector<int> rest;
        for (int i = 1; i <= n; ++i)
          if (i != l) rest.push_back(i);
        net_.partition({l}, rest);
        log_.add("isolate", "isolate n" + std::to_string(l) + (l == leader ? " (leader)" : "") + " from " +
                                  nodes_str(rest));
        hold(1000, 4000);
        heal();
        break;
      }
      case 4: {  // majority / minority, random sides
        std::vector<int> all;
        for (int i = 1; i <= n; ++i) all.push_back(i);
        std::shuffle(all.begin(), all.end(), rng_);
        std::vector<int> minority(all.begin(), all.begin() + (n - 1) / 2), majority(all.begin() + (n - 1) / 2, all.end());
        net_.partition(minority, majority);
        log_.add("split", "split " + nodes_str(minority) + " | " + nodes_str(majority));
        hold(1000, 4000);
        heal();
        break;
      }
      case 5: {  // a bridge: two sides that cannot talk, one node that talks to both
        std::vector<int> all;
        for (int i = 1; i <= n; ++i) all.push_back(i);
        std::shuffle(all.begin(), all.end(), rng_);
        int bridge = all.back();
        all.pop_back();
        std::vector<int> a(all.begin(), all.begin() + all.size() / 2), b(all.begin() + all.size() / 2, all.end());
        net_.partition(a, b);
        log_.add("bridge", "bridge " + nodes_str(a) + " | " + nodes_str(b) + " through n" + std::to_string(bridge));
        hold(1000, 4000);
        heal();
        break;
      }
      case 6: {  // a slow, lossy link
        std::string how = net_.slow_link(victim, 50 + static_cast<int>(rng_() % 150), 5);
        log_.add("slow", "slow link on n" + std::to_string(victim) + " (" + how + ")");
        hold(1000, 3000);
        heal();
        break;
      }
      case 7: {  // a majority crashes at once, then comes back
        std::vector<int> all;
        for (int i = 1; i <= n; ++i) all.push_back(i);
        std::shuffle(all.begin(), all.end(), rng_);
        std::vector<int> down(all.begin(), all.begin() + n / 2 + 1);
        log_.add("kill-majority", "SIGKILL majority " + nodes_str(down));
        for (int v : down) c_.kill(v);
        hold(200, 1500);
        for (int v : down)
          if (!c_.start(v, why)) return false;
        log_.add("", "restart " + nodes_str(down));
        break;
      }
    }
    hold(500, 2000);  // quiet time: let the cluster make progress
    return true;
  }

  void heal() {
    log_.add("", "heal");
    net_.heal_all();
  }

  // Ends every fault: network healed, paused nodes resumed, dead ones
  // restarted.
  bool heal_everything(std::string* why) {
    net_.heal_all();
    for (int i = 1; i <= c_.size(); ++i) {
      c_.resume(i);
      if (!c_.running(i) && !c_.start(i, why)) return false;
    }
    log_.add("", "all faults healed");
    return true;
  }

 private:
  NetNs& net_;
  KvCluster& c_;
  std::mt19937_64 rng_;
  FaultLog& log_;
};

// ---------------------------------------------------------------------------

void usage() {
  std::cout << "usage: raftkv_chaos --raftkv PATH [options]\n"
               "       raftkv_chaos --check HISTORY.jsonl\n\n"
               "  --raftkv PATH     the raftkv binary to test\n"
               "  --nodes N         cluster size (3 or 5; default 3)\n"
               "  --duration S      seconds of faults (default 60)\n"
               "  --seed N          the fault schedule and client choices (default: from the clock)\n"
               "  --clients N       concurrent clients (default 6)\n"
               "  --keys N          keys the clients share (default: 4, one more per 15 s beyond 60 s,\n"
               "                    so that each key's history stays small enough to check exactly)\n"
               "  --recover S       after healing, writes must succeed within S seconds (default 10)\n"
               "  --dir DIR         data, logs and the history (default: a fresh folder under /tmp)\n"
               "  --keep            keep DIR even when every check passes\n"
               "  --check FILE      only check a history saved by an earlier run\n";
}

bool parse(int argc, char** argv, Options* o) {
  static option longs[] = {{"raftkv", 1, nullptr, 'r'},  {"nodes", 1, nullptr, 'n'},   {"duration", 1, nullptr, 'd'},
                           {"seed", 1, nullptr, 's'},    {"clients", 1, nullptr, 'c'}, {"keys", 1, nullptr, 'k'},
                           {"recover", 1, nullptr, 'R'}, {"dir", 1, nullptr, 'D'},     {"keep", 0, nullptr, 'K'},
                           {"check", 1, nullptr, 'C'},   {"help", 0, nullptr, 'h'},    {nullptr, 0, nullptr, 0}};
  o->seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) % 1000000;
  int ch;
  try {
    while ((ch = getopt_long(argc, argv, "", longs, nullptr)) != -1) {
      switch (ch) {
        case 'r': o->raftkv = optarg; break;
        case 'n': o->nodes = std::stoi(optarg); break;
        case 'd': o->duration_s = std::stoi(optarg); break;
        case 's': o->seed = std::stoull(optarg); break;
        case 'c': o->clients = std::stoi(optarg); break;
        case 'k': o->keys = std::stoi(optarg); break;
        case 'R': o->recover_s = std::stoi(optarg); break;
        case 'D': o->dir = optarg; break;
        case 'K': o->keep = true; break;
        case 'C': o->check_file = optarg; break;
        case 'h': usage(); exit(0);
        default: return false;
      }
    }
  } catch (const std::exception&) {
    std::cerr << "raftkv_chaos: a numeric flag has a bad value\n";
    return false;
  }
  if (!o->check_file.empty()) return true;
  // The checker's cost grows faster than linearly with one key's history;
  // more keys keep each one at a size it decides in seconds.
  if (o->keys == 0) o->keys = std::max(4, o->duration_s / 15);
  if (o->raftkv.empty()) {
    std::cerr << "raftkv_chaos: --raftkv is required\n";
    return false;
  }
  if (o->nodes < 3 || o->nodes > 9 || o->duration_s < 1 || o->clients < 1 || o->keys < 0) {
    std::cerr << "raftkv_chaos: --nodes must be 3..9, --duration and --clients positive\n";
    return false;
  }
  return true;
}

// Checks a history and prints one line per key.
testing::CheckResult check_and_report(const std::vector<Operation>& ops, double* seconds) {
  Clock::time_point t0 = Clock::now();
  testing::CheckResult r = testing::check(ops);
  *seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const testing::KeyStats& k : r.keys)
    std::cout << "chaos:   key " << k.key << ": " << testing::check_outcome_name(k.outcome) << " (" << k.operations
              << " ops, " << k.dropped_ops << " dropped, " << k.search_steps << " steps, " << k.elapsed_us / 1000
              << " ms)\n";
  return r;
}

int check_file(const std::string& path) {
  std::vector<Operation> h;
  std::string err;
  if (!load_history(path, &h, &err)) {
    std::cerr << "raftkv_chaos: " << err << "\n";
    return 2;
  }
  double seconds;
  testing::CheckResult r = check_and_report(h, &seconds);
  std::cout << "chaos: linearizability " << testing::check_outcome_name(r.outcome) << "\n";
  if (!r.explanation.empty()) std::cout << r.explanation << "\n";
  return r.outcome == CheckOutcome::kNotLinearizable ? 1 : 0;
}

int run(const Options& o) {
  NetNs net;
  std::string why;
  if (!net.setup(o.nodes, &why)) {
    std::cout << "SKIP: cannot set up network namespaces: " << why << "\n";
    return 77;
  }
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/raftkv-chaos-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::cerr << "raftkv_chaos: cannot make a temporary folder\n";
      return 2;
    }
    dir = tmpl;
  } else {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  std::cout << "chaos: seed " << o.seed << ", " << o.nodes << " nodes, " << o.duration_s << " s, " << o.clients
            << " clients on " << o.keys << " keys, dir " << dir << (net.has_netem() ? "" : " (no netem: tbf for slow links)")
            << "\n";
  std::cout.flush();

  KvCluster cluster(net, o.raftkv, dir, KvTiming{});
  std::vector<std::string> failures;
  for (int i = 1; i <= o.nodes; ++i)
    if (!cluster.start(i, &why)) {
      std::cerr << "raftkv_chaos: " << why << "\n";
      return 1;
    }
  // A leader first, so the run measures faults rather than startup.
  Clock::time_point t0 = Clock::now();
  while (find_leader(cluster) == 0) {
    if (Clock::now() - t0 > 20s) {
      std::cout << "FAIL: no leader 20 s after start\n";
      for (int i = 1; i <= o.nodes; ++i) std::cout << "n" << i << " log:\n" << cluster.tail_log(i, 20);
      return 1;
    }
    std::this_thread::sleep_for(50ms);  // polling the cluster's own state
  }

  History history;
  AckWriter acks;
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<KvClient>> kcs;
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    kcs.push_back(std::make_unique<KvClient>(cluster, i + 1, o.seed * 1000 + i));
    threads.emplace_back([&, kc = kcs.back().get()] { client_loop(*kc, history, o.keys, stop); });
  }
  kcs.push_back(std::make_unique<KvClient>(cluster, 0, o.seed * 1000 + 999));
  threads.emplace_back([&, kc = kcs.back().get()] { acks.loop(*kc, stop); });

  FaultLog faults;
  Nemesis nemesis(net, cluster, o.seed, faults);
  Clock::time_point end = Clock::now() + std::chrono::seconds(o.duration_s);
  bool setup_ok = true;
  while (Clock::now() < end && setup_ok) {
    setup_ok = nemesis.step(&why);
    for (std::string& crash : cluster.reap_crashes()) failures.push_back(crash);
  }
  if (!setup_ok || !nemesis.heal_everything(&why)) failures.push_back("restarting a node failed: " + why);

  // 1. Writes again soon after healing.
  Clock::time_point healed = Clock::now();
  double recovery_s = -1;
  {
    KvClient probe(cluster, 100, o.seed);
    while (Clock::now() - healed < std::chrono::seconds(o.recover_s)) {
      if (probe.send("PUT", "/kv/probe", "after-heal").status == 200) {
        recovery_s = std::chrono::duration<double>(Clock::now() - healed).count();
        break;
      }
      std::this_thread::sleep_for(20ms);  // retrying a request: the cluster's own pace
    }
  }
  if (recovery_s < 0) failures.push_back("the cluster did not take a write within " + std::to_string(o.recover_s) + " s of healing");
  // Clients go on for a moment on the healed cluster, then stop.
  std::this_thread::sleep_for(1s);  // a deliberate second of fault-free load, not a wait for a condition
  stop = true;
  for (std::thread& t : threads) t.join();

  // Final reads of every key, linearizable, recorded in the history: a lost
  // write shows up as a read the checker cannot place.
  KvClient reader(cluster, 99, o.seed + 7);
  std::map<std::string, std::optional<std::string>> final_values;
  for (int k = 0; k < o.keys; ++k) {
    std::string key = "k" + std::to_string(k);
    for (int attempt = 0; attempt < 200; ++attempt) {
      Operation last = run_op(reader, history, Req::kGet, key);
      if (last.outcome == OpOutcome::kOk) {
        final_values[key] = last.read_value;
        break;
      }
      std::this_thread::sleep_for(20ms);  // retrying a request
    }
    if (!final_values.count(key)) failures.push_back("no final read of " + key + " succeeded");
  }

  // 2. Every acknowledged write is still there.
  size_t lost = 0, checked = 0;
  for (const auto& [key, value] : acks.acked) {
    KvClient::Reply r;
    for (int attempt = 0; attempt < 50; ++attempt) {
      r = reader.send("GET", "/kv/" + key, "");
      if (r.status == 200 || r.status == 404) break;
      std::this_thread::sleep_for(20ms);  // retrying a request
    }
    ++checked;
    if (r.status != 200 || r.body != value) {
      if (lost++ < 5)
        failures.push_back("acknowledged write lost: " + key + "=" + value + " reads as " + std::to_string(r.status) +
                           " " + r.body);
    }
  }
  if (lost > 5) failures.push_back(std::to_string(lost) + " acknowledged writes lost in all");

  // 3. The replicas converge: once the leader has nothing uncommitted and
  // every node has applied its commit index, every node serves the same
  // values from its local state. (Compared with the leader's local state,
  // not with the final reads: a write whose outcome was unknown may still
  // have been in the leader's log, and committed after them.)
  int leader = 0;
  Clock::time_point conv_start = Clock::now();
  bool converged = false;
  while (!converged && Clock::now() - conv_start < 20s) {
    leader = find_leader(cluster);
    NodeStatus ls = leader ? status_of(cluster, leader) : NodeStatus{};
    converged = ls.ok && ls.commit >= ls.last;
    for (int i = 1; i <= o.nodes && converged; ++i) {
      NodeStatus s = status_of(cluster, i);
      converged = s.ok && s.applied >= ls.commit;
    }
    if (!converged) std::this_thread::sleep_for(50ms);  // polling replication progress
  }
  if (!converged) failures.push_back("replicas did not catch up with the leader within 20 s");
  auto local_value = [&](int node, const std::string& key, bool* ok) {
    httplib::Client cl("http://" + cluster.http_address(node));
    auto r = cl.Get("/kv/" + key + "?stale=true");
    *ok = r && (r->status == 200 || r->status == 404);
    return r && r->status == 200 ? std::optional<std::string>(r->body) : std::nullopt;
  };
  for (const auto& [key, unused] : final_values) {
    if (!converged) break;
    bool ok = false;
    std::optional<std::string> want = local_value(leader, key, &ok);
    for (int i = 1; i <= o.nodes && ok; ++i) {
      bool got_ok = false;
      std::optional<std::string> got = local_value(i, key, &got_ok);
      if (!got_ok || got != want)
        failures.push_back("n" + std::to_string(i) + " holds " + key + "=" + (got ? *got : "(absent)") +
                           ", the leader n" + std::to_string(leader) + " " + (want ? *want : "(absent)"));
    }
    if (!ok) failures.push_back("the leader n" + std::to_string(leader) + " did not answer a local read of " + key);
  }

  // 5. Clean shutdown, and no crash along the way.
  for (std::string& crash : cluster.reap_crashes()) failures.push_back(crash);
  int unclean = cluster.stop_all();
  if (unclean) failures.push_back(std::to_string(unclean) + " node(s) did not exit cleanly on SIGTERM");
  net.teardown();

  // 4. Linearizability.
  std::vector<Operation> ops;
  {
    std::lock_guard<std::mutex> lock(history.mu);
    ops = history.ops;
  }
  std::string history_path = dir + "/history.jsonl";
  std::string err;
  if (!save_history(history_path, ops, &err)) std::cerr << "raftkv_chaos: " << err << "\n";
  double check_s = 0;
  testing::CheckResult verdict = check_and_report(ops, &check_s);
  if (verdict.outcome == CheckOutcome::kNotLinearizable) failures.push_back("NOT LINEARIZABLE:\n" + verdict.explanation);
  if (!history.unexpected.empty())
    for (const std::string& s : history.unexpected_samples) failures.push_back("unexpected answer: " + s);

  // Summary.
  size_t ok = 0, failed = 0, unknown = 0;
  std::map<std::string, size_t> by_kind;
  for (const Operation& op : ops) {
    ok += op.outcome == OpOutcome::kOk;
    failed += op.outcome == OpOutcome::kFailed;
    unknown += op.outcome == OpOutcome::kUnknown;
    if (op.outcome == OpOutcome::kOk)
      ++by_kind[op.kind == OpKind::kRead ? "read" : op.kind == OpKind::kCas ? "cas" : op.value ? "write" : "delete"];
  }
  int fault_total = 0;
  std::string fault_list;
  for (const auto& [k, n] : faults.counts) {
    fault_total += n;
    fault_list += " " + k + "=" + std::to_string(n);
  }
  std::cout << "chaos: ops " << ops.size() << " (ok " << ok << ", failed " << failed << ", unknown " << unknown << ";";
  for (const auto& [k, n] : by_kind) std::cout << " " << k << " " << n;
  std::cout << ")\n";
  std::cout << "chaos: acknowledged unique writes " << acks.acked.size() << " of " << acks.attempts << ", all "
            << checked << " read back" << (lost ? " (SOME LOST)" : "") << "\n";
  std::cout << "chaos: faults " << fault_total << ":" << fault_list << "\n";
  std::cout << "chaos: writes resumed " << (recovery_s >= 0 ? std::to_string(recovery_s).substr(0, 5) + " s" : "never")
            << " after healing\n";
  std::cout << "chaos: linearizability " << testing::check_outcome_name(verdict.outcome) << " (checked in "
            << std::to_string(check_s).substr(0, 5) << " s)\n";
  if (verdict.outcome == CheckOutcome::kUnknown)
    std::cout << "chaos: the checker ran out of budget on some key; the run proves less than it could\n";
  if (failures.empty()) {
    std::cout << "chaos: PASS (seed " << o.seed << ")\n";
    if (!o.keep && o.dir.empty()) std::filesystem::remove_all(dir);
    return 0;
  }
  std::cout << "chaos: FAIL (seed " << o.seed << ")\n";
  for (const std::string& f : failures) std::cout << "  - " << f << "\n";
  std::cout << "chaos: faults in order:\n";
  for (const std::string& l : faults.lines) std::cout << "    " << l << "\n";
  std::cout << "chaos: history, node logs and data kept in " << dir << "\n"
            << "chaos: re-check with: raftkv_chaos --check " << history_path << "\n"
            << "chaos: rerun the schedule with: raftkv_chaos --raftkv " << o.raftkv << " --nodes " << o.nodes
            << " --duration " << o.duration_s << " --seed " << o.seed << "\n";
  return 1;
}

}  // namespace
}  // namespace raft::chaos

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  raft::chaos::Options o;
  if (!raft::chaos::parse(argc, argv, &o)) {
    raft::chaos::usage();
    return 2;
  }
  if (!o.check_file.empty()) return raft::chaos::check_file(o.check_file);
  return raft::chaos::run(o);
}
