// Future and Promise (include/raft/raft.hpp): the callbacks of then().
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "raft/raft.hpp"

namespace raft {
namespace {

TEST(FutureTest, CallbacksRunOnceEachInTheOrderAdded) {
  detail::Promise<int> p;
  Future<int> f = p.future();
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) f.then([&order, i](const Status& s) {
    EXPECT_TRUE(s.ok());
    order.push_back(i);
  });
  EXPECT_TRUE(order.empty());
  EXPECT_TRUE(p.set_value(7));
  EXPECT_FALSE(p.set_value(8));  // a second resolution is ignored, and runs nothing again
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(f.value(), 7);
}

TEST(FutureTest, ACallbackAddedAfterResolutionRunsAtOnceWithTheError) {
  detail::Promise<void> p;
  Future<void> f = p.future();
  int before = 0;
  f.then([&](const Status&) { ++before; });
  EXPECT_TRUE(p.set_error(Status(ErrorCode::kTimeout, "too slow")));
  EXPECT_EQ(before, 1);
  std::string seen;
  f.then([&](const Status& s) { seen = s.to_string(); });
  EXPECT_NE(seen.find("too slow"), std::string::npos);
  EXPECT_EQ(before, 1);
}

TEST(FutureTest, AnEmptyCallbackIsIgnored) {
  detail::Promise<int> p;
  Future<int> f = p.future();
  int calls = 0;
  f.then(nullptr);
  f.then([&](const Status&) { ++calls; });
  f.then(std::function<void(const Status&)>());
  f.then([&](const Status&) { ++calls; });
  EXPECT_TRUE(p.set_value(1));
  EXPECT_EQ(calls, 2);
  f.then(nullptr);  // resolved: would have thrown bad_function_call
  EXPECT_EQ(calls, 2);
}

TEST(FutureTest, CallbacksAddedWhileAnotherThreadResolvesEachRunOnce) {
  for (int round = 0; round < 200; ++round) {
    detail::Promise<int> p;
    Future<int> f = p.future();
    std::atomic<int> calls{0};
    std::thread resolver([&] { p.set_value(round); });
    for (int i = 0; i < 3; ++i) f.then([&](const Status&) { calls.fetch_add(1); });
    resolver.join();
    EXPECT_EQ(calls.load(), 3) << "round " << round;
  }
}

}  // namespace
}  // namespace raft
