// Three OS processes form a cluster over TCP; the leader is killed with
// SIGKILL and restarted from its directory; every process ends with the
// same commands applied in the same order.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test_cluster.hpp"

namespace raft::itest {
namespace {

// A child process running raft_test_node, spoken to through pipes.
class Child {
 public:
  Child(uint64_t id, const std::string& dir, const std::string& bind) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      std::string ids = std::to_string(id);
      std::vector<const char*> args = {RAFT_TEST_NODE, "--id", ids.c_str(), "--dir", dir.c_str()};
      if (!bind.empty()) {
        args.push_back("--bind");
        args.push_back(bind.c_str());
      }
      args.push_back(nullptr);
      execv(RAFT_TEST_NODE, const_cast<char* const*>(args.data()));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in_ = fdopen(to_child[1], "w");
    out_ = fdopen(from_child[0], "r");
  }
  ~Child() {
    kill9();
    if (in_) fclose(in_);
    if (out_) fclose(out_);
  }
  bool alive() const { return pid_ > 0; }
  // Sends a line and returns the reply line.
  std::string ask(const std::string& line) {
    if (!in_ || !out_) return "";
    std::fprintf(in_, "%s\n", line.c_str());
    std::fflush(in_);
    char buf[4096];
    if (!std::fgets(buf, sizeof buf, out_)) return "";
    std::string r(buf);
    if (!r.empty() && r.back() == '\n') r.pop_back();
    return r;
  }
  void kill9() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }
  void quit() {
    if (pid_ > 0) {
      ask("quit");
      int st;
      waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
};

struct State {
  std::string role;
  uint64_t leader = 0, term = 0, applied = 0, digest = 0;
};

State parse_state(const std::string& line) {
  State s;
  std::istringstream in(line);
  std::string tag;
  in >> tag >> s.role >> s.leader >> s.term >> s.applied >> s.digest;
  return s;
}

TEST(ProcessTest, ThreeProcessesSurviveSigkillOfTheLeader) {
  std::filesystem::path base = std::filesystem::path(RAFT_TEST_TMPDIR) / "process_test";
  std::filesystem::remove_all(base);
  std::vector<std::unique_ptr<Child>> kids(4);
  std::vector<std::string> addr(4);
  for (uint64_t id = 1; id <= 3; ++id) {
    kids[id] = std::make_unique<Child>(id, (base / ("n" + std::to_string(id))).string(), "");
    ASSERT_TRUE(kids[id]->alive());
    std::string a = kids[id]->ask("address");
    ASSERT_EQ(a.rfind("address ", 0), 0u) << a;
    addr[id] = a.substr(8);
  }
  std::string members = "1=" + addr[1] + ",2=" + addr[2] + ",3=" + addr[3];
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_EQ(kids[id]->ask("bootstrap " + members), "ok");

  auto find_leader = [&]() -> uint64_t {
    uint64_t found = 0;
    eventually([&] {
      for (uint64_t id = 1; id <= 3; ++id) {
        if (!kids[id]->alive()) continue;
        State s = parse_state(kids[id]->ask("state"));
        if (s.role == "Leader") {
          found = id;
          return true;
        }
      }
      return false;
    });
    return found;
  };
  uint64_t leader = find_leader();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(kids[leader]->ask("apply a=" + std::to_string(i)).rfind("ok ", 0), 0u);

  kids[leader]->kill9();
  uint64_t second = find_leader();
  ASSERT_NE(second, 0u);
  ASSERT_NE(second, leader);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(kids[second]->ask("apply b=" + std::to_string(i)).rfind("ok ", 0), 0u);

  // The killed leader restarts on its old port and catches up.
  kids[leader] = std::make_unique<Child>(leader, (base / ("n" + std::to_string(leader))).string(), addr[leader]);
  ASSERT_TRUE(kids[leader]->alive());
  ASSERT_TRUE(eventually(
      [&] {
        std::vector<State> st;
        for (uint64_t id = 1; id <= 3; ++id) st.push_back(parse_state(kids[id]->ask("state")));
        for (const State& s : st)
          if (s.applied != 100 || s.digest != st[0].digest) return false;
        return true;
      },
      20s))
      << "the processes did not converge on the same 100 commands";
  for (uint64_t id = 1; id <= 3; ++id) kids[id]->quit();
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace raft::itest
