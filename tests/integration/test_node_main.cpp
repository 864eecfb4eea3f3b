// raft_test_node: one node of a multi-process test, driven over stdin and
// stdout with a line protocol (tests/integration/process_test.cpp):
//
//   address                       -> "address HOST:PORT"
//   bootstrap 1=H:P,2=H:P,...     -> "ok" | "err CODE MESSAGE"
//   apply KEY=VALUE               -> "ok INDEX" | "err CODE MESSAGE"
//   state                         -> "state ROLE LEADER TERM APPLIED DIGEST"
//   quit                          -> shuts down, exits 0
//
// Usage: raft_test_node --id N --dir DIR [--bind HOST:PORT]
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "raft/raft.hpp"
#include "test_cluster.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  raft::Config c;
  c.cluster_id = "process-test";
  c.heartbeat_interval = 20ms;
  c.election_timeout = 300ms;
  c.leader_lease_timeout = 300ms;
  c.commit_timeout = 5ms;
  c.log_level = raft::LogLevel::kWarn;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--id") c.id = std::stoull(v);
    else if (a == "--dir") c.data_dir = v;
    else if (a == "--bind") c.bind_address = v;
    else {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    }
  }
  auto fsm = std::make_shared<raft::itest::KvFsm>();
  auto started = raft::Node::start(c, fsm);
  if (!started.ok()) {
    std::cout << "err " << raft::error_code_name(started.status().code()) << " " << started.status().message()
              << std::endl;
    return 1;
  }
  std::unique_ptr<raft::Node> node = std::move(*started);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    if (verb == "address") {
      std::cout << "address " << node->address() << std::endl;
    } else if (verb == "bootstrap") {
      std::string list;
      in >> list;
      raft::ClusterConfiguration conf;
      std::istringstream items(list);
      std::string item;
      while (std::getline(items, item, ',')) {
        auto eq = item.find('=');
        conf.servers.push_back({std::stoull(item.substr(0, eq)), item.substr(eq + 1), true});
      }
      raft::Status s = node->bootstrap(conf);
      if (s.ok()) std::cout << "ok" << std::endl;
      else std::cout << "err " << raft::error_code_name(s.code()) << " " << s.message() << std::endl;
    } else if (verb == "apply") {
      std::string kv;
      in >> kv;
      auto f = node->apply(raft::Buffer::copy_of(kv), 5s);
      if (f.wait().ok()) std::cout << "ok " << std::any_cast<uint64_t>(f.value()) << std::endl;
      else std::cout << "err " << raft::error_code_name(f.status().code()) << " " << f.status().message() << std::endl;
    } else if (verb == "state") {
      auto l = node->leader();
      std::cout << "state " << raft::role_name(node->state()) << " " << (l ? l->id : 0) << " " << node->term() << " "
                << fsm->applied() << " " << fsm->digest() << std::endl;
    } else if (verb == "quit") {
      break;
    } else {
      std::cout << "err unknown command" << std::endl;
    }
  }
  node->shutdown();
  return 0;
}
