// The search, per key, is Wing & Gong's as refined by Lowe ("Testing for
// linearizability", 2017): the key's call and return events sit in one
// doubly linked list in time order; an operation may be placed (take
// effect) when its call comes before the first remaining return; placing
// it unlinks its events, and backtracking links them back. A memo cache of
// visited configurations, (placed set, register value), stops the search
// from exploring the same configuration twice.
//
// On top of that, six prunings, each keeping a shortest completion
// reachable, so the search stays exact (sound and complete; a test checks
// it against brute force):
//
//  1. Observers first. If a read (or a cas that did not swap) can take
//     effect now, placing it now is never worse: it changes nothing, so any
//     order that places it later still works with it moved here. Such a
//     configuration has that one child only.
//  2. Unknown ("maybe") operations are optional: the search ends once every
//     kOk operation is placed, and a maybe operation is tried only where it
//     changes the value, and only after every kOk candidate.
//  3. Maybe operations with the same effect (same kind and values) are
//     interchangeable once invoked, so they are placed in invocation order:
//     2^n subsets become n + 1 counts.
//  4. A value is interesting only until the last kOk operation that could
//     need it returns (a read of it, a cas expecting it, a cas that did not
//     swap and wants any other value). Past that time ("useful until") a
//     maybe operation producing it can never help: it is unlinked from the
//     list and left out of the cache key. Values nothing observes are all
//     interned as one value, kBottom.
//  5. A maybe operation straight followed by one that sets the value
//     (a write, a swap from another value) was pointless: dropping it
//     leaves a shorter order. So after a maybe operation only one that
//     observes its value may come next. This depends on the path, not the
//     configuration, yet the cache stays exact: an order it forbids starts
//     with a set, so it also works from the nearest ancestor reached by a
//     kOk operation, minus the maybe operations since, and that ancestor
//     tried it.
//  6. Starvation. If an unplaced operation needs value v (a read of v, a
//     cas expecting v), the register does not hold v, and every unplaced
//     operation that could write v is invoked after that operation
//     returns, the configuration is dead. With unique written values this
//     catches an early write that clobbers a value a later read needs the
//     moment it is placed, not when that read's return comes due. A cas
//     that swapped away from v also consumes v, so the j-th such cas due
//     by time D needs j writes of v invoked by D (one fewer if the
//     register holds v now); this is checked for the next few of them,
//     which matters when values repeat (deletes, and cas from absent).
//
// The cache keeps, per (placed kOk set, value), every set of placed maybe
// operations seen, and prunes a configuration when a stored set is a
// subset of its own: fewer placed maybe operations leave more options.
//
// Sets are bitsets whose dense prefix is dropped from the key: kOk
// operations are numbered by return time, and all those before the first
// unplaced one ("low", whose return is the frontier) are placed; maybe
// operations are numbered by useful-until time, and those before the
// frontier are dead. A key thus costs a few words however long the history.
//
// Explaining a failure: whether the history up to time T is linearizable
// is monotone in T, so a binary search over the key's return times finds
// the shortest failing prefix, and a search of that prefix shows where
// every order got stuck.
#include "common/linearizability.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>

#include "util/assert.hpp"

