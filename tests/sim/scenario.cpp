#include "sim/scenario.hpp"

#include <algorithm>
#include <set>
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

  // Snapshots in most seeds. Few trailing entries make lagging followers
  // (and new members) need InstallSnapshot; chunks of a few bytes make a
  // transfer many messages long, so that faults break it midway.
  p.snapshots = r.below(4) != 0;
  static const uint64_t kThreshold[] = {3, 12, 48, 200};
  p.snapshot_threshold = kThreshold[r.below(4)];
  static const double kChance[] = {0, 0.004, 0.03};
  p.snapshot_chance = kChance[r.below(3)];
  static const uint64_t kTrailing[] = {0, 1, 5, 40, 10240};
  p.trailing_entries = kTrailing[r.below(5)];
  static const size_t kChunk[] = {5, 24, 1 << 20};
  p.snapshot_chunk_bytes = kChunk[r.below(3)];
  p.snapshot_chunks_inflight = 1 + r.below(3);
  p.snapshot_retain = 1 + static_cast<int>(r.below(2));
  p.snapshot_stalls = r.below(3) == 0;
  p.user_restores = p.snapshots && r.below(8) == 0;
  // Raft::restore_snapshot commits its restore point on the leader alone:
  // a leader that loses office before its noop commits keeps a state the
  // next leader overwrites (seed 1787 before this rule; docs/simulator.md,
  // "Known issues"). Until the core fixes that, restores run only where
  // the leader cannot be deposed.
  if (p.user_restores) {
    p.crashes = p.partitions = p.lossy_network = p.leader_churn = false;
  }

  // A membership workload in a little over half of the seeds.
  static const Membership kWorkloads[] = {
      Membership::kNone,   Membership::kNone,      Membership::kNone,         Membership::kNone,
      Membership::kNone,   Membership::kNone,      Membership::kNone,         Membership::kGrow,
      Membership::kGrow,   Membership::kShrink,    Membership::kShrink,       Membership::kReplace,
      Membership::kReplace, Membership::kReplaceJoint, Membership::kNonVoters, Membership::kNonVoters,
      Membership::kJoint,  Membership::kJoint,     Membership::kRandom,       Membership::kRandom};
  p.membership = kWorkloads[r.below(std::size(kWorkloads))];
  p.shutdown_on_remove = r.below(2) == 0;
  p.transfers = r.below(3) == 0 && !p.user_restores;
  switch (p.membership) {
    case Membership::kNone: break;
    case Membership::kGrow: p.nodes = 1; break;
    case Membership::kShrink: p.nodes = 5; break;
    case Membership::kReplace:
    case Membership::kReplaceJoint: p.nodes = p.nodes >= 5 ? 5 : 3; break;
    case Membership::kNonVoters:
    case Membership::kJoint:
    case Membership::kRandom: p.nodes = std::min(p.nodes, 5); break;
  }
  return p;
}

const char* membership_name(ScenarioParams::Membership m) {
  using M = ScenarioParams::Membership;
  switch (m) {
    case M::kNone: return "none";
    case M::kGrow: return "grow";
    case M::kShrink: return "shrink";
    case M::kReplace: return "replace";
    case M::kReplaceJoint: return "replace-joint";
    case M::kNonVoters: return "non-voters";
    case M::kJoint: return "joint";
    case M::kRandom: return "random";
  }
  return "?";
}

std::string ScenarioParams::to_string() const {
  std::ostringstream os;
  os << "seed=" << seed << " nodes=" << nodes << " faults:" << (crashes ? " crash" : "")
     << (partitions ? " partition" : "") << (lossy_network ? " lossy-net" : "")
     << (disk_stalls ? " disk-stall" : "") << (leader_churn ? " leader-churn" : "") << " drift=" << drift_ppm_max << "ppm clients=" << clients
     << " keys=" << keys << " batch=" << append_entries_max << " window=" << inflight_appends_max;
  if (snapshots) {
    os << " snapshots: threshold=" << snapshot_threshold << " chance=" << snapshot_chance
       << " trailing=" << trailing_entries << " chunk=" << snapshot_chunk_bytes << "x" << snapshot_chunks_inflight
       << " retain=" << snapshot_retain << (snapshot_stalls ? " stalls" : "") << (user_restores ? " user-restores" : "");
  }
  os << " membership=" << membership_name(membership)
     << (membership != Membership::kNone && shutdown_on_remove ? " shutdown-on-remove" : "")
     << (transfers ? " transfers" : "");
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
  c.trailing_entries = p.trailing_entries;
  c.snapshot_chunk_bytes = p.snapshot_chunk_bytes;
  c.snapshot_chunks_inflight = p.snapshot_chunks_inflight;
  return c;
}

