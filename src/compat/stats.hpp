// raft_print_stats: the statistics JSON ({"state":"Leader","term":"3",...},
// a flat object as the C API's raft_node_stats makes it) as readable text.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raft::compat {

// The members of a flat JSON object, in order; string values unescaped,
// other values (numbers, true, false, null) as written. nullopt when the
// text is not such an object.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_flat_json(std::string_view json);

// "Raft stats:" and one "  name  value" line per member, sorted by name,
// names padded to one column. Text that is not a flat object is returned
// as it is, after a note.
std::string format_stats(std::string_view json);

}  // namespace raft::compat
