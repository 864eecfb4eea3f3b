#include "common/linearizability.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace raft::testing {
namespace {

// Terse recorders for hand-written histories: one call per operation.
class LinearizabilityTest : public ::testing::Test {
 protected:
  int write(std::string key, Value v, int64_t t0, int64_t t1, int client = 0) {
    int id = h_.invoke_write(client, std::move(key), std::move(v), t0);
    h_.ok(id, t1);
    return id;
  }
  int del(std::string key, int64_t t0, int64_t t1, int client = 0) {
    int id = h_.invoke_delete(client, std::move(key), t0);
    h_.ok(id, t1);
    return id;
  }
  int read(std::string key, Value v, int64_t t0, int64_t t1, int client = 0) {
    int id = h_.invoke_read(client, std::move(key), t0);
    h_.ok_read(id, t1, std::move(v));
    return id;
  }
  int cas(std::string key, Value expected, Value v, bool swapped, int64_t t0, int64_t t1,
          int client = 0) {
    int id = h_.invoke_cas(client, std::move(key), std::move(expected), std::move(v), t0);
    h_.ok_cas(id, t1, swapped);
    return id;
  }
  int unknown_write(std::string key, Value v, int64_t t0, int client = 0) {
    int id = h_.invoke_write(client, std::move(key), std::move(v), t0);
    h_.unknown(id);
    return id;
  }
  int failed_write(std::string key, Value v, int64_t t0, int64_t t1, int client = 0) {
    int id = h_.invoke_write(client, std::move(key), std::move(v), t0);
    h_.fail(id, t1);
    return id;
  }

  CheckOutcome outcome(const CheckOptions& options = {}) {
    CheckResult r = check(h_, options);
    // An answer other than kLinearizable must say why.
    EXPECT_EQ(r.linearizable(), r.explanation.empty()) << r.explanation;
    return r.outcome;
  }