namespace raft::testing {
namespace {

constexpr int64_t kNeverNs = std::numeric_limits<int64_t>::min();
constexpr int64_t kForeverNs = std::numeric_limits<int64_t>::max();
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// The interned id shared by every value that no operation observes.
constexpr uint32_t kBottom = 0;

uint64_t mix64(uint64_t x) {
  // splitmix64's finaliser: cheap and spreads every input bit.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string format_value(const Value& v) {
  if (!v) return "absent";
  constexpr size_t kShownMax = 40;
  std::string out = "\"";
  for (size_t i = 0; i < v->size() && i < kShownMax; ++i) {
    unsigned char c = static_cast<unsigned char>((*v)[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (v->size() > kShownMax) out += "...";
  out += '"';
  return out;
}

// How an operation acts on its key's register, on interned values.
enum class Step : uint8_t {
  kSee,        // kOk: legal iff value == a; no change (read; cas a->a)
  kSeeOther,   // kOk: legal iff value != a (cas expecting a, not swapped)
  kSet,        // kOk: value = a (write, delete)
  kSwap,       // kOk: legal iff value == a; value = b (swapped cas)
  kMaybeSet,   // optional: value = a
  kMaybeSwap,  // optional: if value == a then value = b (a != b)
};

bool is_maybe(Step s) { return s == Step::kMaybeSet || s == Step::kMaybeSwap; }

struct Node {
  Step step = Step::kSee;
  uint32_t a = 0;
  uint32_t b = 0;
  int64_t invoke_ns = 0;
  int64_t return_ns = kForeverNs;  // kForeverNs for maybe nodes
  uint32_t source = 0;             // id in the history
  // kOk: position by return time. Maybe: position by useful_until_ns.
  uint32_t rank = 0;
  uint32_t cls = 0;        // maybe: nodes with the same step, a and b
  uint32_t cls_index = 0;  // maybe: position within cls by invocation
  // Maybe: the last time a placement of this node could matter.
  int64_t useful_until_ns = kNeverNs;
  uint64_t zobrist = 0;  // kOk: this node's share of the placed-set hash
  uint32_t call_event = 0;
  uint32_t return_event = kNone;  // kOk only
  uint32_t need_pos = kNone;     // index in KeyProblem::needers[needs()]
  uint32_t consume_pos = kNone;  // kSwap: index in KeyProblem::consumers[a]
  uint32_t produce_pos = kNone;  // index in KeyProblem::producers[produces()]
};

// The value a kOk node requires the register to hold, or kNone.
uint32_t needs(const Node& n) {
  return n.step == Step::kSee || n.step == Step::kSwap ? n.a : kNone;
}

// The value a node may leave in the register, or kNone.
uint32_t produces(const Node& n) {
  switch (n.step) {
    case Step::kSet:
    case Step::kMaybeSet:
      return n.a;
    case Step::kSwap:
    case Step::kMaybeSwap:
      return n.b;
    default:
      return kNone;
  }
}

// One key's history, ready to search.
struct KeyProblem {
  std::string key;
  std::span<const Operation> ops;  // the whole history, for explanations
  std::vector<Node> nodes;  // sorted by (invoke_ns, source)
  std::vector<uint32_t> ok_by_rank;
  std::vector<uint32_t> maybe_by_rank;
  std::vector<int64_t> maybe_useful_by_rank;  // ascending
  uint32_t initial = kBottom;
  uint32_t value_count = 0;
  uint32_t class_count = 0;
  // Per value: kOk nodes that need it, by return time; nodes that may
  // produce it, by invocation time.
  std::vector<std::vector<uint32_t>> needers;
  std::vector<std::vector<uint32_t>> producers;
  // Per value: the kSwap nodes that need it (and leave another), by return.
  std::vector<std::vector<uint32_t>> consumers;
  // Events: 0 is the head sentinel, 1..n are calls and returns in time
  // order (calls first at equal times), n + 1 is the tail sentinel.
  std::vector<uint32_t> event_node;
  std::vector<uint8_t> event_is_return;
  size_t operations = 0;
  size_t dropped = 0;
};

// The key's history as seen at time cutoff_ns: operations invoked later
// are left out, and those that returned later count as unknown.
KeyProblem build_problem(std::string_view key, const std::vector<uint32_t>& ids,
                         std::span<const Operation> ops, int64_t cutoff_ns) {
  KeyProblem p;
  p.key = std::string(key);
  p.ops = ops;
  p.operations = ids.size();

  auto certain = [&](const Operation& op) {
    return op.outcome == OpOutcome::kOk && op.return_ns <= cutoff_ns;
  };
  std::vector<uint32_t> kept;
  for (uint32_t id : ids) {
    const Operation& op = ops[id];
    if (op.outcome == OpOutcome::kFailed || op.invoke_ns > cutoff_ns) continue;
    if (op.kind == OpKind::kRead && !certain(op)) continue;
    // A maybe-cas that writes what it expects changes nothing.
    if (op.kind == OpKind::kCas && !certain(op) && op.expected == op.value) continue;
    kept.push_back(id);
  }

  // Intern only the values some operation can tell apart from the others;
  // all the rest behave alike and share kBottom.
  std::map<Value, uint32_t> interned;
  uint32_t value_count = kBottom + 1;
  auto observe = [&](const Value& v) {
    if (interned.emplace(v, value_count).second) ++value_count;
  };
  for (uint32_t id : kept) {
    const Operation& op = ops[id];
    if (op.kind == OpKind::kRead) observe(op.read_value);
    if (op.kind == OpKind::kCas) observe(op.expected);
  }
  auto id_of = [&](const Value& v) {
    auto it = interned.find(v);
    return it == interned.end() ? kBottom : it->second;
  };
  // Absent (nullopt) sorts first in the map. Looking it up by position also
  // sidesteps a GCC 12 -Wmaybe-uninitialized false positive under ASan.
  p.initial = !interned.empty() && !interned.begin()->first ? interned.begin()->second : kBottom;
  p.value_count = value_count;

  std::vector<Node> nodes;
  for (uint32_t id : kept) {
    const Operation& op = ops[id];
    Node n;
    n.source = id;
    n.invoke_ns = op.invoke_ns;
    if (certain(op)) n.return_ns = op.return_ns;
    switch (op.kind) {
      case OpKind::kRead:
        n.step = Step::kSee;
        n.a = id_of(op.read_value);
        break;
      case OpKind::kWrite:
        n.step = certain(op) ? Step::kSet : Step::kMaybeSet;
        n.a = id_of(op.value);
        break;
      case OpKind::kCas:
        n.a = id_of(op.expected);
        n.b = id_of(op.value);
        if (!certain(op)) {
          n.step = Step::kMaybeSwap;
        } else if (!op.swapped) {
          n.step = Step::kSeeOther;
        } else {
          n.step = n.a == n.b ? Step::kSee : Step::kSwap;
        }
        break;
    }
    nodes.push_back(n);
  }

  // Useful-until per value: the last return of a kOk operation that could
  // be legal only because the register holds that value.
  std::vector<int64_t> useful(value_count, kNeverNs);
  std::vector<int64_t> see_other_max(value_count, kNeverNs);
  for (const Node& n : nodes) {
    if (n.step == Step::kSee || n.step == Step::kSwap) {
      useful[n.a] = std::max(useful[n.a], n.return_ns);
    } else if (n.step == Step::kSeeOther) {
      see_other_max[n.a] = std::max(see_other_max[n.a], n.return_ns);
    }
  }
  // A cas that did not swap needs any value but its expected one.
  uint32_t best_id = kNone;
  int64_t best_ns = kNeverNs;
  int64_t second_ns = kNeverNs;
  for (uint32_t v = 0; v < value_count; ++v) {
    if (see_other_max[v] > best_ns) {
      second_ns = best_ns;
      best_ns = see_other_max[v];
      best_id = v;
    } else if (see_other_max[v] > second_ns) {
      second_ns = see_other_max[v];
    }
  }
  for (uint32_t v = 0; v < value_count; ++v) {
    useful[v] = std::max(useful[v], v == best_id ? second_ns : best_ns);
  }
  // A maybe-cas turns a into b, so a matters as long as b does. A fixpoint:
  // each round only raises values, bounded by value_count rounds.
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& n : nodes) {
      if (n.step == Step::kMaybeSwap && useful[n.b] > useful[n.a]) {
        useful[n.a] = useful[n.b];
        changed = true;
      }
    }
  }
  for (Node& n : nodes) {
    if (n.step == Step::kMaybeSet) n.useful_until_ns = useful[n.a];
    if (n.step == Step::kMaybeSwap) n.useful_until_ns = useful[n.b];
  }
  // A maybe operation nothing can observe after its invocation never helps.
  std::erase_if(nodes, [](const Node& n) {
    return is_maybe(n.step) && n.useful_until_ns < n.invoke_ns;
  });
  p.dropped = ids.size() - nodes.size();

  std::sort(nodes.begin(), nodes.end(), [](const Node& x, const Node& y) {
    return std::tie(x.invoke_ns, x.source) < std::tie(y.invoke_ns, y.source);
  });

  std::map<std::tuple<Step, uint32_t, uint32_t>, uint32_t> classes;
  std::vector<uint32_t> class_size;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    Node& n = nodes[i];
    if (is_maybe(n.step)) {
      auto [it, added] = classes.emplace(std::tuple(n.step, n.a, n.b),
                                         static_cast<uint32_t>(class_size.size()));
      if (added) class_size.push_back(0);
      n.cls = it->second;
      n.cls_index = class_size[n.cls]++;
      p.maybe_by_rank.push_back(i);
    } else {
      p.ok_by_rank.push_back(i);
    }
  }
  p.class_count = static_cast<uint32_t>(class_size.size());
  std::sort(p.ok_by_rank.begin(), p.ok_by_rank.end(), [&](uint32_t x, uint32_t y) {
    return std::tie(nodes[x].return_ns, x) < std::tie(nodes[y].return_ns, y);
  });
  std::sort(p.maybe_by_rank.begin(), p.maybe_by_rank.end(), [&](uint32_t x, uint32_t y) {
    return std::tie(nodes[x].useful_until_ns, x) < std::tie(nodes[y].useful_until_ns, y);
  });
  for (uint32_t r = 0; r < p.ok_by_rank.size(); ++r) {
    Node& n = nodes[p.ok_by_rank[r]];
    n.rank = r;
    n.zobrist = mix64(0x6c696e6561726973ULL ^ r);
  }
  for (uint32_t r = 0; r < p.maybe_by_rank.size(); ++r) {
    Node& n = nodes[p.maybe_by_rank[r]];
    n.rank = r;
    p.maybe_useful_by_rank.push_back(n.useful_until_ns);
  }

  // Events in time order; at equal times calls come first, so operations
  // that touch in time count as concurrent. Returns keep rank order.
  struct Ev {
    int64_t t;
    uint8_t is_return;
    uint32_t order;
    uint32_t node;
  };
  std::vector<Ev> evs;
  for (uint32_t i = 0; i < nodes.size(); ++i) {
    evs.push_back({nodes[i].invoke_ns, 0, i, i});
    if (!is_maybe(nodes[i].step)) evs.push_back({nodes[i].return_ns, 1, nodes[i].rank, i});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& x, const Ev& y) {
    return std::tie(x.t, x.is_return, x.order) < std::tie(y.t, y.is_return, y.order);
  });
  p.event_node.assign(evs.size() + 2, kNone);
  p.event_is_return.assign(evs.size() + 2, 0);
  // The tail counts as a return, so every scan for calls stops there.
  p.event_is_return.back() = 1;
  for (uint32_t e = 0; e < evs.size(); ++e) {
    p.event_node[e + 1] = evs[e].node;
    p.event_is_return[e + 1] = evs[e].is_return;
    if (evs[e].is_return) {
      nodes[evs[e].node].return_event = e + 1;
    } else {
      nodes[evs[e].node].call_event = e + 1;
    }
  }

