#include "kv_cluster.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <thread>

namespace raft::chaos {

KvCluster::KvCluster(NetNs& net, std::string raftkv, std::string dir, KvTiming timing)
    : net_(net), raftkv_(std::move(raftkv)), dir_(std::move(dir)), timing_(timing), procs_(net.nodes() + 1) {}

std::string KvCluster::http_address(int node) const { return net_.ip(node) + ":" + std::to_string(kHttpPort); }

int KvCluster::node_of_http(const std::string& address) const {
  for (int i = 1; i <= size(); ++i)
    if (http_address(i) == address) return i;
  return 0;
}

std::string KvCluster::log_path(int node) const { return dir_ + "/n" + std::to_string(node) + ".log"; }

bool KvCluster::start(int node, std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (procs_[node].pid > 0) return true;
  std::string data = dir_ + "/n" + std::to_string(node);
  mkdir(data.c_str(), 0755);
  std::string peers;
  for (int i = 1; i <= size(); ++i)
    peers += (i > 1 ? "," : "") + std::string("n") + std::to_string(i) + "=" + net_.ip(i) + ":" +
             std::to_string(kRaftPort);
  std::vector<std::string> args = {raftkv_,
                                   "--id", "n" + std::to_string(node),
                                   "--raft", net_.ip(node) + ":" + std::to_string(kRaftPort),
                                   "--http", http_address(node),
                                   "--dir", data,
                                   "--peers", peers,
                                   "--heartbeat-ms", std::to_string(timing_.heartbeat_ms),
                                   "--election-ms", std::to_string(timing_.election_ms),
                                   "--request-timeout-ms", std::to_string(timing_.request_timeout_ms),
                                   "--snapshot-threshold", std::to_string(timing_.snapshot_threshold),
                                   "--snapshot-interval-ms", std::to_string(timing_.snapshot_interval_ms),
                                   "--trailing-logs", std::to_string(timing_.trailing_logs),
                                   "--log-level", "info"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Everything the child needs is prepared before fork: between fork and
  // exec a threaded parent's child may only make async-signal-safe calls.
  std::string ns_path = "/run/netns/" + net_.ns_name(node);
  std::string log = log_path(node);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    *why = "fork failed";
    return false;
  }
  if (pid == 0) {
    // Dies with the test, whatever way the test ends.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(126);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    // The test blocks some signals in its threads; the server must not
    // inherit that mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(125);
  }
  procs_[node] = Proc{pid, false};
  return true;
}

void KvCluster::kill(int node) {
  pid_t pid;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pid = procs_[node].pid;
    procs_[node] = Proc{};
  }
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

void KvCluster::pause(int node) {
  std::lock_guard<std::mutex> lock(mu_);
  Proc& p = procs_[node];
  if (p.pid > 0 && !p.paused && ::kill(p.pid, SIGSTOP) == 0) p.paused = true;
}

void KvCluster::resume(int node) {
  std::lock_guard<std::mutex> lock(mu_);
  Proc& p = procs_[node];
  if (p.pid > 0 && p.paused) {
    ::kill(p.pid, SIGCONT);
    p.paused = false;
  }
}

bool KvCluster::running(int node) const {
  std::lock_guard<std::mutex> lock(mu_);
  return procs_[node].pid > 0;
}

bool KvCluster::paused(int node) const {
  std::lock_guard<std::mutex> lock(mu_);
  return procs_[node].paused;
}

std::vector<std::string> KvCluster::reap_crashes() {
  std::vector<std::string> out;
  for (int i = 1; i <= size(); ++i) {
    int status = 0;
    pid_t pid;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pid = procs_[i].pid;
      if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid) continue;
      procs_[i] = Proc{};
    }
    std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                        : "died of signal " + std::to_string(WTERMSIG(status));
    out.push_back("node n" + std::to_string(i) + " " + how + " on its own; its log ends with:\n" + tail_log(i, 30));
  }
  return out;
}

int KvCluster::stop_all() {
  std::vector<std::pair<int, pid_t>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 1; i < static_cast<int>(procs_.size()); ++i) {
      if (procs_[i].pid <= 0) continue;
      ::kill(procs_[i].pid, SIGCONT);
      ::kill(procs_[i].pid, SIGTERM);
      live.push_back({i, procs_[i].pid});
      procs_[i] = Proc{};
    }
  }
  int unclean = 0;
  for (auto [node, pid] : live) {
    int status = 0;
    bool done = false;
    for (int waited_ms = 0; waited_ms < 10000 && !done; waited_ms += 20) {
      if (waitpid(pid, &status, WNOHANG) == pid) done = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a child's exit
    }
    if (!done) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++unclean;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++unclean;
    }
  }
  return unclean;
}

std::string KvCluster::tail_log(int node, size_t lines) const {
  std::ifstream in(log_path(node));
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += "    " + l + "\n";
  return out;
}

}  // namespace raft::chaos