  History h_;
};

constexpr CheckOutcome kYes = CheckOutcome::kLinearizable;
constexpr CheckOutcome kNo = CheckOutcome::kNotLinearizable;

TEST_F(LinearizabilityTest, EmptyHistoryIsLinearizable) { EXPECT_EQ(outcome(), kYes); }

TEST_F(LinearizabilityTest, SequentialHistoryFollowingTheRegisterIsLinearizable) {
  read("x", std::nullopt, 0, 10);
  write("x", "a", 20, 30);
  read("x", "a", 40, 50);
  write("x", "b", 60, 70);
  read("x", "b", 80, 90);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, SequentialReadOfAnOverwrittenValueIsNot) {
  write("x", "a", 0, 10);
  write("x", "b", 20, 30);
  read("x", "a", 40, 50);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, ReadOfTheInitialAbsentValueAfterAWriteIsNot) {
  write("x", "a", 0, 10);
  read("x", std::nullopt, 20, 30);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, ConcurrentWritesMayLandInEitherOrder) {
  write("x", "a", 0, 100, 1);
  write("x", "b", 10, 90, 2);
  read("x", "a", 150, 160);
  EXPECT_EQ(outcome(), kYes);

  History other;
  int a = other.invoke_write(1, "x", "a", 0);
  int b = other.invoke_write(2, "x", "b", 10);
  other.ok(b, 90);
  other.ok(a, 100);
  int r = other.invoke_read(3, "x", 150);
  other.ok_read(r, 160, "b");
  EXPECT_TRUE(check(other).linearizable());
}

TEST_F(LinearizabilityTest, ReadsAfterConcurrentWritesMustAgreeOnTheLastOne) {
  write("x", "a", 0, 100, 1);
  write("x", "b", 10, 90, 2);
  read("x", "a", 150, 160);
  read("x", "b", 170, 180);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, ReadsDuringAWriteSeeOldThenNewButNeverBack) {
  write("x", "a", 0, 10);
  write("x", "b", 20, 100, 1);
  read("x", "a", 30, 40, 2);
  read("x", "b", 50, 60, 2);
  EXPECT_EQ(outcome(), kYes);

  read("x", "a", 70, 80, 3);  // b was already seen by a read that returned
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, StaleReadAfterACompletedWriteIsNot) {
  write("x", "a", 0, 10);
  write("x", "b", 20, 30, 1);
  read("x", "a", 40, 50, 2);  // b completed before this read began
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, ReadOfAValueNeverWrittenIsNot) {
  write("x", "a", 0, 10);
  read("x", "zzz", 20, 30);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, ReadSeeingAWriteInvokedAfterItReturnedIsNot) {
  read("x", "a", 0, 10);
  write("x", "a", 11, 20);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, OperationsThatTouchInTimeAreConcurrent) {
  read("x", "a", 0, 10);
  write("x", "a", 10, 20);  // invoked at the very nanosecond the read returned
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, UnknownWriteObservedLaterIsLinearizable) {
  write("x", "a", 0, 10);
  unknown_write("x", "b", 20);
  read("x", "b", 1000, 1010);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, UnknownWriteNeverObservedIsLinearizable) {
  write("x", "a", 0, 10);
  unknown_write("x", "b", 20);
  read("x", "a", 1000, 1010);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, UnknownWriteObservedBeforeItsInvocationIsNot) {
  read("x", "b", 0, 10);
  unknown_write("x", "b", 20);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, UnknownWriteTakesEffectAtMostOnce) {
  write("x", "a", 0, 10);
  unknown_write("x", "b", 20);
  read("x", "b", 30, 40);
  write("x", "c", 50, 60);
  read("x", "b", 70, 80);  // b would have to be written a second time
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, UnknownWriteTakesEffectAtOneMomentOnly) {
  write("x", "a", 0, 10);
  unknown_write("x", "b", 20);
  read("x", "b", 30, 40);
  read("x", "a", 50, 60);  // back to a, which nobody wrote again
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, PendingOperationsCountAsUnknown) {
  h_.invoke_write(1, "x", "a", 0);  // never completed
  read("x", "a", 100, 110, 2);
  read("x", "a", 120, 130, 2);
  EXPECT_EQ(outcome(), kYes);

  h_.invoke_read(3, "x", 140);  // a pending read is simply dropped
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, UnknownReadIsDropped) {
  write("x", "a", 0, 10);
  int r = h_.invoke_read(1, "x", 20);
  h_.unknown(r);
  read("x", "a", 30, 40);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, FailedWriteIsIgnored) {
  write("x", "a", 0, 10);
  failed_write("x", "b", 20, 30);
  read("x", "a", 40, 50);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, ReadObservingAFailedWriteIsNot) {
  write("x", "a", 0, 10);
  failed_write("x", "b", 20, 30);
  read("x", "b", 25, 50);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, CasThatSwappedChangesTheValue) {
  write("x", "a", 0, 10);
  cas("x", "a", "b", true, 20, 30);
  read("x", "b", 40, 50);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, CasThatDidNotSwapLeavesTheValue) {
  write("x", "a", 0, 10);
  cas("x", "z", "b", false, 20, 30);
  read("x", "a", 40, 50);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, CasThatSwappedAgainstAnotherValueIsNot) {
  write("x", "a", 0, 10);
  cas("x", "z", "b", true, 20, 30);  // the register held a, not z
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, CasThatDidNotSwapThoughTheValueMatchedIsNot) {
  write("x", "a", 0, 10);
  cas("x", "a", "b", false, 20, 30);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, CasFailureExplainedByAConcurrentWrite) {
  write("x", "a", 0, 10);
  write("x", "c", 15, 40, 1);
  cas("x", "a", "b", false, 20, 30, 2);  // c landed first
  read("x", "c", 50, 60);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, CasFailureExplainedOnlyByAnUnknownWrite) {
  write("x", "a", 0, 10);
  unknown_write("x", "q", 15, 1);  // nobody reads q, but it may have landed
  cas("x", "a", "b", false, 20, 30, 2);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, CasOnAbsentKeyCreatesIt) {
  cas("x", std::nullopt, "a", true, 0, 10);
  read("x", "a", 20, 30);
  cas("x", std::nullopt, "b", false, 40, 50);
  EXPECT_EQ(outcome(), kYes);
}

TEST_F(LinearizabilityTest, UnknownCasMayOrMayNotHaveSwapped) {
  write("x", "a", 0, 10);
  int c = h_.invoke_cas(1, "x", "a", "b", 20);
  h_.unknown(c);
  read("x", "b", 30, 40);
  EXPECT_EQ(outcome(), kYes);

  History none;
  int w = none.invoke_write(0, "x", "a", 0);
  none.ok(w, 10);
  none.unknown(none.invoke_cas(1, "x", "a", "b", 20));
  int r = none.invoke_read(0, "x", 30);
  none.ok_read(r, 40, "a");
  EXPECT_TRUE(check(none).linearizable());
}

TEST_F(LinearizabilityTest, UnknownCasCannotSwapFromTheWrongValue) {
  write("x", "a", 0, 10);
  int c = h_.invoke_cas(1, "x", "z", "b", 20);
  h_.unknown(c);
  read("x", "b", 30, 40);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, DeleteMakesTheKeyAbsent) {
  write("x", "a", 0, 10);
  del("x", 20, 30);
  read("x", std::nullopt, 40, 50);
  EXPECT_EQ(outcome(), kYes);

  read("x", "a", 60, 70);
  EXPECT_EQ(outcome(), kNo);
}

TEST_F(LinearizabilityTest, KeysAreIndependentRegisters) {
  write("x", "1", 0, 10);
  write("y", "2", 0, 10);
  read("x", "1", 20, 30);
  read("y", "2", 20, 30);
  CheckResult ok = check(h_);
  EXPECT_TRUE(ok.linearizable());
  ASSERT_EQ(ok.keys.size(), 2u);
  EXPECT_EQ(ok.keys[0].key, "x");
  EXPECT_EQ(ok.keys[0].operations, 2u);
  EXPECT_EQ(ok.keys[1].key, "y");

  read("y", "1", 40, 50);  // x's value does not leak into y
  CheckResult bad = check(h_);
  EXPECT_EQ(bad.outcome, kNo);
  EXPECT_NE(bad.explanation.find("key \"y\""), std::string::npos) << bad.explanation;
  EXPECT_EQ(bad.explanation.find("key \"x\""), std::string::npos) << bad.explanation;
  EXPECT_EQ(bad.keys[0].outcome, kYes);
  EXPECT_EQ(bad.keys[1].outcome, kNo);
}

TEST_F(LinearizabilityTest, ExplanationNamesTheKeyTheOperationAndItsTimes) {
  write("acct/7", "a", 100, 110, 1);
  write("acct/7", "b", 120, 130, 2);
  int stale = read("acct/7", "a", 140, 150, 3);
  CheckResult r = check(h_);
  ASSERT_EQ(r.outcome, kNo);
  const std::string& e = r.explanation;
  EXPECT_NE(e.find("key \"acct/7\""), std::string::npos) << e;
  EXPECT_NE(e.find("up to t=150"), std::string::npos) << e;
  EXPECT_NE(e.find("#" + std::to_string(stale) + " client 3 read \"acct/7\" [140, 150] read \"a\""),
            std::string::npos)
      << e;
  // The only value the register can hold by then is b.
  EXPECT_NE(e.find("holding: \"b\"\n"), std::string::npos) << e;
}

TEST_F(LinearizabilityTest, FormatOperationShowsOutcomes) {
  int w = unknown_write("k", "v", 5, 2);
  int d = h_.invoke_delete(4, "k", 7);
  h_.fail(d, 9);
  int c = cas("k", std::nullopt, "q\n", false, 10, 20, 3);
  const auto& ops = h_.operations();
  EXPECT_EQ(format_operation(ops[w], w), "#0 client 2 write \"k\" = \"v\" [5, unknown]");
  EXPECT_EQ(format_operation(ops[d], d), "#1 client 4 delete \"k\" [7, 9] failed");
  EXPECT_EQ(format_operation(ops[c], c),
            "#2 client 3 cas \"k\" absent -> \"q\\x0a\" [10, 20] not swapped");
}

// Many unknown writes whose values are read back in a scattered order: the
// search must not try every subset of them.
TEST_F(LinearizabilityTest, ManyUnknownWritesStayCheap) {
  constexpr int kWrites = 400;
  for (int i = 0; i < kWrites; ++i) unknown_write("x", "v" + std::to_string(i), i, i);
  // Reads after all invocations see every fifth value, each once, in an
  // order unrelated to invocation order.
  int64_t t = 10'000;
  for (int i = 0; i < kWrites; i += 5) {
    int v = (i * 37) % kWrites;
    read("x", "v" + std::to_string(v), t, t + 5, 1000);
    t += 10;
  }
  CheckResult r = check(h_);
  EXPECT_TRUE(r.linearizable()) << r.explanation;
  EXPECT_LT(r.search_steps, 10'000u) << r.stats_summary();

  // Reading the first value again after others is impossible.
  read("x", "v0", t, t + 5, 1000);
  r = check(h_);
  EXPECT_EQ(r.outcome, kNo) << r.stats_summary();
  EXPECT_LT(r.search_steps, 100'000u) << r.stats_summary();
}

// Writes of values nobody reads, all concurrent and due at about the same
// time, then "a" and "b" read back in an order no single last write allows.
// Every subset of the writes is a distinct configuration: proving this
// history wrong takes on the order of 2^writes steps.
void add_pathological(History* h, const std::string& key, int writes) {
  for (int i = 0; i < writes; ++i) {
    int id = h->invoke_write(i, key, "v" + std::to_string(i), i);
    h->ok(id, 1000 + i);
  }
  int a = h->invoke_write(100, key, "a", 500);
  int b = h->invoke_write(101, key, "b", 500);
  h->ok(a, 2000);
  h->ok(b, 2000);
  int ra = h->invoke_read(102, key, 3000);
  h->ok_read(ra, 3100, "a");
  int rb = h->invoke_read(102, key, 3200);
  h->ok_read(rb, 3300, "b");
}

TEST_F(LinearizabilityTest, StepBudgetGivesUnknownOnAPathologicalHistory) {
  add_pathological(&h_, "x", 24);
  CheckOptions tiny;
  tiny.per_key_steps_max = 10'000;
  CheckResult r = check(h_, tiny);
  EXPECT_EQ(r.outcome, CheckOutcome::kUnknown);
  EXPECT_EQ(r.search_steps, 10'000u);
  EXPECT_NE(r.explanation.find("key \"x\": undecided"), std::string::npos) << r.explanation;
}

TEST_F(LinearizabilityTest, TimeBudgetGivesUnknownOnAPathologicalHistory) {
  add_pathological(&h_, "x", 40);
  CheckOptions quick;
  quick.per_key_steps_max = UINT64_MAX;
  quick.per_key_time_ms_max = 50;
  // 2^40 orders: without the time budget this would never return.
  CheckResult r = check(h_, quick);
  EXPECT_EQ(r.outcome, CheckOutcome::kUnknown) << r.stats_summary();
}

TEST_F(LinearizabilityTest, PathologicalHistoryIsDecidedWithEnoughBudget) {
  add_pathological(&h_, "x", 8);  // 2^8: small enough to finish
  CheckResult r = check(h_);
  EXPECT_EQ(r.outcome, kNo) << r.stats_summary();
  EXPECT_NE(r.explanation.find("but not up to t=3300"), std::string::npos) << r.explanation;
}

TEST_F(LinearizabilityTest, NotLinearizableKeyWinsOverUndecidedKey) {
  add_pathological(&h_, "hard", 24);
  write("easy", "a", 0, 10);
  read("easy", "b", 20, 30);
  CheckOptions tiny;
  tiny.per_key_steps_max = 1'000;
  CheckResult r = check(h_, tiny);
  EXPECT_EQ(r.outcome, kNo);
  EXPECT_NE(r.explanation.find("key \"easy\": not linearizable"), std::string::npos);
  EXPECT_NE(r.explanation.find("key \"hard\": undecided"), std::string::npos);
  EXPECT_LT(r.explanation.find("key \"easy\""), r.explanation.find("key \"hard\""));
}

// ---------------------------------------------------------------------------
// Random histories from a real register.

struct GeneratorConfig {
  uint64_t seed = 1;
  int clients = 32;
  int ops_per_client = 250;
  int keys = 4;
  double unknown_p = 0.08;  // half of these take effect
  double fail_p = 0.04;
};

// Each client runs operations one after another; each takes effect at one
// random instant inside its [invoke, return] window on a true sequential
// register, so the history is linearizable by construction. Every written
// value is unique.
History generate(const GeneratorConfig& c) {
  struct Planned {
    int client;
    std::string key;
    OpKind kind;
    Value value;
    Value expected;
    int64_t invoke_ns, effect_ns, return_ns;
    OpOutcome outcome;
    bool applies;
    Value read_value;
    bool swapped = false;
  };
  std::mt19937_64 rng(c.seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  std::vector<Planned> plan;
  std::vector<std::map<std::string, Value>> seen(static_cast<size_t>(c.clients));
  for (int client = 0; client < c.clients; ++client) {
    int64_t t = uniform(0, 100);
    for (int i = 0; i < c.ops_per_client; ++i) {
      Planned p;
      p.client = client;
      p.key = "k" + std::to_string(uniform(0, c.keys - 1));
      int64_t dice = uniform(0, 99);
      p.kind = dice < 50 ? OpKind::kRead : dice < 85 ? OpKind::kWrite : OpKind::kCas;
      std::string unique = "c" + std::to_string(client) + "-" + std::to_string(i);
      if (p.kind == OpKind::kWrite) p.value = uniform(0, 9) == 0 ? Value() : Value(unique);
      if (p.kind == OpKind::kCas) {
        p.value = unique;
        p.expected = seen[static_cast<size_t>(client)][p.key];
      }
      p.invoke_ns = t;
      p.effect_ns = t + uniform(1, 300);
      p.return_ns = p.effect_ns + uniform(1, 300);
      p.outcome = OpOutcome::kOk;
      p.applies = true;
      if (chance(c.fail_p)) {
        p.outcome = OpOutcome::kFailed;
        p.applies = false;
      } else if (chance(c.unknown_p)) {
        p.outcome = OpOutcome::kUnknown;
        p.applies = chance(0.5);
      }
      plan.push_back(std::move(p));
      t = plan.back().return_ns + uniform(1, 50);  // also after a timeout
    }
  }

  std::vector<size_t> by_effect(plan.size());
  std::iota(by_effect.begin(), by_effect.end(), 0);
  std::sort(by_effect.begin(), by_effect.end(), [&](size_t a, size_t b) {
    return std::tie(plan[a].effect_ns, a) < std::tie(plan[b].effect_ns, b);
  });
  std::map<std::string, Value> registers;
  for (size_t i : by_effect) {
    Planned& p = plan[i];
    if (!p.applies) continue;
    Value& reg = registers[p.key];
    switch (p.kind) {
      case OpKind::kRead:
        p.read_value = reg;
        break;
      case OpKind::kWrite:
        reg = p.value;
        break;
      case OpKind::kCas:
        p.swapped = reg == p.expected;
        if (p.swapped) reg = p.value;
        break;
    }
    if (p.outcome == OpOutcome::kOk && p.kind == OpKind::kRead) {
      seen[static_cast<size_t>(p.client)][p.key] = p.read_value;
    }
  }

  History h;
  for (const Planned& p : plan) {
    Operation op;
    op.client = p.client;
    op.key = p.key;
    op.kind = p.kind;
    op.value = p.value;
    op.expected = p.expected;
    op.invoke_ns = p.invoke_ns;
    op.return_ns = p.return_ns;
    op.outcome = p.outcome;
    op.read_value = p.read_value;
    op.swapped = p.swapped;
    h.add(std::move(op));
  }
  return h;
}

// Rewrites one kOk read late in h (so the search must exhaust every order
// of what came before) into a read of a value that two completed writes
// before it had already replaced. Returns its id.
int corrupt_one_read(History* h) {
  std::vector<Operation> ops = h->operations();
  std::vector<size_t> by_time(ops.size());
  std::iota(by_time.begin(), by_time.end(), 0);
  std::sort(by_time.begin(), by_time.end(),
            [&](size_t x, size_t y) { return ops[x].invoke_ns < ops[y].invoke_ns; });
  for (size_t k = by_time.size() * 9 / 10; k < by_time.size(); ++k) {
    const size_t r = by_time[k];
    const Operation& read = ops[r];
    if (read.kind != OpKind::kRead || read.outcome != OpOutcome::kOk) continue;
    const Operation* first = nullptr;
    for (const Operation& w : ops) {
      if (w.key != read.key || w.kind != OpKind::kWrite || w.outcome != OpOutcome::kOk ||
          !w.value || w.value == read.read_value || w.return_ns >= read.invoke_ns) {
        continue;
      }
      if (first == nullptr || w.invoke_ns < first->invoke_ns) first = &w;
    }
    if (first == nullptr) continue;
    bool overwritten = std::any_of(ops.begin(), ops.end(), [&](const Operation& w) {
      return w.key == read.key && w.kind == OpKind::kWrite && w.outcome == OpOutcome::kOk &&
             w.invoke_ns > first->return_ns && w.return_ns < read.invoke_ns;
    });
    if (!overwritten) continue;
    ops[r].read_value = first->value;
    History corrupted;
    for (Operation& op : ops) corrupted.add(std::move(op));
    *h = std::move(corrupted);
    return static_cast<int>(r);
  }
  return -1;
}

TEST(LinearizabilityRandomTest, LargeValidHistoryIsLinearizableInFewSteps) {
  GeneratorConfig config;
  History h = generate(config);
  ASSERT_EQ(h.size(), 8000u);
  CheckResult r = check(h);
  EXPECT_TRUE(r.linearizable()) << r.explanation;
  // Steps, not seconds: deterministic on a shared machine. The prunings
  // keep this near one step per operation; a regression to exponential
  // search shows up as millions.
  EXPECT_LT(r.search_steps, 100'000u) << r.stats_summary();
}

TEST(LinearizabilityRandomTest, LargeHistoryWithOneCorruptedReadIsNot) {
  GeneratorConfig config;
  History h = generate(config);
  int bad = corrupt_one_read(&h);
  ASSERT_GE(bad, 0);
  CheckResult r = check(h);
  ASSERT_EQ(r.outcome, kNo) << r.stats_summary() << r.explanation;
  const std::string& key = h.operations()[static_cast<size_t>(bad)].key;
  EXPECT_NE(r.explanation.find("key \"" + key + "\": not linearizable"), std::string::npos);
  EXPECT_NE(r.explanation.find("#" + std::to_string(bad) + " "), std::string::npos)
      << r.explanation;
}

TEST(LinearizabilityRandomTest, ManySeedsOfSmallerHistoriesAreLinearizable) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    GeneratorConfig config;
    config.seed = seed;
    config.clients = 12;
    config.ops_per_client = 60;
    config.keys = 1 + static_cast<int>(seed % 3);
    config.unknown_p = 0.2;
    CheckResult r = check(generate(config));
    EXPECT_TRUE(r.linearizable()) << "seed " << seed << "\n" << r.explanation;
  }
}

// ---------------------------------------------------------------------------
// Cross-check against brute force on tiny histories: every subset of the
// unknown operations, every order.

bool brute_force_linearizable(const std::vector<Operation>& all) {
  std::vector<Operation> ops;
  for (const Operation& op : all) {
    if (op.outcome == OpOutcome::kFailed) continue;
    if (op.kind == OpKind::kRead && op.outcome != OpOutcome::kOk) continue;
    ops.push_back(op);
  }
  std::vector<size_t> maybe;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].outcome != OpOutcome::kOk) maybe.push_back(i);
  }
  auto return_of = [&](size_t i) {
    return ops[i].outcome == OpOutcome::kOk ? ops[i].return_ns : INT64_MAX;
  };
  for (uint32_t subset = 0; subset < (1u << maybe.size()); ++subset) {
    std::vector<size_t> chosen;
    for (size_t i = 0; i < ops.size(); ++i) {
      auto it = std::find(maybe.begin(), maybe.end(), i);
      if (it == maybe.end() || (subset >> (it - maybe.begin())) & 1) chosen.push_back(i);
    }
    std::sort(chosen.begin(), chosen.end());
    do {
      bool legal = true;
      for (size_t a = 0; a < chosen.size() && legal; ++a) {
        for (size_t b = a + 1; b < chosen.size() && legal; ++b) {
          // chosen[b] is ordered after chosen[a]: it must not precede it.
          if (return_of(chosen[b]) < ops[chosen[a]].invoke_ns) legal = false;
        }
      }
      Value reg;
      for (size_t k = 0; k < chosen.size() && legal; ++k) {
        const Operation& op = ops[chosen[k]];
        bool certain = op.outcome == OpOutcome::kOk;
        switch (op.kind) {
          case OpKind::kRead:
            legal = reg == op.read_value;
            break;
          case OpKind::kWrite:
            reg = op.value;
            break;
          case OpKind::kCas:
            if (certain && op.swapped != (reg == op.expected)) legal = false;
            if (reg == op.expected) reg = op.value;
            break;
        }
      }
      if (legal) return true;
    } while (std::next_permutation(chosen.begin(), chosen.end()));
  }
  return false;
}

TEST(LinearizabilityBruteForceTest, AgreesWithExhaustiveSearchOnTinyHistories) {
  std::mt19937_64 rng(7);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const Value values[] = {std::nullopt, "a", "b", "c"};
  int yes = 0;
  int no = 0;
  for (int round = 0; round < 4000; ++round) {
    History h;
    int count = static_cast<int>(uniform(1, 7));
    for (int i = 0; i < count; ++i) {
      Operation op;
      op.client = i;
      op.key = "x";
      op.kind = static_cast<OpKind>(uniform(0, 2));
      op.value = values[uniform(0, 3)];
      op.expected = values[uniform(0, 3)];
      op.invoke_ns = uniform(0, 40);
      op.return_ns = op.invoke_ns + uniform(0, 20);
      int64_t o = uniform(0, 9);
      op.outcome = o < 6 ? OpOutcome::kOk : o < 8 ? OpOutcome::kUnknown : OpOutcome::kFailed;
      op.read_value = values[uniform(0, 3)];
      op.swapped = uniform(0, 1) == 1;
      h.add(std::move(op));
    }
    bool expected = brute_force_linearizable(h.operations());
    CheckResult r = check(h);
    ASSERT_NE(r.outcome, CheckOutcome::kUnknown);
    ASSERT_EQ(r.linearizable(), expected) << "round " << round << "\n" << [&] {
      std::string s;
      for (size_t i = 0; i < h.size(); ++i) s += format_operation(h.operations()[i], i) + "\n";
      return s;
    }() << r.explanation;
    (expected ? yes : no) += 1;
  }
  // Both answers must be common, or the cross-check proves little.
  EXPECT_GT(yes, 800);
  EXPECT_GT(no, 800);
}

// A second oracle for longer histories: the plain memoized search, with
// none of the checker's prunings (bitmask of placed operations, value).
class PlainSearch {
 public:
  explicit PlainSearch(const std::vector<Operation>& all) {
    for (const Operation& op : all) {
      if (op.outcome == OpOutcome::kFailed) continue;
      if (op.kind == OpKind::kRead && op.outcome != OpOutcome::kOk) continue;
      if (op.outcome == OpOutcome::kOk) ok_mask_ |= uint32_t{1} << ops_.size();
      ops_.push_back(op);
    }
  }

