// raft_bench --processes: one OS process per node.
//
// The parent runs no node. It fork+execs raft_bench once per node with the
// hidden flag --node-child ID (exec, because the parent may not fork a
// process with threads safely, and a fresh image is what a real server
// is), and talks to each child over a socketpair the child finds as file
// descriptor 3. The protocol is one text line per message, parent asks,
// child answers:
//
//   child:  addr HOST:PORT                 (once started)
//   parent: bootstrap ID=ADDR ID=ADDR ...  child: ok | error MESSAGE
//   parent: state                          child: state ROLE TERM LEADER_ID
//   parent: run TERM                       (the leader only: runs the load)
//     child: window start, window end      (as the measured window opens, closes)
//     child: result OPS SECONDS MAX_NS HIST | error MESSAGE
//   parent: quit                           (the child shuts its node down)
//
// HIST is the latency histogram's non-empty buckets, "INDEX:COUNT,...".
// The parent reads every child's CPU time from /proc/PID/stat when the
// window opens and closes (clock ticks: 10 ms resolution per process).
//
// Children die with the parent (PR_SET_PDEATHSIG) and the parent kills and
// reaps them on every way out, signals included.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench.hpp"

namespace raft_bench {

using namespace std::chrono_literals;

namespace {

constexpr int kControlFd = 3;
constexpr int kMaxChildren = 64;  // above main.cpp's limit on --nodes
constexpr auto kStartDeadline = 30s;
constexpr auto kQuitDeadline = 15s;

// The children's pids, for the signal handler (which may read nothing else).
volatile sig_atomic_t g_child_pids[kMaxChildren];

void kill_children_and_reraise(int sig) {
  for (int i = 0; i < kMaxChildren; ++i)
    if (g_child_pids[i] > 0) kill(static_cast<pid_t>(g_child_pids[i]), SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP};

int poll_timeout_ms(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX));
}

// One end of a control socket: text lines, "\n"-terminated.
class LineChannel {
 public:
  explicit LineChannel(int fd) : fd_(fd) {}
  ~LineChannel() { ::close(fd_); }
  LineChannel(const LineChannel&) = delete;
  LineChannel& operator=(const LineChannel&) = delete;

