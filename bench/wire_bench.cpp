// Wire codec and frame cutting (src/transport, docs/wire-format.md), one
// thread, no sockets.
//
// BM_EncodeAppendEntries/<entries>: encode_message() of an AppendEntries
//   carrying <entries> entries of 128 B. The payloads are not copied (the
//   frame references them), so bytes_per_second counts the frame bytes a
//   gathered write would send, not bytes touched.
// BM_DecodeAppendEntries/<entries>: decode_message_frame() of that frame
//   from one contiguous Buffer (payloads come out as slices).
// BM_EncodeHeartbeat, BM_DecodeHeartbeat, BM_EncodeAck, BM_DecodeAck: the
//   small messages (a heartbeat; an AppendEntriesResponse, which a leader
//   decodes once per follower per batch).
// For all of them items_per_second counts messages; the AppendEntries
//   ones add entries_per_second.
// BM_FrameReader/<entries>: a stream of about 1 MiB of back-to-back
//   frames (entries 0: heartbeats; else AppendEntries of that many
//   entries) fed through FrameReader as a connection does: copy into
//   prepare() (standing in for recv(2)), commit(), next() until it wants
//   more. One iteration is one pass over the stream.
// BM_ReceivePath/<entries>: the same plus decode_message() of every frame:
//   the whole receive side above the socket.
//
// The physical limit beside them: BM_Memcpy/<bytes> copies blocks of the
// frame sizes above (and 1 MiB): memory bandwidth for this machine. An
// encoder cannot beat writing its header bytes; a frame reader that copies
// each body out of its staging buffer (it does: FrameReader::next) does at
// least two such copies per byte (recv into the stage, stage into the
// frame's Buffer).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "transport/codec.hpp"
#include "transport/frame_reader.hpp"

namespace {

using raft::Buffer;
using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::NodeId;
using raft::Term;
using raft::core::AppendEntries;
using raft::core::AppendEntriesResponse;
using raft::core::Heartbeat;
using raft::core::Message;
using raft::transport::decode_message;
using raft::transport::decode_message_frame;
using raft::transport::encode_message;
using raft::transport::EncodedFrame;
using raft::transport::FrameReader;
using raft::transport::kFrameBytesMaxDefault;

constexpr uint8_t kVersion = 1;
constexpr size_t kEntryBytes = 128;
constexpr size_t kStreamBytes = size_t{1} << 20;

Buffer payload(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + seed);
  return Buffer::copy_of(s);
}

