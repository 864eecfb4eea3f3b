#include "netns.hpp"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cctype>
#include <sstream>

namespace raft::chaos {

int run_command(const std::string& command, std::string* out) {
  std::string full = command + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = pclose(p);
  if (out) *out = text;
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool NetNs::ok(const std::string& cmd, std::string* why) {
  std::string out;
  int rc = run_command(cmd, &out);
  if (rc == 0) return true;
  if (why) *why = "`" + cmd + "` failed (exit " + std::to_string(rc) + "): " + out;
  return false;
}

std::string NetNs::bridge() const { return "lrk" + std::to_string(pid_) + "b"; }
std::string NetNs::host_veth(int node) const { return "lrk" + std::to_string(pid_) + "h" + std::to_string(node); }
std::string NetNs::ns_name(int node) const { return "lrk" + std::to_string(pid_) + "n" + std::to_string(node); }

static std::string subnet_prefix(int pid) {
  return "10." + std::to_string(200 + (pid / 250) % 50) + "." + std::to_string(pid % 250) + ".";
}
std::string NetNs::ip(int node) const { return subnet_prefix(pid_) + std::to_string(node); }
std::string NetNs::host_ip() const { return subnet_prefix(pid_) + "254"; }

bool NetNs::setup(int nodes, std::string* why) {
  if (geteuid() != 0) {
    *why = "network namespaces need root (run as root, or in CI)";
    return false;
  }
  std::string out;
  if (run_command("ip -V", &out) != 0) {
    *why = "the `ip` command (iproute2) is missing";
    return false;
  }
  sweep();
  pid_ = getpid();
  nodes_ = nodes;
  up_ = true;  // from here on, teardown() cleans up whatever was made
  std::string br = bridge();
  if (!ok("ip link add " + br + " type bridge", why) || !ok("ip addr add " + host_ip() + "/24 dev " + br, why) ||
      !ok("ip link set " + br + " up", why)) {
    teardown();
    return false;
  }
  for (int i = 1; i <= nodes; ++i) {
    std::string ns = ns_name(i), h = host_veth(i);
    if (!ok("ip netns add " + ns, why) || !ok("ip link add " + h + " type veth peer name eth0 netns " + ns, why) ||
        !ok("ip link set " + h + " master " + br + " up", why) ||
        !ok("ip -n " + ns + " addr add " + ip(i) + "/24 dev eth0", why) ||
        !ok("ip -n " + ns + " link set eth0 up", why) || !ok("ip -n " + ns + " link set lo up", why)) {
      teardown();
      return false;
    }
  }
  // netem is a kernel module that some kernels lack; try it once.
  netem_ = ok("tc -n " + ns_name(1) + " qdisc add dev lo root netem delay 1ms") &&
           ok("tc -n " + ns_name(1) + " qdisc del dev lo root");
  // (The bridge runs without STP, so its ports forward at once.)
  return true;
}

void NetNs::teardown() {
  if (!up_) return;
  up_ = false;
  for (int i = 1; i <= nodes_; ++i) ok("ip netns del " + ns_name(i));  // takes the veth pair with it
  ok("ip link del " + bridge());
  cuts_.clear();
  shaped_.clear();
}

// The pid in a name "lrk<pid><tag>..." (tag 'n' for namespaces, 'b' for
// bridges), or 0 when `name` is not one of ours.
static int owner_pid(const std::string& name, char tag) {
  if (name.rfind("lrk", 0) != 0) return 0;
  size_t i = 3, pid = 0;
  while (i < name.size() && isdigit(static_cast<unsigned char>(name[i])) && i < 12) pid = pid * 10 + (name[i++] - '0');
  if (i == 3 || i >= name.size() || name[i] != tag) return 0;
  return static_cast<int>(pid);
}

void NetNs::sweep() {
  // Names carry the creating pid; a pid that no longer runs left them.
  std::string out;
  if (run_command("ip netns list", &out) == 0) {
    std::istringstream in(out);
    std::string name;
    while (in >> name) {
      int pid = owner_pid(name, 'n');
      if (pid > 0 && kill(pid, 0) != 0) run_command("ip netns del " + name);
      in.ignore(1 << 20, '\n');  // the rest of the line: "(id: 3)"
    }
  }
  if (run_command("ip -o link show type bridge", &out) == 0) {
    // Lines look like "12: lrk4242b: <BROADCAST,...".
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      size_t a = line.find(": ");
      if (a == std::string::npos) continue;
      size_t b = line.find(':', a + 2);
      std::string name = line.substr(a + 2, b == std::string::npos ? std::string::npos : b - a - 2);
      int pid = owner_pid(name, 'b');
      if (pid > 0 && kill(pid, 0) != 0) run_command("ip link del " + name);
    }
  }
}

void NetNs::cut(int a, int b) {
  if (a == b) return;
  auto key = std::minmax(a, b);
  if (!cuts_.insert({key.first, key.second}).second) return;
  ok("ip -n " + ns_name(a) + " route add blackhole " + ip(b) + "/32");
  ok("ip -n " + ns_name(b) + " route add blackhole " + ip(a) + "/32");
}

void NetNs::heal_all() {
  for (auto [a, b] : cuts_) {
    ok("ip -n " + ns_name(a) + " route del blackhole " + ip(b) + "/32");
    ok("ip -n " + ns_name(b) + " route del blackhole " + ip(a) + "/32");
  }
  cuts_.clear();
  for (int n : std::set<int>(shaped_)) clear_link(n);
}

void NetNs::partition(const std::vector<int>& side_a, const std::vector<int>& side_b) {
  for (int a : side_a)
    for (int b : side_b) cut(a, b);
}

std::string NetNs::slow_link(int node, int delay_ms, int loss_percent) {
  clear_link(node);
  shaped_.insert(node);
  std::string dev = "tc -n " + ns_name(node) + " qdisc add dev eth0 root ";
  if (netem_) {
    ok(dev + "netem delay " + std::to_string(delay_ms) + "ms " + std::to_string(delay_ms / 2) + "ms loss " +
       std::to_string(loss_percent) + "%");
    return "netem";
  }
  // No netem: a narrow token bucket still makes the link slow (queueing
  // delay up to `latency`, then drops), which is what a congested link does.
  ok(dev + "tbf rate 256kbit burst 4kb latency " + std::to_string(delay_ms * 4) + "ms");
  return "tbf";
}

void NetNs::clear_link(int node) {
  if (!shaped_.erase(node)) return;
  ok("tc -n " + ns_name(node) + " qdisc del dev eth0 root");
}

}  // namespace raft::chaos