  bool linearizable() { return search(0, Value()); }

 private:
  bool search(uint32_t placed, const Value& value) {
    if ((placed & ok_mask_) == ok_mask_) return true;
    if (!seen_.insert({placed, value}).second) return false;
    int64_t frontier = INT64_MAX;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!((placed >> i) & 1) && ops_[i].outcome == OpOutcome::kOk) {
        frontier = std::min(frontier, ops_[i].return_ns);
      }
    }
    for (size_t i = 0; i < ops_.size(); ++i) {
      const Operation& op = ops_[i];
      if (((placed >> i) & 1) || op.invoke_ns > frontier) continue;
      Value next = value;
      if (op.kind == OpKind::kRead && op.read_value != value) continue;
      if (op.kind == OpKind::kWrite) next = op.value;
      if (op.kind == OpKind::kCas) {
        if (op.outcome == OpOutcome::kOk && op.swapped != (value == op.expected)) continue;
        if (value == op.expected) next = op.value;
      }
      if (search(placed | (uint32_t{1} << i), next)) return true;
    }
    return false;
  }

  std::vector<Operation> ops_;
  uint32_t ok_mask_ = 0;
  std::set<std::pair<uint32_t, Value>> seen_;
};

// Histories of a real register over three values, so values repeat (the
// hard case for the checker's lookahead), with unknown, pending and failed
// operations, then up to three random corruptions to land near the edge.
TEST(LinearizabilityBruteForceTest, AgreesWithPlainSearchOnCorruptedRegisterHistories) {
  std::mt19937_64 rng(11);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const Value values[] = {std::nullopt, "a", "b"};
  int yes = 0;
  int no = 0;
  for (int round = 0; round < 3000; ++round) {
    struct Planned {
      Operation op;
      int64_t effect_ns;
      bool applies;
    };
    std::vector<Planned> plan;
    for (int client = 0; client < 6; ++client) {
      int64_t t = uniform(0, 10);
      for (int k = 0; k < 3; ++k) {
        Planned p;
        p.op.client = client;
        p.op.key = "x";
        p.op.kind = static_cast<OpKind>(uniform(0, 2));
        p.op.value = values[uniform(0, 2)];
        p.op.expected = values[uniform(0, 2)];
        p.op.invoke_ns = t;
        p.effect_ns = t + uniform(0, 20);
        p.op.return_ns = p.effect_ns + uniform(0, 20);
        p.op.outcome = OpOutcome::kOk;
        p.applies = true;
        int64_t dice = uniform(0, 9);
        if (dice == 0) {
          p.op.outcome = OpOutcome::kFailed;
          p.applies = false;
        } else if (dice <= 2) {
          p.op.outcome = dice == 1 ? OpOutcome::kUnknown : OpOutcome::kPending;
          p.applies = uniform(0, 1) == 1;
        }
        plan.push_back(p);
        t = p.op.return_ns + uniform(0, 5);
      }
    }
    std::vector<size_t> order(plan.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(plan[a].effect_ns, a) < std::tie(plan[b].effect_ns, b);
    });
    Value reg;
    for (size_t i : order) {
      Operation& op = plan[i].op;
      if (!plan[i].applies) continue;
      if (op.kind == OpKind::kRead) op.read_value = reg;
      if (op.kind == OpKind::kWrite) reg = op.value;
      if (op.kind == OpKind::kCas) {
        op.swapped = reg == op.expected;
        if (op.swapped) reg = op.value;
      }
    }
    for (int64_t m = uniform(0, 3); m > 0; --m) {
      Operation& op = plan[static_cast<size_t>(uniform(0, 17))].op;
      switch (uniform(0, 3)) {
        case 0:
          op.kind = OpKind::kRead;
          op.outcome = OpOutcome::kOk;
          op.read_value = values[uniform(0, 2)];
          break;
        case 1:
          op.swapped = !op.swapped;
          break;
        case 2:
          op.outcome = OpOutcome::kFailed;
          break;
        case 3:
          op.invoke_ns += uniform(0, 30);
          op.return_ns = std::max(op.return_ns, op.invoke_ns);
          break;
      }
    }
    History h;
    for (Planned& p : plan) h.add(std::move(p.op));
    bool expected = PlainSearch(h.operations()).linearizable();
    CheckResult r = check(h);
    ASSERT_NE(r.outcome, CheckOutcome::kUnknown);
    ASSERT_EQ(r.linearizable(), expected) << "round " << round << "\n" << [&] {
      std::string s;
      for (size_t i = 0; i < h.size(); ++i) s += format_operation(h.operations()[i], i) + "\n";
      return s;
    }() << r.explanation;
    (expected ? yes : no) += 1;
  }
  EXPECT_GT(yes, 1000);
  EXPECT_GT(no, 150);
}

}  // namespace
}  // namespace raft::testing
