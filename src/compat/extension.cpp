// The process's post-2015 options (extension.hpp).
#include "compat/extension.hpp"

#include <mutex>

namespace raft::compat {
namespace {

std::mutex g_mu;
ConfigExtension g_extension;  // guarded by g_mu

}  // namespace

ConfigExtension config_extension() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_extension;
}

void update_config_extension(const std::function<void(ConfigExtension&)>& change) {
  std::lock_guard<std::mutex> lock(g_mu);
  change(g_extension);
}

}  // namespace raft::compat