std::string address_of(NodeId id) { return "sim:" + std::to_string(id.value); }

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
    // Crashes in the middle of writing a snapshot, or of receiving one:
    // the unfinished snapshot must be lost and nothing else.
    c_.on_snapshot_io = [this](NodeId id) {
      if (stopped_ || !p_.crashes || c_.rng().below(6) != 0) return;
      strike(id, Nanos(static_cast<int64_t>(c_.rng().below(4'000'000))), /*crash_only=*/true);
    };
  }

  // Crashes or isolates a node after a delay.
  void strike(NodeId id, Nanos after, bool crash_only = false) {
      bool crash = p_.crashes && (crash_only || !p_.partitions || c_.rng().below(2) == 0);
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

// Proposes membership changes at whoever leads, at random times, toward
// the seed's workload (thesis chapter 4). A change the leader refuses
// (kBusy: another is uncommitted or a transfer runs; kNotLeader) is tried
// again later; one lost with its leader is recomputed from the next
// leader's configuration, so the driver never needs to know how far an
// earlier attempt got.
class MembershipDriver {
 public:
  MembershipDriver(SimCluster& c, const ScenarioParams& p, ScenarioResult* res) : c_(c), p_(p), res_(res) {}

  void start() {
    using M = ScenarioParams::Membership;
    int n = p_.nodes;
    switch (p_.membership) {
      case M::kNone: return;
      case M::kGrow:
        for (int i = 1; i <= 5; ++i) target_.insert(NodeId(static_cast<uint64_t>(i)));
        break;
      case M::kShrink:
        target_.insert(NodeId(1 + c_.rng().below(5)));
        break;
      case M::kReplace:
      case M::kReplaceJoint:
        for (int i = n + 1; i <= 2 * n; ++i) target_.insert(NodeId(static_cast<uint64_t>(i)));
        break;
      case M::kNonVoters:
      case M::kJoint:
      case M::kRandom:
        break;
    }
    // Ids a random workload may bring in: a few beyond the initial ones.
    max_id_ = static_cast<uint64_t>(n) + 3;
    schedule(Nanos(static_cast<int64_t>(c_.rng().below(300'000'000))));
  }
  void stop() { stopped_ = true; }

  // Called for every finished request; returns whether it was ours.
  bool done(const core::RequestResult& r) {
    auto it = mine_.find(r.id);
    if (it == mine_.end()) return false;
    mine_.erase(it);
    (r.status.ok() ? res_->membership_ok : res_->membership_failed)++;
    return true;
  }

 private:
  void schedule(Nanos after) {
    c_.at(c_.now() + after, [this] {
      if (stopped_) return;
      bool retry_soon = attempt();
      // Busy: try again soon. Otherwise let the change settle a while.
      Nanos gap = retry_soon ? Nanos(static_cast<int64_t>(20'000'000 + c_.rng().below(80'000'000)))
                             : Nanos(static_cast<int64_t>(100'000'000 + c_.rng().below(600'000'000)));
      schedule(gap);
    });
  }

  // Makes sure node `id` exists (new nodes start empty).
  void ensure(NodeId id) {
    while (static_cast<uint64_t>(c_.size()) < id.value) c_.add_node();
  }

  bool usable(NodeId id) const {
    // Never bring back a removed id: with shutdown_on_remove it may be
    // shutting down for good, which would leave a dead member.
    return !removed_.count(id) && (id.value > static_cast<uint64_t>(c_.size()) || !c_.retired(id));
  }

  // Returns true when the change should be retried soon.
  bool attempt() {
    auto leader = c_.leader();
    if (!leader) return true;
    core::Raft* r = c_.raft(*leader);
    const Configuration cur = r->configuration();
    if (cur.joint()) return true;  // C_new follows by itself
    using M = ScenarioParams::Membership;
    std::vector<NodeId> voters = cur.voters();
    std::vector<NodeId> non_voters;
    for (const Server& s : cur.servers)
      if (s.role == ServerRole::kNonVoter) non_voters.push_back(s.id);
    auto is_voter = [&](NodeId id) { return std::binary_search(voters.begin(), voters.end(), id); };
    std::vector<core::ConfChange> options;
    std::optional<Configuration> joint_target;

    switch (p_.membership) {
      case M::kNone: return false;
      case M::kGrow:
      case M::kShrink:
      case M::kReplace:
        // One step toward the target: add a missing voter or remove an
        // extra member, in random order (a replacement interleaves both).
        for (NodeId id : target_)
          if (!is_voter(id)) options.push_back({core::ConfChangeType::kAddVoter, id, address_of(id)});
        for (NodeId id : voters)
          if (!target_.count(id) && voters.size() > 1) options.push_back({core::ConfChangeType::kRemoveServer, id, ""});
        for (NodeId id : non_voters)
          if (!target_.count(id)) options.push_back({core::ConfChangeType::kRemoveServer, id, ""});
        break;
      case M::kReplaceJoint: {
        if (voters == std::vector<NodeId>(target_.begin(), target_.end())) return false;
        Configuration t;
        for (NodeId id : target_) t.servers.push_back({id, address_of(id), ServerRole::kVoter});
        joint_target = t;
        break;
      }
      case M::kJoint: {
        // A random voter set of 1..5 from the members and fresh ids, plus
        // maybe a non-voter: any number of servers change at once (4.3).
        std::vector<NodeId> pool;
        for (uint64_t i = 1; i <= max_id_; ++i)
          if (usable(NodeId(i))) pool.push_back(NodeId(i));
        if (pool.empty()) return false;
        size_t want = 1 + c_.rng().below(std::min<size_t>(5, pool.size()));
        Configuration t;
        for (size_t k = 0; k < want; ++k) {
          size_t pick = k + c_.rng().below(pool.size() - k);
          std::swap(pool[k], pool[pick]);
          t.servers.push_back({pool[k], address_of(pool[k]), ServerRole::kVoter});
        }
        if (want < pool.size() && c_.rng().below(2) == 0)
          t.servers.push_back({pool[want], address_of(pool[want]), ServerRole::kNonVoter});
        joint_target = t;
        break;
      }
      case M::kNonVoters:
      case M::kRandom: {
        bool non_voter_heavy = p_.membership == M::kNonVoters;
        for (uint64_t i = 1; i <= max_id_; ++i) {
          NodeId id(i);
          if (cur.is_member(id) || !usable(id)) continue;
          options.push_back({non_voter_heavy ? core::ConfChangeType::kAddNonVoter : core::ConfChangeType::kAddVoter,
                             id, address_of(id)});
          if (!non_voter_heavy) options.push_back({core::ConfChangeType::kAddNonVoter, id, address_of(id)});
          break;  // one fresh id at a time
        }
        for (NodeId id : non_voters) {
          options.push_back({core::ConfChangeType::kAddVoter, id, address_of(id)});  // promote
          options.push_back({core::ConfChangeType::kRemoveServer, id, ""});
        }
        if (voters.size() > 1) {
          for (NodeId id : voters) {
            options.push_back({core::ConfChangeType::kDemoteVoter, id, ""});
            if (!non_voter_heavy && voters.size() > 2) options.push_back({core::ConfChangeType::kRemoveServer, id, ""});
          }
        }
        break;
      }
    }

    uint64_t rid = next_request_++;
    Status st;
    if (joint_target) {
      for (const Server& s : joint_target->servers) ensure(s.id);
      st = c_.change_configuration(*leader, rid, *joint_target);
      if (st.ok()) {
        for (NodeId id : voters)
          if (!joint_target->is_member(id)) removed_.insert(id);
        for (NodeId id : non_voters)
          if (!joint_target->is_member(id)) removed_.insert(id);
      }
    } else {
      if (options.empty()) return false;
      const core::ConfChange& ch = options[c_.rng().below(options.size())];
      ensure(ch.id);
      st = c_.change_membership(*leader, rid, ch);
      if (st.ok() && ch.type == core::ConfChangeType::kRemoveServer) removed_.insert(ch.id);
    }
    if (st.ok()) {
      mine_.insert(rid);
      return false;
    }
    return st.code() == ErrorCode::kBusy || st.code() == ErrorCode::kNotLeader;
  }

  SimCluster& c_;
  const ScenarioParams& p_;
  ScenarioResult* res_;
  std::set<NodeId> target_;
  std::set<NodeId> removed_;
  std::set<uint64_t> mine_;
  uint64_t max_id_ = 0;
  uint64_t next_request_ = 1;
  bool stopped_ = false;
};

// Leadership transfers (thesis 3.10), to a named voter or to whichever is
// most up to date, and now and then a user's snapshot restore at the
// leader.
class LeaderActions {
 public:
  LeaderActions(SimCluster& c, const ScenarioParams& p, ScenarioResult* res) : c_(c), p_(p), res_(res) {}

  void start() {
    if (p_.transfers) schedule_transfer();
    if (p_.user_restores) schedule_restore();
  }
  void stop() { stopped_ = true; }

  bool done(const core::RequestResult& r) {
    auto it = mine_.find(r.id);
    if (it == mine_.end()) return false;
    mine_.erase(it);
    (r.status.ok() ? res_->transfers_ok : res_->transfers_failed)++;
    return true;
  }

 private:
  void schedule_transfer() {
    Nanos gap(static_cast<int64_t>(200'000'000 + c_.rng().below(1'200'000'000)));
    c_.at(c_.now() + gap, [this] {
      if (stopped_) return;
      if (auto leader = c_.leader()) {
        NodeId target = kNoNode;
        std::vector<NodeId> voters = c_.raft(*leader)->configuration().voters();
        std::erase(voters, *leader);
        if (!voters.empty() && c_.rng().below(2) == 0) target = voters[c_.rng().below(voters.size())];
        // Request ids above the membership driver's range.
        uint64_t rid = (1ULL << 40) + next_request_++;
        if (c_.transfer_leadership(*leader, rid, target).ok()) mine_.insert(rid);
      }
      schedule_transfer();
    });
  }

  void schedule_restore() {
    Nanos gap(static_cast<int64_t>(500'000'000 + c_.rng().below(1'500'000'000)));
    c_.at(c_.now() + gap, [this] {
      if (stopped_) return;
      if (auto leader = c_.leader()) (void)c_.restore_snapshot(*leader);
      schedule_restore();
    });
  }

  SimCluster& c_;
  const ScenarioParams& p_;
  ScenarioResult* res_;
  std::set<uint64_t> mine_;
  uint64_t next_request_ = 1;
  bool stopped_ = false;
};

// Empty when every member of the configuration of the node that knows the
// most (highest commit) is up and has applied as much as any member; else
// what is wrong.
std::string members_lagging(SimCluster& cluster, std::string* config_out) {
  const core::Raft* best = nullptr;
  for (NodeId id : cluster.ids()) {
    const core::Raft* r = cluster.raft(id);
    if (r && (!best || std::make_pair(r->commit_index(), r->role() == core::Role::kLeader) >
                           std::make_pair(best->commit_index(), best->role() == core::Role::kLeader)))
      best = r;
  }
  if (!best) return "no node is up";
  const Configuration& conf = best->configuration();
  *config_out = conf.to_string();
  std::vector<NodeId> members;
  for (NodeId id : cluster.ids())
    if (conf.is_member(id)) members.push_back(id);
  Index top(0);
  for (NodeId id : members) top = std::max(top, cluster.applied(id));
  for (NodeId id : members) {
    if (!cluster.up(id)) return "member " + std::to_string(id.value) + " of " + *config_out + " is down";
    if (cluster.applied(id) != top)
      return "member " + std::to_string(id.value) + " applied " + std::to_string(cluster.applied(id).value) +
             " of " + std::to_string(top.value) + " entries long after the load stopped";
  }
  return "";
}

}  // namespace

ScenarioResult run_scenario(const ScenarioParams& p, std::ostream* trace) {
  SimOptions o;
  o.seed = p.seed;
  o.nodes = p.nodes;
  o.core = sim_core_config(p);
  o.drift_ppm_max = p.drift_ppm_max;
  o.make_state_machine = [] { return std::make_unique<KvStateMachine>(); };
  o.trace = trace;
  o.snapshots.enabled = p.snapshots;
  o.snapshots.threshold = p.snapshot_threshold;
  o.snapshots.chance = p.snapshot_chance;
  o.snapshots.retain = p.snapshot_retain;
  o.snapshots.stall = p.snapshot_stalls ? 0.05 : 0;
  o.shutdown_on_remove = p.shutdown_on_remove;
  SimCluster cluster(o);

  WorkloadOptions wo;
  wo.clients = p.clients;
  wo.keys = p.keys;
  KvWorkload workload(cluster, wo);
  workload.start(Nanos(0));

  ScenarioResult res;
  FaultInjector faults(cluster, p);
  faults.start();
  MembershipDriver membership(cluster, p, &res);
  membership.start();
  LeaderActions leader_actions(cluster, p, &res);
  leader_actions.start();
  cluster.on_done = [&](NodeId, const core::RequestResult& r) {
    if (!membership.done(r)) leader_actions.done(r);
  };

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

  // Quiesce: no new client operations or changes; every member of the
  // final configuration must catch up (removed servers need not).
  workload.stop();
  membership.stop();
  leader_actions.stop();
  cluster.run_until(cluster.now() + std::chrono::seconds(2));
  if (!cluster.failed() && res.ok) {
    // A member that joined late may have the whole log to fetch, one small
    // batch per round trip: give it more time, as long as it needs it.
    std::string lagging;
    for (int extra = 0; extra <= 20 && !cluster.failed(); ++extra) {
      if (extra > 0) cluster.run_until(cluster.now() + std::chrono::milliseconds(500));
      lagging = members_lagging(cluster, &res.final_configuration);
      if (lagging.empty()) break;
    }
    if (!lagging.empty()) fail("liveness: " + lagging);
    std::vector<const core::Raft*> live;
    for (NodeId id : cluster.ids())
      if (cluster.up(id)) live.push_back(cluster.raft(id));
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
