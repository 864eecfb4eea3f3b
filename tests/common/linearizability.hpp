// A linearizability checker for key-value histories.
//
// Clients of a replicated key-value store (the deterministic simulator in
// tests/sim, or black-box chaos tests against real processes) record every
// operation they start and how it ended. check() then decides whether some
// total order of the operations (1) respects real time: an operation that
// returned before another was invoked comes first, and (2) is a legal run
// of one register per key. If none exists, the store lost or invented a
// write, served a stale read, or applied a write twice.
//
// How it searches. Every key is an independent register, so the history
// is split per key and each key is checked alone (linearizability is
// compositional: Herlihy & Wing's locality, "P-compositionality" in Lowe's
// "Testing for linearizability"). A key is checked by Wing & Gong's search
// as refined by Lowe: walk the events in time order, try each operation
// that could take effect before the next pending return, backtrack when a
// return arrives unplaced, and never revisit a configuration (the set of
// placed operations plus the register's value). linearizability.cpp
// describes the prunings that keep this fast when many outcomes are
// unknown. The answer is exact; only a budget can make it kUnknown.
//
// Cost: simulator-like histories (thousands of operations, ~30 clients
// over a few keys, ~10% unknown outcomes) take milliseconds. The search is
// exponential in the worst case; what makes it so is many operations of
// one key in flight at once AND repeated values (e.g. ~50 concurrent
// clients on one key mixing deletes with cas from absent). Unique written
// values keep it cheap; prefer them in workloads.
//
// Semantics the caller relies on:
//  - Every key starts absent (nullopt). Deleting is writing nullopt.
//  - Times are int64 nanoseconds of any clock that never goes back, the
//    same clock for every client. Operation a precedes b only if
//    a.return_ns < b.invoke_ns; equal times count as concurrent, so a clock
//    with coarse ticks makes the check weaker, never wrong.
//  - kFailed: certainly did not take effect (e.g. "not leader" before the
//    command reached a log). The checker drops it.
//  - kUnknown: may or may not have taken effect, at any moment after its
//    invocation (a timeout, a lost connection, a crashed server). Its
//    return time is +infinity. Reads with an unknown outcome are dropped.
//    An operation still kPending when check() runs counts as kUnknown, so
//    a simulator may stop recording at any moment.
//  - Misuse (completing an id twice, a return before its invocation) is a
//    programmer error: RAFT_ASSERT aborts with file and line.
//
// Thread safety: History is a plain value and is NOT thread-safe; clients
// on several threads must hold one lock around every call (recording an
// event is a push_back, so the lock is short). check() reads its history
// only and may run on any thread; concurrent check() calls are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace raft::testing {

// The value of a key; nullopt means the key is absent.
using Value = std::optional<std::string>;

enum class OpKind : uint8_t {
  kRead,   // returns the current value
  kWrite,  // sets the value (a delete writes nullopt)
  kCas,    // sets `value` if the current value equals `expected`
};

enum class OpOutcome : uint8_t {
  kPending,  // invoked, not completed yet; checked as kUnknown
  kOk,       // took effect exactly once, between invocation and return
  kFailed,   // certainly did not take effect
  kUnknown,  // may have taken effect, at any time after its invocation
};

struct Operation {
  int client = 0;  // only printed; the checker never needs it
  std::string key;
  OpKind kind = OpKind::kRead;
  // kWrite: the value written. kCas: the value written if it swaps.
  Value value;
  // kCas: the value the key must hold for the swap to happen.
  Value expected;
  int64_t invoke_ns = 0;
  // Meaningful for kOk and kFailed only. Invariant: invoke_ns <= return_ns.
  int64_t return_ns = 0;
  OpOutcome outcome = OpOutcome::kPending;
  // kRead with kOk: the value the read returned.
  Value read_value;
  // kCas with kOk: whether it swapped.
  bool swapped = false;
};

// One line, e.g. `#12 client 3 cas "x" "a"->"b" [100, 250] swapped`.
std::string format_operation(const Operation& op, size_t id);