  p.needers.resize(value_count);
  p.producers.resize(value_count);
  p.consumers.resize(value_count);
  for (uint32_t i = 0; i < nodes.size(); ++i) {  // nodes are in invocation order
    if (uint32_t v = produces(nodes[i]); v != kNone) {
      nodes[i].produce_pos = static_cast<uint32_t>(p.producers[v].size());
      p.producers[v].push_back(i);
    }
  }
  for (uint32_t i : p.ok_by_rank) {  // in return order
    if (uint32_t v = needs(nodes[i]); v != kNone) {
      nodes[i].need_pos = static_cast<uint32_t>(p.needers[v].size());
      p.needers[v].push_back(i);
    }
    if (nodes[i].step == Step::kSwap) {
      nodes[i].consume_pos = static_cast<uint32_t>(p.consumers[nodes[i].a].size());
      p.consumers[nodes[i].a].push_back(i);
    }
  }
  p.nodes = std::move(nodes);
  return p;
}

// Configurations already explored, with subset pruning on maybe sets.
// Open addressing on the hash of (placed kOk set, value); configurations
// that share it sit in one probe run.
class MemoCache {
 public:
  MemoCache() : slots_(1024, kNone) {}

  // Returns false if this configuration, or one that dominates it, was
  // seen; otherwise records it and returns true.
  bool insert(uint64_t hash, uint32_t value, uint32_t low,
              const std::vector<uint64_t>& ok_words,
              const std::vector<uint64_t>& maybe_words) {
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (; slots_[i] != kNone; i = (i + 1) & mask) {
      const Entry& e = entries_[slots_[i]];
      if (e.hash != hash || e.value != value || e.low != low ||
          e.ok_count != ok_words.size()) {
        continue;
      }
      const uint64_t* w = words_.data() + e.words_begin;
      if (!std::equal(ok_words.begin(), ok_words.end(), w)) continue;
      if (is_subset(w + e.ok_count, e.maybe_count, maybe_words)) return false;
    }
    Entry e;
    e.hash = hash;
    e.value = value;
    e.low = low;
    e.words_begin = words_.size();
    e.ok_count = static_cast<uint32_t>(ok_words.size());
    e.maybe_count = static_cast<uint32_t>(maybe_words.size());
    words_.insert(words_.end(), ok_words.begin(), ok_words.end());
    words_.insert(words_.end(), maybe_words.begin(), maybe_words.end());
    slots_[i] = static_cast<uint32_t>(entries_.size());
    entries_.push_back(e);
    if (entries_.size() * 2 > slots_.size()) grow();
    return true;
  }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t hash;
    size_t words_begin;  // ok words, then maybe words
    uint32_t value;
    uint32_t low;
    uint32_t ok_count;
    uint32_t maybe_count;
  };

  static bool is_subset(const uint64_t* a, size_t a_count, const std::vector<uint64_t>& b) {
    for (size_t i = 0; i < a_count; ++i) {
      uint64_t other = i < b.size() ? b[i] : 0;
      if (a[i] & ~other) return false;
    }
    return true;
  }

  void grow() {
    std::vector<uint32_t> slots(slots_.size() * 2, kNone);
    const size_t mask = slots.size() - 1;
    for (uint32_t k = 0; k < entries_.size(); ++k) {
      size_t i = entries_[k].hash & mask;
      while (slots[i] != kNone) i = (i + 1) & mask;
      slots[i] = k;
    }
    slots_.swap(slots);
  }

  std::vector<uint32_t> slots_;  // Invariant: size is a power of two
  std::vector<Entry> entries_;
  std::vector<uint64_t> words_;
};

struct SearchLimits {
  uint64_t steps_max = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

SearchLimits steps_only(uint64_t steps_max) {
  SearchLimits limits;
  limits.steps_max = steps_max;
  return limits;
}

struct SearchReport {
  CheckOutcome outcome = CheckOutcome::kUnknown;
  uint64_t steps = 0;
  size_t cache_entries = 0;
  // How far the search got: every configuration explored was stuck before
  // some kOk node returned; this is the latest such return, that node (the
  // one "due"), and the step that first got there.
  int64_t best_reach_ns = kNeverNs;
  uint32_t best_due = kNone;
  uint64_t best_step = 0;
};

// What a second, identical run records for an explanation.
struct Snapshot {
  static constexpr size_t kValuesMax = 8;

  uint64_t at_step = std::numeric_limits<uint64_t>::max();
  int64_t reach_ns = kNeverNs;
  std::vector<uint32_t> path;          // nodes placed, in order
  std::vector<uint32_t> path_setters;  // after each, the node whose value
                                       // the register holds (kNone: initial)
  // Distinct values the register holds in configurations that got as far.
  std::vector<Value> values;
  bool values_truncated = false;
};

// The value the register holds after `setter` (kNone: the initial value).
const Value& value_set_by(const KeyProblem& p, uint32_t setter) {
  static const Value kAbsent;
  return setter == kNone ? kAbsent : p.ops[p.nodes[setter].source].value;
}

class KeySearch {
 public:
  // Without lookahead (pruning 6) the search is slower but only ever gets
  // stuck at a frontier, which makes for clearer explanations.
  KeySearch(const KeyProblem& p, bool lookahead) : p_(p), lookahead_(lookahead) {}

