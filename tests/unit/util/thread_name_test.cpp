#include "util/thread_name.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace raft::util {
namespace {

std::string name_of_this_thread() {
  char buf[64] = {};
  EXPECT_EQ(pthread_getname_np(pthread_self(), buf, sizeof(buf)), 0);
  return buf;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  std::string before = name_of_this_thread();
  std::string seen;
  std::thread([&] {
    set_thread_name("raft-test");
    seen = name_of_this_thread();
  }).join();
  EXPECT_EQ(seen, "raft-test");
  EXPECT_EQ(name_of_this_thread(), before);
}

TEST(ThreadNameTest, ALongNameIsCutToFifteenBytes) {
  std::string seen;
  std::thread([&] {
    set_thread_name("raft-a-name-longer-than-fifteen");
    seen = name_of_this_thread();
  }).join();
  EXPECT_EQ(seen, "raft-a-name-lon");
}

}  // namespace
}  // namespace raft::util