  int fd() const { return fd_; }
  bool send(std::string line) {
    for (char& ch : line)
      if (ch == '\n') ch = ' ';
    line += '\n';
    for (size_t off = 0; off < line.size();) {
      ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  std::optional<std::string> pop_line() {
    size_t nl = buf_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buf_.substr(0, nl);
    buf_.erase(0, nl + 1);
    return line;
  }
  // Reads what has arrived (call when poll says so); false at the end of
  // the stream or on an error.
  bool fill() {
    char b[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd_, b, sizeof b);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(b, static_cast<size_t>(n));
      return true;
    }
  }
  // The next line; nullopt at the end of the stream or at the deadline.
  std::optional<std::string> receive(Clock::time_point deadline) {
    for (;;) {
      if (auto l = pop_line()) return l;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, poll_timeout_ms(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0 || !fill()) return std::nullopt;
    }
  }

 private:
  int fd_;
  std::string buf_;
};

std::vector<std::string> split(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// ---------------------------------------------------------------------------
// The parent

struct Child {
  raft::ServerId id = 0;
  pid_t pid = -1;
  std::unique_ptr<LineChannel> channel;
};

// The children of a run; kills and reaps whatever is left when destroyed.
class Children {
 public:
  Children() {
    struct sigaction sa {};
    sa.sa_handler = kill_children_and_reraise;
    for (int s : kFatalSignals) sigaction(s, &sa, nullptr);
  }
  ~Children() {
    kill_all();
    for (int s : kFatalSignals) signal(s, SIG_DFL);
  }
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;

  std::vector<Child>& all() { return children_; }

  // Starts `argv[0]` with `argv`; the child's control socket is its fd 3.
  bool spawn(raft::ServerId id, const std::vector<std::string>& args, std::string* err) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      *err = std::string("socketpair: ") + std::strerror(errno);
      return false;
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    // Blocked across fork, so no handler of ours runs in the child.
    sigset_t fatal, old;
    sigemptyset(&fatal);
    for (int s : kFatalSignals) sigaddset(&fatal, s);
    sigprocmask(SIG_BLOCK, &fatal, &old);
    pid_t pid = fork();
    if (pid == 0) {
      // Async-signal-safe calls only until exec.
      for (int s : kFatalSignals) signal(s, SIG_DFL);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the parent died before prctl
      if (sv[1] == kControlFd) fcntl(kControlFd, F_SETFD, 0);
      else dup2(sv[1], kControlFd);           // the copy is not close-on-exec
      dup2(STDERR_FILENO, STDOUT_FILENO);     // stdout carries the parent's JSON line only
      execv(argv[0], argv.data());
      _exit(127);
    }
    int fork_errno = errno;
    ::close(sv[1]);
    if (pid < 0) {
      sigprocmask(SIG_SETMASK, &old, nullptr);
      ::close(sv[0]);
      *err = std::string("fork: ") + std::strerror(fork_errno);
      return false;
    }
    g_child_pids[children_.size()] = pid;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    children_.push_back({id, pid, std::make_unique<LineChannel>(sv[0])});
    return true;
  }

  // Asks every child to shut its node down, then kills the stragglers.
  void quit_all() {
    for (Child& c : children_)
      if (c.pid > 0) c.channel->send("quit");
    for (auto deadline = Clock::now() + kQuitDeadline; Clock::now() < deadline;) {
      bool left = false;
      for (size_t i = 0; i < children_.size(); ++i) {
        if (children_[i].pid <= 0) continue;
        if (waitpid(children_[i].pid, nullptr, WNOHANG) == children_[i].pid) forget(i);
        else left = true;
      }
      if (!left) return;
      std::this_thread::sleep_for(10ms);  // children exit on their own time
    }
    kill_all();
  }

  void kill_all() {
    for (size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].pid <= 0) continue;
      kill(children_[i].pid, SIGKILL);
      while (waitpid(children_[i].pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      forget(i);
    }
  }

  // How child `c` ended, if it did within a moment (for error messages).
  std::string describe_exit(Child& c) {
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
        forget(static_cast<size_t>(&c - children_.data()));
        if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
        if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
        return "ended";
      }
      std::this_thread::sleep_for(10ms);  // it closed its socket; its exit follows
    }
    return "closed its control socket";
  }