// An AppendEntries as a leader in term 7 sends it in steady state: large
// indexes, so the varints are of realistic width.
Message append_entries(size_t count) {
  AppendEntries ae;
  ae.prev_log_index = Index(1'000'000);
  ae.prev_log_term = Term(7);
  ae.leader_commit = Index(999'000);
  for (size_t i = 0; i < count; ++i)
    ae.entries.push_back(Entry{ae.prev_log_index + 1 + i, Term(7), EntryType::kCommand, payload(kEntryBytes, i)});
  return Message{NodeId(1), NodeId(2), Term(7), std::move(ae)};
}

Message heartbeat() { return Message{NodeId(1), NodeId(2), Term(7), Heartbeat{Index(999'000), 42}}; }

Message ack() {
  AppendEntriesResponse r;
  r.success = true;
  r.match_index = Index(1'000'016);
  r.last_log_index = Index(1'000'016);
  return Message{NodeId(2), NodeId(1), Term(7), r};
}

// A message for BM_FrameReader's argument: 0 is a heartbeat.
Message sample(int64_t entries) {
  return entries == 0 ? heartbeat() : append_entries(static_cast<size_t>(entries));
}

// The frame's bytes in one piece, as they arrive.
Buffer contiguous(const EncodedFrame& f) {
  std::string s(f.head.view());
  for (const Buffer& p : f.payloads) s.append(p.view());
  return Buffer::from_string(std::move(s));
}

bool encode_loop(benchmark::State& state, const Message& m, size_t entries) {
  size_t bytes = 0;
  for (auto _ : state) {
    auto f = encode_message(m, kVersion, kFrameBytesMaxDefault);
    if (!f.ok()) {
      state.SkipWithError(f.status().to_string().c_str());
      return false;
    }
    bytes = f->bytes;
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  if (entries)
    state.counters["entries_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations() * entries), benchmark::Counter::kIsRate);
  state.counters["frame_bytes"] = static_cast<double>(bytes);
  return true;
}

void decode_loop(benchmark::State& state, const Message& m, size_t entries) {
  auto f = encode_message(m, kVersion, kFrameBytesMaxDefault);
  if (!f.ok()) {
    state.SkipWithError(f.status().to_string().c_str());
    return;
  }
  Buffer frame = contiguous(*f);
  for (auto _ : state) {
    auto out = decode_message_frame(frame, kVersion, kFrameBytesMaxDefault);
    if (!out.ok()) {
      state.SkipWithError(out.status().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
  if (entries)
    state.counters["entries_per_second"] =
        benchmark::Counter(static_cast<double>(state.iterations() * entries), benchmark::Counter::kIsRate);
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void BM_EncodeAppendEntries(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  encode_loop(state, append_entries(n), n);
}
void BM_DecodeAppendEntries(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  decode_loop(state, append_entries(n), n);
}
void BM_EncodeHeartbeat(benchmark::State& state) { encode_loop(state, heartbeat(), 0); }
void BM_DecodeHeartbeat(benchmark::State& state) { decode_loop(state, heartbeat(), 0); }
void BM_EncodeAck(benchmark::State& state) { encode_loop(state, ack(), 0); }
void BM_DecodeAck(benchmark::State& state) { decode_loop(state, ack(), 0); }

// About kStreamBytes of back-to-back copies of one frame; *frames gets
// their number.
std::string frame_stream(const Message& m, size_t* frames) {
  auto f = encode_message(m, kVersion, kFrameBytesMaxDefault);
  std::string one(contiguous(*f).view());
  std::string s;
  *frames = 0;
  while (s.size() + one.size() <= kStreamBytes || *frames == 0) {
    s += one;
    ++*frames;
  }
  return s;
}

// Feeds `stream` through `reader` in prepare()-sized pieces and hands
// every frame to `on_frame`. Returns the number of frames, or -1 on an
// error.
template <class OnFrame>
int64_t feed(FrameReader& reader, const std::string& stream, OnFrame&& on_frame) {
  int64_t frames = 0;
  size_t at = 0;
  while (at < stream.size()) {
    std::span<uint8_t> room = reader.prepare();
    size_t n = std::min(room.size(), stream.size() - at);
    std::memcpy(room.data(), stream.data() + at, n);
    reader.commit(n);
    at += n;
    for (;;) {
      auto next = reader.next();
      if (!next.ok()) return -1;
      if (!next->has_value()) break;
      if (!on_frame(**next)) return -1;
      ++frames;
    }
  }
  return frames;
}

void reader_loop(benchmark::State& state, bool decode) {
  size_t expected = 0;
  std::string stream = frame_stream(sample(state.range(0)), &expected);
  FrameReader reader(kFrameBytesMaxDefault);
  int64_t frames = 0;
  for (auto _ : state) {
    int64_t n = feed(reader, stream, [&](raft::transport::Frame& f) {
      if (!decode) {
        benchmark::DoNotOptimize(f.body.data());
        return true;
      }
      auto m = decode_message(f.header, f.body, kVersion);
      benchmark::DoNotOptimize(m);
      return m.ok();
    });
    if (n != static_cast<int64_t>(expected)) {
      state.SkipWithError("the reader did not return every frame, or one did not decode");
      return;
    }
    frames += n;
  }
  state.SetItemsProcessed(frames);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.counters["frame_bytes"] = static_cast<double>(stream.size() / expected);
}

void BM_FrameReader(benchmark::State& state) { reader_loop(state, false); }
void BM_ReceivePath(benchmark::State& state) { reader_loop(state, true); }

void BM_Memcpy(benchmark::State& state) {
  size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(n, 0x5a), dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

BENCHMARK(BM_EncodeAppendEntries)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_DecodeAppendEntries)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_EncodeHeartbeat);
BENCHMARK(BM_DecodeHeartbeat);
BENCHMARK(BM_EncodeAck);
BENCHMARK(BM_DecodeAck);
BENCHMARK(BM_FrameReader)->Arg(0)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_ReceivePath)->Arg(0)->Arg(1)->Arg(16)->Arg(256);
BENCHMARK(BM_Memcpy)->Arg(32)->Arg(160)->Arg(2 << 10)->Arg(34 << 10)->Arg(1 << 20);

}  // namespace

// main(): bench/threaded_main.cpp.
