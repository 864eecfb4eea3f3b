// Conversions between the public API's types (include/raft/raft.hpp) and
// the core's, and the core configuration a public Config implies.
#pragma once

#include "core/config.hpp"
#include "raft/raft.hpp"
#include "util/types.hpp"

namespace raft::runtime {

core::Config core_config(const Config& c);
Configuration internal_configuration(const ClusterConfiguration& c);
ClusterConfiguration public_configuration(const Configuration& c);

}  // namespace raft::runtime
