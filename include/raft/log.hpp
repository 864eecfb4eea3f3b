// Log levels and the log callback of the public API.
//
// libraft logs what happens on its own (elections, peers refused, a leader
// stepping down and why, a torn WAL tail cut) through a callback the
// application gives in its Config; the default writes to stderr.
//
// Thread safety: the callback is called from libraft's threads, possibly
// several at once; it must be thread-safe and must not call into libraft.
#pragma once

#include <functional>
#include <string_view>

namespace raft {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

using LogSink = std::function<void(LogLevel level, std::string_view message)>;

}  // namespace raft