  // The next line from `from`, while watching every child: fails (with
  // *err) when any of them goes away first, or at the deadline.
  std::optional<std::string> next_line(Child& from, Clock::time_point deadline, std::string* err) {
    for (;;) {
      if (auto l = from.channel->pop_line()) return l;
      std::vector<pollfd> fds;
      for (Child& c : children_) fds.push_back({c.channel->fd(), POLLIN, 0});
      int r = ::poll(fds.data(), fds.size(), poll_timeout_ms(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        *err = "node " + std::to_string(from.id) + " did not answer in time";
        return std::nullopt;
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (!children_[i].channel->fill()) {
          *err = "node " + std::to_string(children_[i].id) + " " + describe_exit(children_[i]);
          return std::nullopt;
        }
      }
    }
  }

  // Sends `request` to `c` and returns its answer.
  std::optional<std::string> ask(Child& c, const std::string& request, Clock::time_point deadline, std::string* err) {
    if (!c.channel->send(request)) {
      *err = "node " + std::to_string(c.id) + " " + describe_exit(c);
      return std::nullopt;
    }
    return next_line(c, deadline, err);
  }

 private:
  void forget(size_t i) {
    children_[i].pid = -1;
    g_child_pids[i] = 0;
  }
  std::vector<Child> children_;
};

// utime + stime of process `pid` and all its threads (/proc/PID/stat).
std::optional<double> proc_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');  // the command name may hold spaces and ')'
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> f = split(stat.substr(paren + 1));
  // f[0] is field 3 (state); utime and stime are fields 14 and 15.
  if (f.size() < 13) return std::nullopt;
  double ticks = std::stod(f[11]) + std::stod(f[12]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<double> children_cpu_s(Children& kids) {
  double sum = 0;
  for (Child& c : kids.all()) {
    auto s = proc_cpu_s(c.pid);
    if (!s) return std::nullopt;
    sum += *s;
  }
  return sum;
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

// The whole run, with the children started; 0 or 1 (after saying why).
int drive(const Options& o, Children& kids, Report* out) {
  std::string err;
  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "raft_bench: %s\n", what.c_str());
    return 1;
  };
  // Start: every child reports its bound address.
  std::string bootstrap = "bootstrap";
  for (Child& c : kids.all()) {
    auto l = kids.next_line(c, Clock::now() + kStartDeadline, &err);
    if (!l) return fail(err);
    auto w = split(*l);
    if (w.size() != 2 || w[0] != "addr") return fail("node " + std::to_string(c.id) + " did not start: " + *l);
    bootstrap += " " + std::to_string(c.id) + "=" + w[1];
  }
  for (Child& c : kids.all()) {
    auto l = kids.ask(c, bootstrap, Clock::now() + kStartDeadline, &err);
    if (!l) return fail(err);
    if (*l != "ok") return fail("bootstrap of node " + std::to_string(c.id) + ": " + *l);
  }
  // Elect: one leader that every node knows, in one term.
  Child* leader = nullptr;
  uint64_t term = 0;
  for (auto deadline = Clock::now() + kElectionDeadline; !leader;) {
    if (Clock::now() >= deadline)
      return fail("no leader within " + std::to_string(kElectionDeadline.count()) + " s");
    std::vector<std::vector<std::string>> states;
    for (Child& c : kids.all()) {
      auto l = kids.ask(c, "state", deadline + 5s, &err);
      if (!l) return fail(err);
      states.push_back(split(*l));
      if (states.back().size() != 4) return fail("node " + std::to_string(c.id) + " answered: " + *l);
    }
    std::optional<size_t> found;
    for (size_t i = 0; i < states.size(); ++i)
      if (states[i][1] == "Leader") found = i;
    bool agreed = found.has_value();
    for (auto& s : states)
      agreed = agreed && s[2] == states[*found][2] && s[3] == std::to_string(kids.all()[*found].id);
    if (agreed) {
      leader = &kids.all()[*found];
      term = std::stoull(states[*found][2]);
    } else {
      std::this_thread::sleep_for(5ms);  // polling: elections take their time
    }
  }
  // Run: the leader's child drives the load; the parent times the CPU.
  if (!leader->channel->send("run " + std::to_string(term)))
    return fail("node " + std::to_string(leader->id) + " " + kids.describe_exit(*leader));
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(kWarmupS + o.duration_s)) + 90s;
  std::optional<double> cpu_start, cpu_end;
  std::vector<std::string> result;
  while (result.empty()) {
    auto l = kids.next_line(*leader, deadline, &err);
    if (!l) return fail(err);
    if (*l == "window start") cpu_start = children_cpu_s(kids);
    else if (*l == "window end") cpu_end = children_cpu_s(kids);
    else if (l->rfind("error ", 0) == 0) return fail("run invalid: " + l->substr(6));
    else if (l->rfind("result ", 0) == 0) result = split(*l);
    else return fail("node " + std::to_string(leader->id) + " said: " + *l);
  }
  if (result.size() != 5 || !cpu_start || !cpu_end) return fail("bad result from the leader's node");
  // A node in a later term saw an election the leader may not have noticed.
  for (Child& c : kids.all()) {
    auto l = kids.ask(c, "state", Clock::now() + 10s, &err);
    if (!l) return fail(err);
    auto s = split(*l);
    if (s.size() != 4 || s[2] != std::to_string(term))
      return fail("run invalid: leadership changed during the run (node " + std::to_string(c.id) + ": " + *l +
                  ", the run began in term " + std::to_string(term) + ")");
  }
  out->ops = std::stoull(result[1]);
  out->seconds = std::stod(result[2]);
  out->max_ns = std::stoull(result[3]);
  out->counts.assign(LatencyHistogram::kBuckets, 0);
  if (result[4] != "-") {
    std::istringstream hist(result[4]);
    for (std::string item; std::getline(hist, item, ',');) {
      size_t colon = item.find(':');
      size_t i = std::stoul(item.substr(0, colon));
      if (colon == std::string::npos || i >= out->counts.size()) return fail("bad histogram from the leader's node");
      out->counts[i] = std::stoull(item.substr(colon + 1));
    }
  }
  out->cpu_s = *cpu_end - *cpu_start;
  kids.quit_all();
  return 0;
}