  // Deterministic: the same problem and limits give the same steps.
  SearchReport run(const SearchLimits& limits, Snapshot* snapshot) {
    SearchReport report;
    if (p_.ok_by_rank.empty()) {
      report.outcome = CheckOutcome::kLinearizable;
      return report;
    }
    reset();
    auto note = [&](uint64_t step, uint32_t due) {
      const int64_t reach = p_.nodes[due].return_ns;
      if (reach > report.best_reach_ns) {
        report.best_reach_ns = reach;
        report.best_due = due;
        report.best_step = step;
      }
      if (snapshot) record(step, reach, snapshot);
    };
    if (hopeless()) {
      note(0, starved_due(value_));
      report.outcome = CheckOutcome::kNotLinearizable;
      return report;
    }
    remember();
    note(0, p_.ok_by_rank[low_]);
    push_frame();

    uint64_t steps = 0;
    while (!frames_.empty()) {
      const uint32_t n = next_child(frames_.back());
      if (n == kNone) {
        frames_.pop_back();
        if (!frames_.empty()) undo(frames_.back());
        continue;
      }
      if (steps + 1 > limits.steps_max ||
          ((steps & 1023) == 1023 && std::chrono::steady_clock::now() > limits.deadline)) {
        break;  // frames_ is not empty: kUnknown
      }
      ++steps;
      apply(n);
      frames_.back().child = n;
      if (ok_left_ == 0) {
        report.outcome = CheckOutcome::kLinearizable;
        break;
      }
      if (hopeless()) {
        note(steps, starved_due(frames_.back().value));
        undo(frames_.back());
        continue;
      }
      if (!remember()) {
        undo(frames_.back());
        continue;
      }
      note(steps, p_.ok_by_rank[low_]);
      push_frame();
    }
    if (frames_.empty()) report.outcome = CheckOutcome::kNotLinearizable;
    report.steps = steps;
    report.cache_entries = cache_.size();
    return report;
  }

 private:
  enum Phase : uint8_t { kForced, kCertain, kMaybe, kDone };

  struct Frame {
    uint32_t cursor;  // last event tried in this phase; 0 (head) to start
    uint32_t forced;  // the observer to place, when phase == kForced
    uint32_t child;   // node placed from this frame, kNone if none
    // The frame's own configuration, which undo restores.
    uint32_t value;
    uint32_t setter;
    uint32_t low;
    uint32_t dead;
    Phase phase;
    bool after_maybe;  // pruning 5: the node placed last was a maybe node
  };

  void reset() {
    const size_t event_count = p_.event_node.size();
    next_.resize(event_count);
    prev_.resize(event_count);
    for (uint32_t e = 0; e < event_count; ++e) {
      next_[e] = e + 1 < event_count ? e + 1 : kNone;
      prev_[e] = e > 0 ? e - 1 : kNone;
    }
    placed_.assign(p_.nodes.size(), 0);
    ok_bits_.assign((p_.ok_by_rank.size() + 63) / 64, 0);
    maybe_bits_.assign((p_.maybe_by_rank.size() + 63) / 64, 0);
    ok_top_word_ = 0;
    maybe_top_word_ = 0;
    class_used_.assign(p_.class_count, 0);
    first_needer_.assign(p_.value_count, 0);
    first_producer_.assign(p_.value_count, 0);
    first_consumer_.assign(p_.value_count, 0);
    starved_ = 0;
    for (uint32_t v = 0; v < p_.value_count; ++v) starved_ += starved(v, 0);
    value_ = p_.initial;
    setter_ = kNone;
    low_ = 0;
    ok_left_ = static_cast<uint32_t>(p_.ok_by_rank.size());
    zobrist_ = 0;
    dead_ = 0;
    kill_until(dead_for(low_));
    frames_.clear();
    cache_ = MemoCache();
  }

  int64_t frontier_ns(uint32_t low) const { return p_.nodes[p_.ok_by_rank[low]].return_ns; }

  // Maybe ranks below this are dead once the frontier is low's return.
  uint32_t dead_for(uint32_t low) const {
    const auto& u = p_.maybe_useful_by_rank;
    return static_cast<uint32_t>(std::lower_bound(u.begin(), u.end(), frontier_ns(low)) -
                                 u.begin());
  }

  static bool test(const std::vector<uint64_t>& bits, uint32_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
  }

  void unlink(uint32_t e) {
    next_[prev_[e]] = next_[e];
    prev_[next_[e]] = prev_[e];
  }
  // Dancing links: restores e, as undo runs in reverse order of unlink.
  void relink(uint32_t e) {
    next_[prev_[e]] = e;
    prev_[next_[e]] = e;
  }

  // Unlinks the unplaced maybe nodes that die as the frontier moves on.
  void kill_until(uint32_t dead) {
    for (; dead_ < dead; ++dead_) {
      if (!test(maybe_bits_, dead_)) unlink(p_.nodes[p_.maybe_by_rank[dead_]].call_event);
    }
  }
  void revive_until(uint32_t dead) {
    while (dead_ > dead) {
      --dead_;
      if (!test(maybe_bits_, dead_)) relink(p_.nodes[p_.maybe_by_rank[dead_]].call_event);
    }
  }

  // Pruning 6: the unplaced needer of v whose deadline cannot be met, or
  // kNone. `held` is 1 if the register holds v now (one use for free).
  // The first needer has the earliest deadline; swaps each consume v.
  uint32_t starving_needer(uint32_t v, uint32_t held) const {
    const auto& needers = p_.needers[v];
    if (first_needer_[v] == needers.size()) return kNone;
    // Whether `want` unplaced producers of v are invoked by deadline_ns.
    auto available = [&](int64_t deadline_ns, uint32_t want) {
      const auto& producers = p_.producers[v];
      uint32_t have = 0;
      for (uint32_t k = first_producer_[v]; k < producers.size() && have < want; ++k) {
        if (p_.nodes[producers[k]].invoke_ns > deadline_ns) break;
        have += !placed_[producers[k]];
      }
      return have >= want;
    };
    const uint32_t first = needers[first_needer_[v]];
    if (held == 0 && !available(p_.nodes[first].return_ns, 1)) return first;
    constexpr uint32_t kConsumersChecked = 4;
    const auto& consumers = p_.consumers[v];
    uint32_t j = 0;
    for (uint32_t k = first_consumer_[v]; k < consumers.size() && j < kConsumersChecked; ++k) {
      if (placed_[consumers[k]]) continue;
      ++j;
      if (j > held && !available(p_.nodes[consumers[k]].return_ns, j - held)) return consumers[k];
    }
    return kNone;
  }
  bool starved(uint32_t v, uint32_t held) const { return starving_needer(v, held) != kNone; }

