#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace raftkv {
namespace {

std::string g_node_name = "?";
raft::LogLevel g_min_level = raft::LogLevel::kInfo;
std::mutex g_write_mu;  // one line at a time, so lines never interleave

const char* level_name(raft::LogLevel level) {
  switch (level) {
    case raft::LogLevel::kDebug: return "debug";
    case raft::LogLevel::kInfo: return "info";
    case raft::LogLevel::kWarn: return "warn";
    case raft::LogLevel::kError: return "error";
    case raft::LogLevel::kOff: break;
  }
  return "?";
}

}  // namespace

void log_init(std::string node_name, raft::LogLevel min_level) {
  g_node_name = std::move(node_name);
  g_min_level = min_level;
}

bool log_enabled(raft::LogLevel level) { return level >= g_min_level && level != raft::LogLevel::kOff; }

void log_line(raft::LogLevel level, std::string_view message) {
  if (!log_enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char clock[32];
  std::snprintf(clock, sizeof clock, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fprintf(stderr, "%s [%s] %s: %.*s\n", clock, g_node_name.c_str(), level_name(level),
               static_cast<int>(message.size()), message.data());
}

}  // namespace raftkv
