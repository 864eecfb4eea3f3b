#include "storage/log_store.hpp"

#include <string>

namespace raft::storage {

Status check_append(Index last_index, Term last_term, bool empty,
                    std::span<const Entry> entries) {
  Index expected = last_index + 1;
  Term term = last_term;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.index != expected) {
      return invalid_argument("append: entry " + std::to_string(i) + " has index " +
                              std::to_string(e.index.value) + ", expected " +
                              std::to_string(expected.value));
    }
    if (!entry_type_valid(static_cast<uint8_t>(e.type))) {
      return invalid_argument("append: entry " + std::to_string(e.index.value) +
                              " has unknown type " +
                              std::to_string(static_cast<int>(e.type)));
    }
    if ((!empty || i > 0) && e.term < term) {
      return invalid_argument("append: entry " + std::to_string(e.index.value) + " has term " +
                              std::to_string(e.term.value) + ", below the term " +
                              std::to_string(term.value) + " before it");
    }
    term = e.term;
    ++expected;
  }
  return Status();
}

}  // namespace raft::storage