  bool hopeless() const {
    if (!lookahead_) return false;
    uint32_t others = starved_;
    if (starved(value_, 0)) {
      if (starved(value_, 1)) return true;
      --others;
    }
    return others > 0;
  }

  // The starving needer with the earliest deadline. Only the value a step
  // overwrote can newly starve, so `hint` (that value) is nearly always it.
  uint32_t starved_due(uint32_t hint) const {
    if (hint != value_) {
      if (uint32_t n = starving_needer(hint, 0); n != kNone) return n;
    }
    uint32_t due = kNone;
    for (uint32_t v = 0; v < p_.value_count; ++v) {
      const uint32_t n = starving_needer(v, v == value_ ? 1 : 0);
      if (n != kNone && (due == kNone || p_.nodes[n].return_ns < p_.nodes[due].return_ns)) {
        due = n;
      }
    }
    RAFT_ASSERT(due != kNone);
    return due;
  }

  // Keeps first at the first unplaced entry of list once entry pos was
  // placed or unplaced.
  void move_first(uint32_t& first, uint32_t pos, const std::vector<uint32_t>& list,
                  bool placing) {
    if (!placing) {
      first = std::min(first, pos);
    } else if (pos == first) {
      while (first < list.size() && placed_[list[first]]) ++first;
    }
  }
  // Updates placed_, the first_* cursors and starved_ for node i.
  void track_node(uint32_t i, bool placing) {
    const Node& n = p_.nodes[i];
    const uint32_t need = needs(n);
    const uint32_t make = produces(n);  // != need: swaps have a != b
    const bool need_was = need != kNone && starved(need, 0);
    const bool make_was = make != kNone && starved(make, 0);
    placed_[i] = placing;
    if (need != kNone) {
      move_first(first_needer_[need], n.need_pos, p_.needers[need], placing);
      if (n.step == Step::kSwap) {
        move_first(first_consumer_[need], n.consume_pos, p_.consumers[need], placing);
      }
      starved_ = starved_ + starved(need, 0) - need_was;
    }
    if (make != kNone) {
      move_first(first_producer_[make], n.produce_pos, p_.producers[make], placing);
      starved_ = starved_ + starved(make, 0) - make_was;
    }
  }

  void push_frame() {
    const bool after_maybe = !frames_.empty() && is_maybe(p_.nodes[frames_.back().child].step);
    Frame f{0, kNone, kNone, value_, setter_, low_, dead_, kCertain, after_maybe};
    // Pruning 1: an observer that can take effect now goes first, alone.
    for (uint32_t e = next_[0]; !p_.event_is_return[e]; e = next_[e]) {
      const Node& n = p_.nodes[p_.event_node[e]];
      if ((n.step == Step::kSee && n.a == value_) ||
          (n.step == Step::kSeeOther && n.a != value_)) {
        f.phase = kForced;
        f.forced = p_.event_node[e];
        break;
      }
    }
    frames_.push_back(f);
  }

  bool acceptable(const Frame& f, const Node& n) const {
    if (f.phase == kCertain) {
      return (n.step == Step::kSet && !f.after_maybe) || (n.step == Step::kSwap && n.a == value_);
    }
    // Pruning 2 (only where it changes the value), 3 (class order), 5.
    if (!is_maybe(n.step) || class_used_[n.cls] != n.cls_index) return false;
    return n.step == Step::kMaybeSet ? n.a != value_ && !f.after_maybe : n.a == value_;
  }

  // The frame's next child: certain nodes first, then maybe nodes, each in
  // invocation order among the calls before the first pending return.
  uint32_t next_child(Frame& f) {
    if (f.phase == kForced) {
      f.phase = kDone;
      return f.forced;
    }
    while (f.phase != kDone) {
      for (uint32_t e = next_[f.cursor]; !p_.event_is_return[e]; e = next_[e]) {
        if (acceptable(f, p_.nodes[p_.event_node[e]])) {
          f.cursor = e;
          return p_.event_node[e];
        }
      }
      f.phase = f.phase == kCertain ? kMaybe : kDone;
      f.cursor = 0;
    }
    return kNone;
  }

  void apply(uint32_t i) {
    const Node& n = p_.nodes[i];
    track_node(i, true);
    if (produces(n) != kNone) setter_ = i;
    if (is_maybe(n.step)) {
      unlink(n.call_event);
      maybe_bits_[n.rank / 64] |= uint64_t{1} << (n.rank % 64);
      maybe_top_word_ = std::max(maybe_top_word_, n.rank / 64);
      ++class_used_[n.cls];
      value_ = n.step == Step::kMaybeSet ? n.a : n.b;
      return;
    }
    unlink(n.call_event);
    unlink(n.return_event);
    ok_bits_[n.rank / 64] |= uint64_t{1} << (n.rank % 64);
    ok_top_word_ = std::max(ok_top_word_, n.rank / 64);
    zobrist_ ^= n.zobrist;
    --ok_left_;
    if (n.step == Step::kSet) value_ = n.a;
    if (n.step == Step::kSwap) value_ = n.b;
    if (n.rank == low_) {
      while (low_ < p_.ok_by_rank.size() && test(ok_bits_, low_)) ++low_;
      if (ok_left_ > 0) kill_until(dead_for(low_));
    }
  }

  // Takes back f.child, restoring f's configuration.
  void undo(Frame& f) {
    const uint32_t i = f.child;
    const Node& n = p_.nodes[i];
    f.child = kNone;
    track_node(i, false);
    value_ = f.value;
    setter_ = f.setter;
    if (is_maybe(n.step)) {
      maybe_bits_[n.rank / 64] &= ~(uint64_t{1} << (n.rank % 64));
      --class_used_[n.cls];
      relink(n.call_event);
      return;
    }
    revive_until(f.dead);
    low_ = f.low;
    ok_bits_[n.rank / 64] &= ~(uint64_t{1} << (n.rank % 64));
    zobrist_ ^= n.zobrist;
    ++ok_left_;
    relink(n.return_event);
    relink(n.call_event);
  }

