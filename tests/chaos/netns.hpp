// A private network for the chaos test: one Linux network namespace per
// node, each joined by a veth pair to a bridge in the test's namespace.
//
//          test process (clients, nemesis)        10.X.Y.254 on the bridge
//                         |
//      +------------- bridge lrk<pid>b --------------+
//      |                  |                          |
//   veth h1            veth h2                    veth h3
//      |                  |                          |
//   netns lrk<pid>n1   netns lrk<pid>n2   ...     netns lrk<pid>n3
//   eth0 10.X.Y.1      eth0 10.X.Y.2              eth0 10.X.Y.3
//
// Faults are made with the kernel's own tools, so they look to the nodes
// exactly like a real network's:
// - a partition between two nodes is a pair of blackhole routes (each drops
//   what it sends to the other, silently, as a cut cable does); clients in
//   the test's namespace still reach every node, as clients on the far side
//   of a partition would;
// - a slow or lossy link is `tc netem` on a node's eth0 where the kernel has
//   it, else a token-bucket rate limit (`tc tbf`), which still delays.
//
// Everything is named after the test's pid, created by the test and removed
// by it (and by the next run, if a run was killed: Sweep()).
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace raft::chaos {

// Runs a shell command; returns its exit status, output in *out.
int run_command(const std::string& command, std::string* out = nullptr);

class NetNs {
 public:
  // Creates the bridge and `nodes` namespaces. On failure returns false with
  // a reason (no root, no `ip`, no namespace support) and leaves nothing.
  bool setup(int nodes, std::string* why);
  // Removes everything setup() made. Idempotent.
  void teardown();
  ~NetNs() { teardown(); }

  // Removes namespaces and bridges left by earlier runs whose process is gone.
  static void sweep();

  int nodes() const { return nodes_; }
  std::string ns_name(int node) const;  // nodes are 1-based
  std::string ip(int node) const;
  std::string host_ip() const;  // the test's address on the bridge

  // Cuts (or heals) the link between a and b, both ways.
  void cut(int a, int b);
  // Heals every cut.
  void heal_all();
  // Cuts every link between the two groups.
  void partition(const std::vector<int>& side_a, const std::vector<int>& side_b);
  const std::set<std::pair<int, int>>& cuts() const { return cuts_; }

  // Makes node's link slow (and lossy where netem exists). Returns a word
  // describing what was done ("netem" or "tbf").
  std::string slow_link(int node, int delay_ms, int loss_percent);
  void clear_link(int node);
  bool has_netem() const { return netem_; }

 private:
  bool ok(const std::string& cmd, std::string* why = nullptr);
  std::string bridge() const;
  std::string host_veth(int node) const;

  int nodes_ = 0;
  int pid_ = 0;
  int subnet_ = 0;  // the Y in 10.X.Y.0/24
  bool up_ = false;
  bool netem_ = false;
  std::set<std::pair<int, int>> cuts_;
  std::set<int> shaped_;
};

}  // namespace raft::chaos
