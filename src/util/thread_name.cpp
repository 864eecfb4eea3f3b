#include "util/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstring>

namespace raft::util {

void set_thread_name(std::string_view name) {
  char buf[16];
  size_t n = std::min(name.size(), sizeof(buf) - 1);
  std::memcpy(buf, name.data(), n);
  buf[n] = '\0';
#if defined(__linux__)
  pthread_setname_np(pthread_self(), buf);
#elif defined(__APPLE__)
  pthread_setname_np(buf);
#endif
}

}  // namespace raft::util
