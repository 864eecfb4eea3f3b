#include "sim/scenario.hpp"

#include <algorithm>
#include <sstream>

#include "sim/kv.hpp"
#include "sim/lin_check.hpp"

namespace raft::sim {

ScenarioParams ScenarioParams::for_seed(uint64_t seed) {
  core::Random r(seed * 0x2545f4914f6cdd1dULL + 7);
  ScenarioParams p;
  p.seed = seed;
  static const int kSizes[] = {1, 3, 3, 3, 5, 5, 5, 7};
  p.nodes = kSizes[r.below(8)];
  // Mostly everything at once; sometimes one kind of fault alone, which
  // finds bugs that a storm of faults hides.
  uint64_t mix = r.below(8);
  p.crashes = mix != 1 && mix != 2;
  p.partitions = mix != 3 && mix != 4;
  p.lossy_network = mix != 5;
  p.disk_stalls = mix != 6 && r.below(2) == 0;
  p.leader_churn = (p.crashes || p.partitions) && r.below(2) == 0;
  p.drift_ppm_max = static_cast<int64_t>(r.below(3)) * 10000;
  p.clients = 2 + static_cast<int>(r.below(5));
  p.keys = 1 + static_cast<int>(r.below(4));
  static const size_t kBatch[] = {1, 2, 8, 64};
  static const size_t kWindow[] = {1, 4, 16};
  p.append_entries_max = kBatch[r.below(4)];
  p.inflight_appends_max = kWindow[r.below(3)];
  // Leader churn with one entry per message leaves a term's entries
  // half-replicated most often (thesis Figure 8).
  if (p.leader_churn && r.below(2) == 0) p.append_entries_max = 1;
  return p;
}

std::string ScenarioParams::to_string() const {
  std::ostringstream os;
  os << "seed=" << seed << " nodes=" << nodes << " faults:" << (crashes ? " crash" : "")
     << (partitions ? " partition" : "") << (lossy_network ? " lossy-net" : "")
     << (disk_stalls ? " disk-stall" : "") << (leader_churn ? " leader-churn" : "") << " drift=" << drift_ppm_max << "ppm clients=" << clients
     << " keys=" << keys << " batch=" << append_entries_max << " window=" << inflight_appends_max;
  return os.str();
}

namespace {

core::Config sim_core_config(const ScenarioParams& p) {
  core::Config c;
  c.election_timeout = std::chrono::milliseconds(300);
  c.heartbeat_interval = std::chrono::milliseconds(50);
  c.commit_timeout = std::chrono::milliseconds(20);
  c.quorum_check_interval = std::chrono::milliseconds(300);
  c.append_entries_max = p.append_entries_max;
  c.inflight_appends_max = p.inflight_appends_max;
  return c;
}

class FaultInjector {
 public:
  FaultInjector(SimCluster& c, const ScenarioParams& p) : c_(c), p_(p) {}

  void start() {
    schedule();
    // Figure 8 of the thesis needs leaders that fall within moments of
    // their election, leaving entries of several terms on minorities.
    // Random faults rarely hit that window, so aim for it.
    c_.on_leader = [this](NodeId id, Term t) {
      if (stopped_ || !p_.leader_churn) return;
      if (c_.rng().below(3) == 0) strike(id, Nanos(static_cast<int64_t>(c_.rng().below(6'000'000))));
      first_commit_pending_[id] = t;
    };
    // ... and leaders that fall the moment they first commit something.
    c_.on_leader_commit = [this](NodeId id, Index) {
      auto it = first_commit_pending_.find(id);
      if (it == first_commit_pending_.end()) return;
      first_commit_pending_.erase(it);
      if (!stopped_ && c_.rng().below(2) == 0) strike(id, Nanos(static_cast<int64_t>(c_.rng().below(1'000'000))));
    };
  }

  // Crashes or isolates a node after a delay.
  void strike(NodeId id, Nanos after) {
      bool crash = p_.crashes && (!p_.partitions || c_.rng().below(2) == 0);
      c_.at(c_.now() + after, [this, id, crash] {
        if (stopped_ || !c_.up(id)) return;
        if (crash) {
          c_.crash(id);
          Nanos down(static_cast<int64_t>(c_.rng().below(800'000'000)));
          c_.at(c_.now() + down, [this, id] {
            if (!stopped_) c_.restart(id);
          });
        } else if (p_.partitions) {
          std::vector<NodeId> rest;
          for (NodeId other : c_.ids())
            if (other != id) rest.push_back(other);
          c_.heal();
          c_.partition({{id}, rest});
        }
      });
  }
  void stop() { stopped_ = true; }

  // Heals everything: network, disks, crashed nodes.
  void heal_all() {
    stopped_ = true;
    c_.heal();
    c_.network().drop = 0;
    c_.network().duplicate = 0;
    c_.network().long_delay = 0;
    c_.disk().stall = 0;
    for (NodeId id : c_.ids()) c_.restart(id);
  }

 private:
  void schedule() {
    Nanos gap(static_cast<int64_t>(c_.rng().below(700'000'000)) + 50'000'000);
    c_.at(c_.now() + gap, [this] {
      if (stopped_) return;
      act();
      schedule();
    });
  }