  // Records the current configuration in the cache; false if it (or one
  // with a subset of its maybe nodes placed) was seen before.
  bool remember() {
    // kOk part: words from low's word to the last non-zero one. The bits
    // below low are all ones, so (low, words) is canonical.
    const uint32_t first = low_ / 64;
    while (ok_top_word_ > first && ok_bits_[ok_top_word_] == 0) --ok_top_word_;
    ok_top_word_ = std::max(ok_top_word_, first);
    ok_key_.assign(ok_bits_.begin() + first, ok_bits_.begin() + ok_top_word_ + 1);

    // Maybe part: live ranks only (dead ones masked off), trailing zero
    // words dropped.
    maybe_key_.clear();
    if (!maybe_bits_.empty()) {
      const uint32_t dead_word = dead_ / 64;
      while (maybe_top_word_ > 0 && maybe_bits_[maybe_top_word_] == 0) --maybe_top_word_;
      if (dead_word <= maybe_top_word_) {
        maybe_key_.assign(maybe_bits_.begin() + dead_word,
                          maybe_bits_.begin() + maybe_top_word_ + 1);
        maybe_key_[0] &= ~uint64_t{0} << (dead_ % 64);
        while (!maybe_key_.empty() && maybe_key_.back() == 0) maybe_key_.pop_back();
      }
    }
    return cache_.insert(zobrist_ ^ mix64(value_), value_, low_, ok_key_, maybe_key_);
  }

  void record(uint64_t step, int64_t reach_ns, Snapshot* s) const {
    if (reach_ns == s->reach_ns) {
      const Value& v = value_set_by(p_, setter_);
      if (std::find(s->values.begin(), s->values.end(), v) == s->values.end()) {
        if (s->values.size() < Snapshot::kValuesMax) {
          s->values.push_back(v);
        } else {
          s->values_truncated = true;
        }
      }
    }
    if (step != s->at_step) return;
    s->path.clear();
    s->path_setters.clear();
    for (size_t k = 0; k < frames_.size(); ++k) {
      s->path.push_back(frames_[k].child);
      s->path_setters.push_back(k + 1 < frames_.size() ? frames_[k + 1].setter : setter_);
    }
  }

