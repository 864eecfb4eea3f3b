// IndexRing<T>: values keyed by a log index that mostly arrive in
// increasing order and mostly leave from the front, as a leader's pending
// commands do (proposed in index order, committed in index order, a few
// leaving early on a timeout). A deque of slots from the lowest live index
// up: insert, find and erase are O(1) with no heap node per value, where a
// std::map cost a node allocation and a rebalance per command.
//
// Gaps (indexes with no value) cost one empty slot each, so keys should
// stay close together; an index below the lowest live one is allowed and
// costs the slots between.
//
// Thread safety: none; one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace raft {

template <class T>
class IndexRing {
 public:
  bool empty() const { return live_ == 0; }
  size_t size() const { return live_; }

  // Inserts `value` at `index`; false (and nothing changes) if a value is
  // already there.
  bool insert(uint64_t index, T value) {
    if (live_ == 0) {
      slots_.clear();
      base_ = index;
    }
    while (index < base_) {
      slots_.emplace_front();
      --base_;
    }
    uint64_t k = index - base_;
    if (k >= slots_.size()) slots_.resize(static_cast<size_t>(k) + 1);
    auto& slot = slots_[static_cast<size_t>(k)];
    if (slot) return false;
    slot.emplace(std::move(value));
    ++live_;
    return true;
  }

  // The value at `index`, or null.
  T* find(uint64_t index) {
    if (index < base_ || index - base_ >= slots_.size()) return nullptr;
    auto& slot = slots_[static_cast<size_t>(index - base_)];
    return slot ? &*slot : nullptr;
  }

  // Removes the value at `index`, if any.
  void erase(uint64_t index) {
    if (index < base_ || index - base_ >= slots_.size()) return;
    auto& slot = slots_[static_cast<size_t>(index - base_)];
    if (!slot) return;
    slot.reset();
    --live_;
    while (!slots_.empty() && !slots_.front()) {
      slots_.pop_front();
      ++base_;
    }
  }

  void clear() {
    slots_.clear();
    live_ = 0;
  }

  // Calls fn(index, value&) for every value, in index order.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (size_t k = 0; k < slots_.size(); ++k)
      if (slots_[k]) fn(base_ + k, *slots_[k]);
  }

 private:
  std::deque<std::optional<T>> slots_;
  uint64_t base_ = 0;  // the index of slots_[0]
  size_t live_ = 0;
};

}  // namespace raft
