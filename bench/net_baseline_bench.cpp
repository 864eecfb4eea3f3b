// The network's physical limit on this machine: loopback TCP through
// plain blocking POSIX sockets (no Asio, no libraft), so what it measures
// is the kernel's TCP stack and the scheduler. The transport's and the
// end-to-end figures (node_bench) belong beside these.
//
// BM_TcpPingPong: a client thread sends 128 B, an echo thread (the other
//   end of a 127.0.0.1 connection, TCP_NODELAY on both sides) reads them
//   and sends 128 B back. Time per iteration = one round trip;
//   items_per_second = round trips per second. Both threads block in
//   read(2), so every round trip includes two wake-ups: on a machine
//   with two cores that other work shares, the scheduler is most of it.
// BM_TcpStream/<bytes>: one-way stream: the benchmark thread write(2)s
//   <bytes> at a time (TCP_NODELAY, as the transport sets it), a reader
//   thread reads into a 256 KiB buffer and discards. bytes_per_second is
//   what the sender pushed through; items_per_second counts writes.
//   128 B writes show the per-syscall cost; 64 KiB writes the copy
//   bandwidth of loopback.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr size_t kMessageBytes = 128;

// Writes all n bytes; false on an error or a closed peer.
bool write_all(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);  // a closed peer is an error, not SIGPIPE
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads exactly n bytes; false on an error or end of stream.
bool read_all(int fd, void* data, size_t n) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A connected pair of loopback TCP sockets (client end, server end), or
// {-1, -1} with *error set.
std::pair<int, int> connected_pair(std::string* error) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, 1) != 0 || ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("listen on 127.0.0.1: ") + std::strerror(errno);
    if (lfd >= 0) ::close(lfd);
    return {-1, -1};
  }
  int cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cfd < 0 || ::connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    if (cfd >= 0) ::close(cfd);
    ::close(lfd);
    return {-1, -1};
  }
  int sfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(lfd);
  if (sfd < 0) {
    *error = std::string("accept: ") + std::strerror(errno);
    ::close(cfd);
    return {-1, -1};
  }
  set_nodelay(cfd);
  set_nodelay(sfd);
  return {cfd, sfd};
}

void BM_TcpPingPong(benchmark::State& state) {
  std::string error;
  auto [client, server] = connected_pair(&error);
  if (client < 0) {
    state.SkipWithError(error.c_str());
    return;
  }
  // Echoes until the client closes its end.
  std::thread echo([fd = server] {
    char buf[kMessageBytes];
    while (read_all(fd, buf, sizeof buf) && write_all(fd, buf, sizeof buf)) {
    }
  });
  std::vector<char> out(kMessageBytes, 'p'), in(kMessageBytes);
  bool failed = false;
  for (auto _ : state) {
    if (!write_all(client, out.data(), out.size()) || !read_all(client, in.data(), in.size())) {
      failed = true;
      break;
    }
  }
  ::shutdown(client, SHUT_RDWR);
  echo.join();
  ::close(client);
  ::close(server);
  if (failed) state.SkipWithError("the round trip failed");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_TcpStream(benchmark::State& state) {
  size_t chunk = static_cast<size_t>(state.range(0));
  std::string error;
  auto [writer, reader] = connected_pair(&error);
  if (writer < 0) {
    state.SkipWithError(error.c_str());
    return;
  }
  // Drains until end of stream.
  std::thread drain([fd = reader] {
    std::vector<char> buf(256 << 10);
    for (;;) {
      ssize_t r = ::read(fd, buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return;
    }
  });
  std::vector<char> out(chunk, 's');
  bool failed = false;
  for (auto _ : state) {
    if (!write_all(writer, out.data(), out.size())) {
      failed = true;
      break;
    }
  }
  // Bytes still in the socket buffers when the loop ends (a few MiB at
  // most) are not timed; each run writes far more than that.
  ::shutdown(writer, SHUT_WR);
  drain.join();
  ::close(writer);
  ::close(reader);
  if (failed) state.SkipWithError("write failed");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk));
}

BENCHMARK(BM_TcpPingPong)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TcpStream)->Arg(128)->Arg(64 << 10)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