  NodeId random_node() { return NodeId(1 + c_.rng().below(static_cast<uint64_t>(c_.size()))); }

  void act() {
    switch (c_.rng().below(6)) {
      case 0:
      case 1:
        if (p_.crashes) {
          // Prefer crashing the leader: that is where the bugs hide.
          auto leader = c_.leader();
          NodeId victim = leader && c_.rng().below(2) == 0 ? *leader : random_node();
          if (c_.up(victim)) {
            c_.crash(victim);
            Nanos down(static_cast<int64_t>(c_.rng().below(1'500'000'000)));
            c_.at(c_.now() + down, [this, victim] {
              if (!stopped_) c_.restart(victim);
            });
          }
        }
        break;
      case 2:
        if (p_.partitions && c_.size() > 1) {
          c_.heal();
          std::vector<NodeId> a, b;
          auto leader = c_.leader();
          bool isolate_leader = leader && c_.rng().below(3) == 0;
          for (NodeId id : c_.ids()) {
            bool side = isolate_leader ? id == *leader : c_.rng().below(2) == 0;
            (side ? a : b).push_back(id);
          }
          c_.partition({a, b});
        }
        break;
      case 3:
        if (p_.partitions && c_.size() > 1) {
          NodeId x = random_node(), y = random_node();
          if (x != y) c_.block(x, y);
        }
        break;
      case 4:
        if (p_.partitions) c_.heal();
        break;
      case 5:
        if (p_.lossy_network) {
          c_.network().drop = static_cast<double>(c_.rng().below(4)) * 0.05;
          c_.network().duplicate = static_cast<double>(c_.rng().below(3)) * 0.03;
          c_.network().long_delay = static_cast<double>(c_.rng().below(3)) * 0.03;
        }
        if (p_.disk_stalls) c_.disk().stall = static_cast<double>(c_.rng().below(3)) * 0.02;
        break;
    }
  }

  SimCluster& c_;
  const ScenarioParams& p_;
  bool stopped_ = false;
  std::map<NodeId, Term> first_commit_pending_;
};

}  // namespace

ScenarioResult run_scenario(const ScenarioParams& p, std::ostream* trace) {
  SimOptions o;
  o.seed = p.seed;
  o.nodes = p.nodes;
  o.core = sim_core_config(p);
  o.drift_ppm_max = p.drift_ppm_max;
  o.make_state_machine = [] { return std::make_unique<KvStateMachine>(); };
  o.trace = trace;
  SimCluster cluster(o);

  WorkloadOptions wo;
  wo.clients = p.clients;
  wo.keys = p.keys;
  KvWorkload workload(cluster, wo);
  workload.start(Nanos(0));

  FaultInjector faults(cluster, p);
  faults.start();

  ScenarioResult res;
  auto fail = [&](const std::string& why) {
    if (res.ok) {
      res.ok = false;
      res.failure = why;
    }
  };

  // Fault phase, with a whole-log check now and then.
  const Nanos step = std::chrono::milliseconds(500);
  for (Nanos t = step; t <= p.fault_phase && !cluster.failed(); t += step) {
    cluster.run_until(t);
    std::vector<const core::Raft*> live;
    for (NodeId id : cluster.ids())
      if (cluster.up(id)) live.push_back(cluster.raft(id));
    cluster.invariants().full_check(live);
  }

  // Heal, then liveness: a write invoked after healing must commit.
  Nanos healed = cluster.now();
  faults.heal_all();
  cluster.run_until(healed + p.liveness_bound);
  if (!cluster.failed()) {
    auto first = workload.first_write_ok_invoked_after(healed);
    if (!first) {
      fail("liveness: no write committed within " + std::to_string(p.liveness_bound.count() / 1000000) +
           " ms of healing");
    } else {
      res.recovery = *first - healed;
    }
  }

  // Quiesce: no new client operations; every node must catch up.
  workload.stop();
  cluster.run_until(cluster.now() + std::chrono::seconds(2));
  if (!cluster.failed() && res.ok) {
    Index top(0);
    for (NodeId id : cluster.ids()) top = std::max(top, cluster.applied(id));
    for (NodeId id : cluster.ids()) {
      if (cluster.applied(id) != top) {
        fail("liveness: node " + std::to_string(id.value) + " applied " +
             std::to_string(cluster.applied(id).value) + " of " + std::to_string(top.value) +
             " entries 2 s after the load stopped");
        break;
      }
    }
    std::vector<const core::Raft*> live;
    for (NodeId id : cluster.ids()) live.push_back(cluster.raft(id));
    cluster.invariants().full_check(live);
  }
  workload.finish();
  if (cluster.failed()) fail(cluster.failure());

  res.stats = cluster.stats();
  res.invariant_checks = cluster.invariants().checks();
  res.committed_entries = cluster.invariants().committed_entries();
  res.ops_ok = workload.count(ClientOp::Outcome::kOk);
  res.ops_failed = workload.count(ClientOp::Outcome::kFailed);
  res.ops_unknown = workload.count(ClientOp::Outcome::kUnknown);

  if (res.ok) {
    LinVerdict v = check_linearizable(workload.history());
    res.linearizability = v.summary;
    if (v.result == LinVerdict::kViolation) fail("linearizability: " + v.summary);
  }
  return res;
}

}  // namespace raft::sim