// ---------------------------------------------------------------------------
// The child

std::string format_result(const LoadResult& r) {
  char head[128];
  std::snprintf(head, sizeof head, "result %llu %.9f %llu ", static_cast<unsigned long long>(r.ops), r.seconds,
                static_cast<unsigned long long>(r.max_ns));
  std::string line = head;
  bool any = false;
  for (size_t i = 0; i < r.counts.size(); ++i) {
    if (r.counts[i] == 0) continue;
    if (any) line += ',';
    line += std::to_string(i) + ":" + std::to_string(r.counts[i]);
    any = true;
  }
  if (!any) line += "-";
  return line;
}

}  // namespace

int run_processes(const Options& o, const std::string& run_dir, Report* out) {
  std::string exe = self_exe();
  if (exe.empty()) {
    std::fprintf(stderr, "raft_bench: cannot find my own executable (/proc/self/exe)\n");
    return 1;
  }
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.17g", o.duration_s);
  Children kids;
  for (int i = 1; i <= o.nodes; ++i) {
    std::vector<std::string> args = {exe,           "--node-child",  std::to_string(i),
                                     "--dir",       run_dir + "/n" + std::to_string(i),
                                     "--store",     o.store,         "--size",
                                     std::to_string(o.size_bytes),   "--concurrency",
                                     std::to_string(o.concurrency),  "--duration",
                                     duration};
    if (o.snapshot_threshold) {
      args.push_back("--snapshot-threshold");
      args.push_back(std::to_string(*o.snapshot_threshold));
    }
    if (o.wal_spares) {
      args.push_back("--wal-spares");
      args.push_back(std::to_string(*o.wal_spares));
    }
    if (o.progress) args.push_back("--progress");
    if (!o.tls_dir.empty()) {
      args.push_back("--tls-dir");
      args.push_back(o.tls_dir);
    }
    std::string err;
    if (!kids.spawn(static_cast<raft::ServerId>(i), args, &err)) {
      std::fprintf(stderr, "raft_bench: starting node %d: %s\n", i, err.c_str());
      return 1;
    }
  }
  try {
    return drive(o, kids, out);  // ~Children reaps whatever is left
  } catch (const std::exception& e) {  // std::stoull & co. on a garbled answer
    std::fprintf(stderr, "raft_bench: bad answer from a node: %s\n", e.what());
    return 1;
  }
}

int run_node_child(const Options& o) {
  LineChannel parent(kControlFd);
  auto started = raft::Node::start(node_config(o, o.child_id, o.dir), make_bench_fsm());
  if (!started.ok()) {
    parent.send("error " + started.status().to_string());
    return 1;
  }
  raft::Node& node = **started;
  if (!parent.send("addr " + node.address())) return 1;
  for (;;) {
    auto line = parent.receive(Clock::time_point::max());
    if (!line) return 1;  // the parent is gone (PR_SET_PDEATHSIG kills us too)
    std::vector<std::string> w = split(*line);
    if (w.empty()) continue;
    if (w[0] == "bootstrap") {
      raft::ClusterConfiguration members;
      for (size_t i = 1; i < w.size(); ++i) {
        size_t eq = w[i].find('=');
        members.servers.push_back({std::stoull(w[i].substr(0, eq)), w[i].substr(eq + 1), true});
      }
      raft::Status s = node.bootstrap(members);
      parent.send(s.ok() ? "ok" : "error " + s.to_string());
    } else if (w[0] == "state") {
      auto l = node.leader();
      parent.send("state " + std::string(raft::role_name(node.state())) + " " + std::to_string(node.term()) + " " +
                  std::to_string(l ? l->id : 0));
    } else if (w[0] == "run" && w.size() == 2) {
      LoadParams p{o.size_bytes, o.concurrency, o.duration_s, o.progress};
      LoadResult r = run_load(node, std::stoull(w[1]), p,
                              [&](bool start) { parent.send(start ? "window start" : "window end"); });
      parent.send(r.error.empty() ? format_result(r) : "error " + r.error);
    } else if (w[0] == "quit") {
      mute_library_logs();
      node.shutdown();
      return 0;
    } else {
      parent.send("error unknown request: " + *line);
    }
  }
}

}  // namespace raft_bench
