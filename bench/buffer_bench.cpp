// Buffer (include/raft/buffer.hpp, src/util/buffer.cpp): what a command's
// bytes cost on their way through the library, one thread.
//
// BM_CopyOf/<bytes>: Buffer::copy_of() and its release (two heap blocks:
//   the bytes, and the shared_ptr's control block).
// BM_Allocate/<bytes>: Buffer::allocate() filled by the caller, released.
// BM_FromString/<bytes>: build a std::string from the bytes, then
//   Buffer::from_string() (the string's block plus one make_shared block).
// BM_Copy: copy and destroy a Buffer (an atomic increment and decrement).
// BM_Slice: slice() and destroy (the same, plus the bounds check).
// BM_CommandLifetime/<bytes>: one command's Buffer as the runtime handles
//   it today for a leader of three voters: created with copy_of() (as in
//   the Node::apply example), moved into the submission queue, then copied
//   once at each of these places (as read in the source):
//     node_impl.cpp     drain_submissions: run.push_back(s.data)
//     replication.cpp   propose_batch -> append_local(type, Buffer) by value
//     raft.cpp          take_ready: rd.entries.push_back(log_.at(i))
//     log_view.cpp      slice(): out.push_back(e), once per follower (2)
//     codec.cpp         FieldWriter::payload: payloads_->push_back(b) (2)
//     raft.cpp          emit_committed: rd->committed.push_back(log_.at(i))
//     apply_worker.cpp  apply_one: le.buffer = e.data
//   9 copies, then all 10 handles are released. In the runtime these
//   copies and releases happen on three threads (event loop, disk, apply),
//   so the reference count's cache line also moves between cores, which
//   this single-threaded loop cannot show; BM_CopyContended shows the
//   price of that.
// BM_CopyContended: two threads copying and releasing one Buffer at once
//   (the reference count's cache line bouncing between the cores).
//
// The physical limits beside them:
// BM_MallocMemcpyFree/<bytes>: new[], memcpy, delete[]: the least any
//   owned copy of the bytes costs.
// BM_AtomicIncDec: one uncontended atomic fetch_add and fetch_sub pair on
//   a counter (what a reference count costs at best).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "util/buffer.hpp"

namespace {

using raft::Buffer;

std::vector<uint8_t> bytes_of(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + 7);
  return v;
}

void BM_CopyOf(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  auto src = bytes_of(n);
  for (auto _ : state) {
    Buffer b = Buffer::copy_of(src.data(), n);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Allocate(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  auto src = bytes_of(n);
  for (auto _ : state) {
    uint8_t* p = nullptr;
    Buffer b = Buffer::allocate(n, &p);
    std::memcpy(p, src.data(), n);
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_FromString(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  auto src = bytes_of(n);
  for (auto _ : state) {
    Buffer b = Buffer::from_string(std::string(reinterpret_cast<const char*>(src.data()), n));
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Copy(benchmark::State& state) {
  auto src = bytes_of(128);
  Buffer b = Buffer::copy_of(src.data(), src.size());
  for (auto _ : state) {
    Buffer c = b;
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Slice(benchmark::State& state) {
  auto src = bytes_of(128);
  Buffer b = Buffer::copy_of(src.data(), src.size());
  for (auto _ : state) {
    Buffer s = b.slice(16, 64);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Stands in for the runtime's Submission (node_impl.hpp).
struct Submission {
  Buffer data;
  uint64_t deadline_ns = 0;
};

void BM_CommandLifetime(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  auto src = bytes_of(n);
  constexpr size_t kCopies = 9;
  for (auto _ : state) {
    Submission s;
    s.data = Buffer::copy_of(src.data(), n);
    Submission queued = std::move(s);
    std::array<Buffer, kCopies> held;
    for (Buffer& h : held) {
      h = queued.data;
      benchmark::DoNotOptimize(h);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["copies"] = static_cast<double>(kCopies);
}

Buffer* g_shared = nullptr;

void BM_CopyContended(benchmark::State& state) {
  if (state.thread_index() == 0) {
    auto src = bytes_of(128);
    g_shared = new Buffer(Buffer::copy_of(src.data(), src.size()));
  }
  // Google Benchmark starts every thread's loop together, after the
  // setup above has run on thread 0.
  for (auto _ : state) {
    Buffer c = *g_shared;
    benchmark::DoNotOptimize(c);
  }
  if (state.thread_index() == 0) {
    delete g_shared;
    g_shared = nullptr;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_MallocMemcpyFree(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  auto src = bytes_of(n);
  for (auto _ : state) {
    auto* p = new uint8_t[n];
    std::memcpy(p, src.data(), n);
    benchmark::DoNotOptimize(p);
    delete[] p;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_AtomicIncDec(benchmark::State& state) {
  std::atomic<long> count{1};
  for (auto _ : state) {
    count.fetch_add(1, std::memory_order_relaxed);
    benchmark::DoNotOptimize(count.fetch_sub(1, std::memory_order_acq_rel));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK(BM_CopyOf)->Arg(128)->Arg(4096);
BENCHMARK(BM_Allocate)->Arg(128)->Arg(4096);
BENCHMARK(BM_FromString)->Arg(128)->Arg(4096);
BENCHMARK(BM_Copy);
BENCHMARK(BM_Slice);
BENCHMARK(BM_CommandLifetime)->Arg(128);
BENCHMARK(BM_CopyContended)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_MallocMemcpyFree)->Arg(128)->Arg(4096);
BENCHMARK(BM_AtomicIncDec);

}  // namespace

// main(): bench/threaded_main.cpp.
