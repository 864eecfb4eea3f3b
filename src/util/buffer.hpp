// Buffer lives in the public headers (include/raft/buffer.hpp).
#pragma once

#include "raft/buffer.hpp"
