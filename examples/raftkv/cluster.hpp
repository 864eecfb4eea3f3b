// How raftkv nodes find each other's HTTP addresses, and how a new node
// enters a running cluster.
//
// Raft only knows Raft addresses. Clients need the leader's HTTP address
// (a follower names it in its 503 answers), so the HTTP addresses are
// kept in the replicated state itself (KvFsm's address book, changed by
// register_http commands):
//  - a node that becomes leader registers its own address, unless the
//    address book already holds it (LeaderRegistrar);
//  - a joining node sends its address with POST /members, and the leader
//    registers it (server.cpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "kv_fsm.hpp"
#include "raft/raft.hpp"

namespace raftkv {

// A one-way flag: "stop now", set by the signal thread (or by main),
// waited on by main and by the join loop. Thread-safe.
class StopSignal {
 public:
  void request() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }
  bool requested() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }
  // Sleeps up to `d`; true if a stop was requested.
  bool wait_for(std::chrono::milliseconds d) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, d, [&] { return stop_; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stop_ = false;
};

// Makes the leader's HTTP address known to every node: when this node
// leads and the replicated address book does not hold its address, it
// applies register_http for itself (and retries while that fails).
//
// Node::on_leader_change calls its observer on libraft's apply thread,
// where blocking on a Future would deadlock; poke() only wakes this
// class's own thread, which does the work.
class LeaderRegistrar {
 public:
  // `node` and `fsm` are borrowed and must outlive stop().
  LeaderRegistrar(raft::Node& node, KvFsm& fsm, raft::ServerId self, std::string http_address);
  ~LeaderRegistrar();  // stops

  void start();
  // Non-blocking; safe on any thread, including libraft's apply thread.
  void poke();
  // Joins the thread. A register_http in flight is abandoned (it resolves
  // when the node shuts down).
  void stop();

 private:
  void run();
  void maybe_register();

  raft::Node& node_;
  KvFsm& fsm_;
  const raft::ServerId self_;
  const std::string http_address_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;  // guarded by mu_
  bool stop_ = false;   // guarded by mu_
  std::thread thread_;
};

struct JoinRequest {
  std::string url;  // a member's HTTP address: http(s)://HOST:PORT (or HOST:PORT)
  raft::ServerId id = 0;
  std::string raft_address;
  std::string http_address;
  std::chrono::seconds give_up_after{30};
  // With TLS (--tls-ca): members are reached over HTTPS (the default
  // scheme of a URL without one) and their certificates checked against
  // this CA file. Empty: plain HTTP.
  std::string tls_ca_file;
};

// Asks the cluster to add this node as a voter (POST /members), following
// 503 answers to the leader named in X-Raft-Leader-Http and retrying with
// backoff on errors that may pass (no leader yet, 409 busy, 504, a member
// that does not answer). OK once a member answered 200; an error saying
// why otherwise (kAborted when `stop` was requested, kTimeout when
// give_up_after passed, kInvalidArgument for a refusal such as 400).
raft::Status join_cluster(const JoinRequest& request, const StopSignal& stop);

}  // namespace raftkv