// Records operations as clients invoke and complete them. An id returned
// by an invoke_* call stays valid for the History's lifetime; it is the
// operation's index in operations() and the `#id` of explanations.
class History {
 public:
  int invoke_read(int client, std::string key, int64_t invoke_ns);
  int invoke_write(int client, std::string key, Value value, int64_t invoke_ns);
  // A write of nullopt.
  int invoke_delete(int client, std::string key, int64_t invoke_ns);
  int invoke_cas(int client, std::string key, Value expected, Value value,
                 int64_t invoke_ns);

  // Completes a pending write or delete that took effect.
  void ok(int id, int64_t return_ns);
  // Completes a pending read that returned `value`.
  void ok_read(int id, int64_t return_ns, Value value);
  // Completes a pending cas that took effect (swapped) or certainly saw a
  // different value (did not swap).
  void ok_cas(int id, int64_t return_ns, bool swapped);
  // Completes a pending operation that certainly did not take effect.
  void fail(int id, int64_t return_ns);
  // Completes a pending operation whose effect is unknown.
  void unknown(int id);

  // Appends an operation recorded elsewhere (e.g. parsed from a chaos
  // test's log), in any outcome. Returns its id.
  int add(Operation op);

  const std::vector<Operation>& operations() const { return ops_; }
  size_t size() const { return ops_.size(); }

 private:
  int invoke(int client, std::string key, OpKind kind, Value value,
             Value expected, int64_t invoke_ns);
  Operation& pending(int id);

  std::vector<Operation> ops_;
};

enum class CheckOutcome : uint8_t {
  kLinearizable,
  kNotLinearizable,  // at least one key has no linearization
  kUnknown,          // no key failed, but some key ran out of budget
};

const char* check_outcome_name(CheckOutcome outcome);

struct CheckOptions {
  // Budget of one key's search, in steps (one step places one operation
  // tentatively; a step takes well under a microsecond). A step adds at
  // most one configuration to the memo cache, about 120 bytes, so this
  // also bounds memory: 5M steps, at most ~600 MB, typically ~100 MB.
  // Simulator histories (thousands of operations, ~30 clients over a few
  // keys) take thousands of steps.
  uint64_t per_key_steps_max = 5'000'000;
  // Wall-clock budget of one key's search; 0 means none. A key that runs
  // out of either budget is kUnknown instead of hanging the test. A key
  // found not linearizable gets this budget once more to explain itself.
  int64_t per_key_time_ms_max = 10'000;
  // How many operations an explanation lists at most per section.
  size_t explanation_ops_max = 24;
};

struct KeyStats {
  std::string key;
  size_t operations = 0;    // this key's operations in the history
  size_t ok_ops = 0;        // kOk operations, which must all be placed
  size_t maybe_ops = 0;     // unknown writes and cas kept (may be placed)
  size_t dropped_ops = 0;   // failed, unknown reads, and maybe ops no later
                            // operation could observe
  uint64_t search_steps = 0;
  size_t cache_entries = 0;
  int64_t elapsed_us = 0;
  CheckOutcome outcome = CheckOutcome::kLinearizable;
};

struct CheckResult {
  CheckOutcome outcome = CheckOutcome::kLinearizable;
  // Empty when linearizable. Otherwise one paragraph per key that failed
  // (first) or ran out of budget. For a failed key: the shortest prefix of
  // its history, by time, that is not linearizable (and the longest that
  // is), the operation whose return ends it, the operations that could
  // have written the value it needed, the values the register could hold
  // by then, the concurrent operations left unplaced, and the tail of the
  // furthest order found; operations print as format_operation does.
  std::string explanation;
  // Per key, sorted by key.
  std::vector<KeyStats> keys;
  uint64_t search_steps = 0;  // sum over keys

  bool linearizable() const { return outcome == CheckOutcome::kLinearizable; }
  // One line per key: operations, steps, outcome; for logs.
  std::string stats_summary() const;
};

// Checks `ops` (e.g. History::operations()). A pure function of its
// input, the same answer every time (explanations included) unless the
// wall-time budget cuts in. Blocks for at most about (number of keys) x
// per_key_time_ms_max, twice that for a key that fails.
CheckResult check(std::span<const Operation> ops, const CheckOptions& options = {});
CheckResult check(const History& history, const CheckOptions& options = {});

}  // namespace raft::testing