  const KeyProblem& p_;
  const bool lookahead_;
  std::vector<uint32_t> next_;  // event list links; 0 is the head
  std::vector<uint32_t> prev_;
  std::vector<uint8_t> placed_;       // by node
  std::vector<uint64_t> ok_bits_;     // by kOk rank: placed
  std::vector<uint64_t> maybe_bits_;  // by maybe rank: placed
  // Invariant: no non-zero word above these (kept loose, tightened lazily).
  uint32_t ok_top_word_ = 0;
  uint32_t maybe_top_word_ = 0;
  std::vector<uint32_t> class_used_;  // per class: how many placed
  // Per value: index of the first unplaced entry in needers / producers.
  std::vector<uint32_t> first_needer_;
  std::vector<uint32_t> first_producer_;
  std::vector<uint32_t> first_consumer_;
  uint32_t starved_ = 0;  // Invariant: how many values v are starved(v, 0)
  uint32_t value_ = kBottom;  // the register, interned
  uint32_t setter_ = kNone;   // the node value_ came from
  // Invariant: every kOk rank below low_ is placed; low_ is not.
  uint32_t low_ = 0;
  uint32_t ok_left_ = 0;
  // Invariant: maybe ranks below dead_ are useful only until before the
  // frontier; the unplaced ones are unlinked.
  uint32_t dead_ = 0;
  uint64_t zobrist_ = 0;  // hash of the placed kOk set
  std::vector<Frame> frames_;
  MemoCache cache_;
  std::vector<uint64_t> ok_key_;
  std::vector<uint64_t> maybe_key_;
};

void append_lines(std::string* out, const std::vector<std::string>& lines, size_t max) {
  const size_t shown = std::min(lines.size(), max);
  for (size_t i = 0; i < shown; ++i) *out += "    " + lines[i] + "\n";
  if (lines.size() > shown) {
    *out += "    ... and " + std::to_string(lines.size() - shown) + " more\n";
  }
  if (lines.empty()) *out += "    (none)\n";
}

// What the search found in the (shortest failing) prefix `p`, after the
// headline that check_key wrote.
std::string describe_failure(const KeyProblem& p, const SearchReport& report,
                             const Snapshot& s, const CheckOptions& options) {
  std::span<const Operation> ops = p.ops;
  std::string out;
  const Node& due = p.nodes[report.best_due];
  if (uint32_t v = needs(due); v != kNone) {
    std::vector<std::string> lines;
    for (uint32_t i : p.producers[v]) {
      if (p.nodes[i].invoke_ns > due.return_ns) break;
      lines.push_back(format_operation(ops[p.nodes[i].source], p.nodes[i].source));
    }
    out += "  Operations that could write " +
           format_value(ops[due.source].kind == OpKind::kRead ? ops[due.source].read_value
                                                              : ops[due.source].expected) +
           " before #" + std::to_string(due.source) + " returns" +
           (v == p.initial ? " (the key's initial value)" : "") + ":\n";
    append_lines(&out, lines, options.explanation_ops_max);
  }

  out += "  Orders that got this far leave the register holding: ";
  for (size_t i = 0; i < s.values.size(); ++i) {
    out += (i > 0 ? " or " : "") + format_value(s.values[i]);
  }
  out += s.values_truncated ? " or others\n" : "\n";

  // What overlaps the stuck operation in time yet was not placed: the
  // candidates for taking effect just before it.
  std::vector<uint8_t> placed(p.nodes.size(), 0);
  for (uint32_t i : s.path) placed[i] = 1;
  std::vector<std::string> pending;
  for (uint32_t i = 0; i < p.nodes.size(); ++i) {
    const Node& n = p.nodes[i];
    if (placed[i] || i == report.best_due) continue;
    if (n.invoke_ns > due.return_ns || n.return_ns < due.invoke_ns) continue;
    if (is_maybe(n.step) && n.useful_until_ns < s.reach_ns) continue;
    pending.push_back(format_operation(ops[n.source], n.source) +
                      (is_maybe(n.step) ? "   (may or may not have taken effect)" : ""));
  }
  out += "  Operations concurrent with #" + std::to_string(due.source) +
         " left unplaced by the furthest order found:\n";
  append_lines(&out, pending, options.explanation_ops_max);

  std::vector<std::string> order;
  const size_t shown = std::min(s.path.size(), options.explanation_ops_max);
  for (size_t k = s.path.size() - shown; k < s.path.size(); ++k) {
    const Node& n = p.nodes[s.path[k]];
    order.push_back(format_operation(ops[n.source], n.source) + "  => " +
                    format_value(value_set_by(p, s.path_setters[k])));
  }
  out += "  The furthest order found (" + std::to_string(s.path.size()) +
         " operations; the last " + std::to_string(shown) +
         ", with the register after each):\n";
  append_lines(&out, order, options.explanation_ops_max);
  return out;
}

const char* kind_name(const Operation& op) {
  switch (op.kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return op.value ? "write" : "delete";
    case OpKind::kCas:
      return "cas";
  }
  return "?";
}

// Step budget of the explanation's search without lookahead.
constexpr uint64_t kExplainStepsMax = 1'000'000;

struct KeyVerdict {
  KeyStats stats;
  std::string explanation;  // empty when linearizable
};

// Explains a key known not to be linearizable: finds the shortest prefix
// (by time) that already is not, then shows how the search got stuck there.
// Whether a prefix is linearizable is monotone in its end time, so a binary
// search over the key's return times finds it; a probe that runs out of
// budget counts as unproven and only ever makes the prefix longer.
std::string explain_key(std::string_view key, const std::vector<uint32_t>& ids,
                        std::span<const Operation> ops, const CheckOptions& options,
                        uint64_t full_steps, std::chrono::steady_clock::time_point deadline) {
  std::vector<int64_t> cuts;
  for (uint32_t id : ids) {
    if (ops[id].outcome == OpOutcome::kOk) cuts.push_back(ops[id].return_ns);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  // Invariant: the prefix up to cuts[hi] is not linearizable (the full
  // history is, at hi = last); lo_proven says the one up to cuts[lo] is
  // (vacuously at lo = -1, before any return).
  SearchLimits probe_limits;
  probe_limits.steps_max = std::min(options.per_key_steps_max, 4 * full_steps + 100'000);
  probe_limits.deadline = deadline;
  ptrdiff_t lo = -1;
  ptrdiff_t hi = static_cast<ptrdiff_t>(cuts.size()) - 1;
  bool lo_proven = true;
  uint64_t hi_steps = full_steps;
  int64_t hi_cut = kForeverNs;
  while (hi - lo > 1) {
    const ptrdiff_t mid = lo + (hi - lo) / 2;
    KeyProblem prefix = build_problem(key, ids, ops, cuts[mid]);
    SearchReport r = KeySearch(prefix, true).run(probe_limits, nullptr);
    if (r.outcome == CheckOutcome::kNotLinearizable) {
      hi = mid;
      hi_steps = r.steps;
      hi_cut = cuts[mid];
    } else {
      lo = mid;
      lo_proven = r.outcome == CheckOutcome::kLinearizable;
    }
  }

  // Prefer a search without lookahead: it gets stuck where an operation's
  // return comes due, not where a value was clobbered long before. It may
  // be much slower, hence its own budget and the fallback.
  KeyProblem problem = build_problem(key, ids, ops, hi_cut);
  KeySearch plain(problem, false);
  SearchLimits again;
  again.steps_max = std::min<uint64_t>(options.per_key_steps_max, kExplainStepsMax);
  again.deadline = deadline;
  SearchReport report = plain.run(again, nullptr);
  KeySearch ahead(problem, true);
  KeySearch& search = report.outcome == CheckOutcome::kNotLinearizable ? plain : ahead;
  if (&search == &ahead) report = ahead.run(steps_only(hi_steps), nullptr);
  RAFT_ASSERT(report.outcome == CheckOutcome::kNotLinearizable);
  // Same problem, same step budget: the search repeats itself exactly, now
  // stopping to look at the configuration that got furthest.
  again = steps_only(report.steps);
  Snapshot snapshot;
  snapshot.at_step = report.best_step;
  snapshot.reach_ns = report.best_reach_ns;
  search.run(again, &snapshot);

  const int64_t end_ns = cuts[static_cast<size_t>(hi)];
  std::string out = "key " + format_value(std::string(key)) + ": not linearizable.\n";
  if (lo >= 0 && lo_proven) {
    out += "  Its history is linearizable up to t=" + std::to_string(cuts[static_cast<size_t>(lo)]) +
           " but not up to t=" + std::to_string(end_ns) + ", when this returned:\n";
  } else if (lo < 0) {
    out += "  Its history is already not linearizable up to t=" + std::to_string(end_ns) +
           ", when this returned:\n";
  } else {
    out += "  Its history up to t=" + std::to_string(end_ns) +
           " is not linearizable (shorter prefixes ran out of budget); it ends with:\n";
  }
  for (uint32_t id : ids) {
    if (ops[id].outcome == OpOutcome::kOk && ops[id].return_ns == end_ns) {
      out += "    " + format_operation(ops[id], id) + "\n";
    }
  }
  out += "  The search got stuck before #" +
         std::to_string(problem.nodes[report.best_due].source) + " could take effect (due at t=" +
         std::to_string(report.best_reach_ns) + ").\n";
  out += describe_failure(problem, report, snapshot, options);
  return out;
}

KeyVerdict check_key(std::string_view key, const std::vector<uint32_t>& ids,
                     std::span<const Operation> ops, const CheckOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  SearchLimits limits;
  limits.steps_max = options.per_key_steps_max;
  if (options.per_key_time_ms_max > 0) {
    limits.deadline = started + std::chrono::milliseconds(options.per_key_time_ms_max);
  }
  KeyProblem problem = build_problem(key, ids, ops, kForeverNs);
  SearchReport report = KeySearch(problem, true).run(limits, nullptr);

  KeyVerdict verdict;
  KeyStats& stats = verdict.stats;
  stats.key = problem.key;
  stats.operations = problem.operations;
  stats.ok_ops = problem.ok_by_rank.size();
  stats.maybe_ops = problem.maybe_by_rank.size();
  stats.dropped_ops = problem.dropped;
  stats.search_steps = report.steps;
  stats.cache_entries = report.cache_entries;
  stats.outcome = report.outcome;

  if (report.outcome == CheckOutcome::kNotLinearizable) {
    // Explaining may take a few more searches; it gets the key's wall-time
    // budget again, so a failing check ends within twice the budget.
    auto deadline = options.per_key_time_ms_max > 0
                        ? std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(options.per_key_time_ms_max)
                        : std::chrono::steady_clock::time_point::max();
    verdict.explanation = explain_key(key, ids, ops, options, report.steps, deadline);
  } else if (report.outcome == CheckOutcome::kUnknown) {
    const Node& due = problem.nodes[report.best_due];
    verdict.explanation =
        "key " + format_value(problem.key) + ": undecided: the search gave up after " +
        std::to_string(report.steps) + " steps (budget: " +
        std::to_string(options.per_key_steps_max) + " steps, " +
        std::to_string(options.per_key_time_ms_max) + " ms). It had placed everything due before t=" +
        std::to_string(report.best_reach_ns) + ", when this returns:\n    " +
        format_operation(ops[due.source], due.source) + "\n";
  }
  stats.elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  return verdict;
}

}  // namespace

std::string format_operation(const Operation& op, size_t id) {
  std::string out = "#" + std::to_string(id) + " client " + std::to_string(op.client) + " " +
                    kind_name(op) + " " + format_value(op.key);
  if (op.kind == OpKind::kWrite && op.value) out += " = " + format_value(op.value);
  if (op.kind == OpKind::kCas) {
    out += " " + format_value(op.expected) + " -> " + format_value(op.value);
  }
  out += " [" + std::to_string(op.invoke_ns) + ", ";
  switch (op.outcome) {
    case OpOutcome::kPending:
      out += "pending]";
      break;
    case OpOutcome::kUnknown:
      out += "unknown]";
      break;
    case OpOutcome::kFailed:
      out += std::to_string(op.return_ns) + "] failed";
      break;
    case OpOutcome::kOk:
      out += std::to_string(op.return_ns) + "]";
      if (op.kind == OpKind::kRead) out += " read " + format_value(op.read_value);
      if (op.kind == OpKind::kCas) out += op.swapped ? " swapped" : " not swapped";
      break;
  }
  return out;
}

int History::invoke(int client, std::string key, OpKind kind, Value value, Value expected,
                    int64_t invoke_ns) {
  Operation op;
  op.client = client;
  op.key = std::move(key);
  op.kind = kind;
  op.value = std::move(value);
  op.expected = std::move(expected);
  op.invoke_ns = invoke_ns;
  return add(std::move(op));
}

int History::invoke_read(int client, std::string key, int64_t invoke_ns) {
  return invoke(client, std::move(key), OpKind::kRead, std::nullopt, std::nullopt, invoke_ns);
}

int History::invoke_write(int client, std::string key, Value value, int64_t invoke_ns) {
  return invoke(client, std::move(key), OpKind::kWrite, std::move(value), std::nullopt,
                invoke_ns);
}

int History::invoke_delete(int client, std::string key, int64_t invoke_ns) {
  return invoke_write(client, std::move(key), std::nullopt, invoke_ns);
}

int History::invoke_cas(int client, std::string key, Value expected, Value value,
                        int64_t invoke_ns) {
  return invoke(client, std::move(key), OpKind::kCas, std::move(value), std::move(expected),
                invoke_ns);
}

Operation& History::pending(int id) {
  RAFT_ASSERT_MSG(id >= 0 && static_cast<size_t>(id) < ops_.size(), "unknown operation id");
  Operation& op = ops_[static_cast<size_t>(id)];
  RAFT_ASSERT_MSG(op.outcome == OpOutcome::kPending, "operation completed twice");
  return op;
}

void History::ok(int id, int64_t return_ns) {
  Operation& op = pending(id);
  RAFT_ASSERT_MSG(op.kind == OpKind::kWrite, "ok() completes writes; use ok_read/ok_cas");
  RAFT_ASSERT(op.invoke_ns <= return_ns);
  op.return_ns = return_ns;
  op.outcome = OpOutcome::kOk;
}

void History::ok_read(int id, int64_t return_ns, Value value) {
  Operation& op = pending(id);
  RAFT_ASSERT_MSG(op.kind == OpKind::kRead, "ok_read() completes reads");
  RAFT_ASSERT(op.invoke_ns <= return_ns);
  op.return_ns = return_ns;
  op.read_value = std::move(value);
  op.outcome = OpOutcome::kOk;
}

void History::ok_cas(int id, int64_t return_ns, bool swapped) {
  Operation& op = pending(id);
  RAFT_ASSERT_MSG(op.kind == OpKind::kCas, "ok_cas() completes cas operations");
  RAFT_ASSERT(op.invoke_ns <= return_ns);
  op.return_ns = return_ns;
  op.swapped = swapped;
  op.outcome = OpOutcome::kOk;
}

void History::fail(int id, int64_t return_ns) {
  Operation& op = pending(id);
  RAFT_ASSERT(op.invoke_ns <= return_ns);
  op.return_ns = return_ns;
  op.outcome = OpOutcome::kFailed;
}

void History::unknown(int id) { pending(id).outcome = OpOutcome::kUnknown; }

int History::add(Operation op) {
  RAFT_ASSERT_MSG(ops_.size() < static_cast<size_t>(std::numeric_limits<int>::max()),
                  "history too long");
  if (op.outcome == OpOutcome::kOk || op.outcome == OpOutcome::kFailed) {
    RAFT_ASSERT_MSG(op.invoke_ns <= op.return_ns, "operation returns before its invocation");
  }
  ops_.push_back(std::move(op));
  return static_cast<int>(ops_.size() - 1);
}

const char* check_outcome_name(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kLinearizable:
      return "linearizable";
    case CheckOutcome::kNotLinearizable:
      return "not linearizable";
    case CheckOutcome::kUnknown:
      return "unknown (budget exhausted)";
  }
  return "?";
}

std::string CheckResult::stats_summary() const {
  std::string out;
  for (const KeyStats& k : keys) {
    out += "key " + format_value(k.key) + ": " + std::to_string(k.operations) + " ops (" +
           std::to_string(k.ok_ops) + " ok, " + std::to_string(k.maybe_ops) + " maybe, " +
           std::to_string(k.dropped_ops) + " dropped), " + std::to_string(k.search_steps) +
           " steps, " + std::to_string(k.cache_entries) + " cached, " +
           std::to_string(k.elapsed_us) + " us: " + check_outcome_name(k.outcome) + "\n";
  }
  return out;
}

CheckResult check(std::span<const Operation> ops, const CheckOptions& options) {
  RAFT_ASSERT_MSG(ops.size() < kNone, "history too long");
  std::map<std::string_view, std::vector<uint32_t>> by_key;
  for (uint32_t id = 0; id < ops.size(); ++id) {
    const Operation& op = ops[id];
    if (op.outcome == OpOutcome::kOk || op.outcome == OpOutcome::kFailed) {
      RAFT_ASSERT_MSG(op.invoke_ns <= op.return_ns, "operation returns before its invocation");
    }
    by_key[op.key].push_back(id);
  }

  CheckResult result;
  std::string undecided;
  for (const auto& [key, ids] : by_key) {
    KeyVerdict verdict = check_key(key, ids, ops, options);
    const CheckOutcome outcome = verdict.stats.outcome;
    if (outcome == CheckOutcome::kNotLinearizable) {
      result.outcome = CheckOutcome::kNotLinearizable;
      result.explanation += verdict.explanation;
    } else if (outcome == CheckOutcome::kUnknown) {
      if (result.outcome == CheckOutcome::kLinearizable) result.outcome = CheckOutcome::kUnknown;
      undecided += verdict.explanation;
    }
    result.search_steps += verdict.stats.search_steps;
    result.keys.push_back(std::move(verdict.stats));
  }
  // Violations first: they are what a failing test is about.
  result.explanation += undecided;
  return result;
}

CheckResult check(const History& history, const CheckOptions& options) {
  return check(std::span<const Operation>(history.operations()), options);
}

}  // namespace raft::testing
