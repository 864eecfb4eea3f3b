// Helpers for the transport tests: sample messages of every type with edge
// values, a log capture, waiting on a condition with a deadline (never a
// sleep), and raw sockets that play a hostile or spying peer.
#pragma once

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/codec.hpp"
#include "transport/frame_reader.hpp"
#include "transport/tcp_stream.hpp"
#include "util/log.hpp"

namespace raft::transport::testing {

inline constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

inline Entry make_entry(uint64_t index, uint64_t term, EntryType type, std::string data) {
  Entry e;
  e.index = Index(index);
  e.term = Term(term);
  e.type = type;
  e.data = Buffer::from_string(std::move(data));
  return e;
}

inline Configuration sample_configuration() {
  Configuration c;
  c.servers = {{NodeId(1), "10.0.0.1:7000", ServerRole::kVoter},
               {NodeId(2), "10.0.0.2:7000", ServerRole::kVoter},
               {NodeId(3), "[::1]:7000", ServerRole::kNonVoter}};
  c.old_voters = {NodeId(1), NodeId(4)};
  return c;
}

inline core::Message message(uint64_t from, uint64_t to, uint64_t term, core::MessageBody body) {
  core::Message m;
  m.from = NodeId(from);
  m.to = NodeId(to);
  m.term = Term(term);
  m.body = std::move(body);
  return m;
}

// Every message type, with zeros, maximum values and every flag pattern.
inline std::vector<core::Message> sample_messages(uint64_t from = 1, uint64_t to = 2) {
  std::vector<core::Message> out;
  for (int flags = 0; flags < 4; ++flags) {
    core::RequestVote rv;
    rv.pre_vote = flags & 1;
    rv.transfer = flags & 2;
    rv.last_log_index = Index(flags == 3 ? kMax64 : 17);
    rv.last_log_term = Term(flags == 3 ? kMax64 : 3);
    out.push_back(message(from, to, flags == 3 ? kMax64 : 4, rv));
    core::RequestVoteResponse rvr;
    rvr.pre_vote = flags & 1;
    rvr.granted = flags & 2;
    out.push_back(message(from, to, 5, rvr));
  }
  out.push_back(message(from, to, 0, core::RequestVote{}));

  core::AppendEntries empty;
  out.push_back(message(from, to, 1, empty));

  core::AppendEntries ae;
  ae.prev_log_index = Index(9);
  ae.prev_log_term = Term(2);
  ae.leader_commit = Index(8);
  ae.entries.push_back(make_entry(10, 2, EntryType::kCommand, "hello"));
  ae.entries.push_back(make_entry(11, 3, EntryType::kNoop, ""));
  ae.entries.push_back(make_entry(12, 3, EntryType::kCommand, std::string(1000, 'x')));
  Entry cfg;
  cfg.index = Index(13);
  cfg.term = Term(3);
  cfg.type = EntryType::kConfiguration;
  cfg.data = encode_configuration(sample_configuration());
  ae.entries.push_back(cfg);
  ae.entries.push_back(make_entry(14, 3, EntryType::kBarrier, ""));
  ae.entries.push_back(make_entry(15, 3, EntryType::kCommand, std::string("\0\xff\x80", 3)));
  out.push_back(message(from, to, 3, ae));

  core::AppendEntries high;  // indexes and terms at the top of their range
  high.prev_log_index = Index(kMax64 - 2);
  high.prev_log_term = Term(kMax64 - 1);
  high.leader_commit = Index(kMax64);
  high.entries.push_back(make_entry(kMax64 - 1, kMax64 - 1, EntryType::kCommand, "a"));
  high.entries.push_back(make_entry(kMax64, kMax64, EntryType::kCommand, "b"));
  out.push_back(message(from, to, kMax64, high));

  core::AppendEntriesResponse ok;
  ok.success = true;
  ok.match_index = Index(kMax64);
  ok.last_log_index = Index(kMax64);
  out.push_back(message(from, to, 7, ok));
  core::AppendEntriesResponse rej;
  rej.rejected_index = Index(100);
  rej.conflict_term = Term(6);
  rej.conflict_index = Index(90);
  rej.last_log_index = Index(95);
  out.push_back(message(from, to, 7, rej));

  core::Heartbeat hb;
  hb.commit = Index(300);
  hb.read_round = 5;
  out.push_back(message(from, to, 7, hb));
  core::Heartbeat hb_max;
  hb_max.commit = Index(kMax64);
  hb_max.read_round = kMax64;
  out.push_back(message(from, to, kMax64, hb_max));

  core::HeartbeatResponse hr;
  hr.read_round = kMax64;
  hr.last_log_index = Index(0);
  out.push_back(message(from, to, 7, hr));

  out.push_back(message(from, to, 9, core::TimeoutNow{}));
  out.push_back(message(from, to, kMax64, core::TimeoutNow{}));

  core::InstallSnapshot first;
  first.last_index = Index(100);
  first.last_term = Term(3);
  first.configuration = sample_configuration();
  first.configuration_index = Index(90);
  first.size_bytes = 10000;
  first.crc32c = 0xdeadbeef;
  first.offset = 0;
  first.data = Buffer::from_string(std::string(4096, 's'));
  out.push_back(message(from, to, 3, first));
  core::InstallSnapshot last = first;
  last.offset = 8192;
  last.data = Buffer::from_string(std::string(1808, 't'));
  last.last = true;
  out.push_back(message(from, to, 3, last));
  core::InstallSnapshot nothing = first;  // a snapshot of nothing: one empty chunk
  nothing.size_bytes = 0;
  nothing.data = Buffer();
  nothing.last = true;
  out.push_back(message(from, to, 3, nothing));
  core::InstallSnapshot top = first;
  top.last_index = Index(kMax64);
  top.last_term = Term(kMax64);
  top.configuration_index = Index(kMax64);
  top.size_bytes = kMax64;
  top.crc32c = 0xffffffff;
  top.offset = kMax64 - 1;
  top.data = Buffer::from_string("z");
  top.last = true;
  out.push_back(message(from, to, kMax64, top));

  out.push_back(message(from, to, 3, core::InstallSnapshotResponse{Index(100), 4096, false}));
  out.push_back(message(from, to, kMax64, core::InstallSnapshotResponse{Index(kMax64), kMax64, true}));
  return out;
}

// The bytes of an encoded frame, flattened.
inline std::string flatten(const EncodedFrame& f) {
  std::string s(f.head.view());
  for (const Buffer& p : f.payloads) s += p.view();
  return s;
}

inline std::string encode_to_string(const core::Message& m, uint8_t version = 1) {
  auto f = encode_message(m, version, kFrameBytesMaxDefault);
  EXPECT_TRUE(f.ok()) << f.status().to_string();
  return f.ok() ? flatten(*f) : std::string();
}

// Collects log lines from a Logger sink (thread safe).
class LogCapture {
 public:
  LogCapture() : lines_(std::make_shared<Lines>()) {}

  Logger logger(const std::string& prefix = "") const {
    auto lines = lines_;
    return Logger(
        [lines](LogLevel level, std::string_view msg) {
          std::lock_guard lock(lines->mu);
          lines->v.push_back(std::string(log_level_name(level)) + ": " + std::string(msg));
        },
        LogLevel::kDebug, prefix);
  }
  bool contains(std::string_view needle) const {
    std::lock_guard lock(lines_->mu);
    for (const auto& l : lines_->v)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string dump() const {
    std::lock_guard lock(lines_->mu);
    std::string out;
    for (const auto& l : lines_->v) out += l + "\n";
    return out;
  }

 private:
  struct Lines {
    std::mutex mu;
    std::vector<std::string> v;
  };
  std::shared_ptr<Lines> lines_;
};

// Runs `io` until `pred` holds or `timeout` passes; returns whether it
// holds. Handlers run on the calling thread.
inline bool run_until(asio::io_context& io, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline uint64_t stat(const std::map<std::string, std::string>& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? 0 : std::stoull(it->second);
}

// A raw TCP connection the test drives by hand (a hostile or spying peer),
// on the same io_context as the transports, one operation at a time.
class RawSocket {
 public:
  explicit RawSocket(asio::io_context& io) : io_(io), socket_(io) {}
  RawSocket(asio::io_context& io, asio::ip::tcp::socket s) : io_(io), socket_(std::move(s)) {}

  void connect(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    ASSERT_TRUE(detail::parse_host_port(address, &host, &port).ok());
    bool done = false;
    std::error_code err;
    socket_.async_connect({asio::ip::make_address(host), port}, [&](const std::error_code& ec) {
      err = ec;
      done = true;
    });
    ASSERT_TRUE(run_until(io_, [&] { return done; }));
    ASSERT_FALSE(err) << err.message();
    socket_.set_option(asio::ip::tcp::no_delay(true));
  }

  // Writes all of `bytes`; returns false if the write failed (the peer
  // may already have closed).
  bool write(const std::string& bytes) {
    auto data = std::make_shared<std::string>(bytes);
    bool done = false;
    std::error_code err;
    asio::async_write(socket_, asio::buffer(*data), [&, data](const std::error_code& ec, size_t) {
      err = ec;
      done = true;
    });
    EXPECT_TRUE(run_until(io_, [&] { return done; }));
    return !err;
  }

  // Reads one whole frame (up to `length_max`), or nullopt at the end of
  // the stream.
  std::optional<Frame> read_frame(size_t length_max = kFrameBytesMaxDefault) {
    reader_.set_length_max(length_max);
    for (;;) {
      auto f = reader_.next();
      EXPECT_TRUE(f.ok()) << f.status().to_string();
      if (!f.ok()) return std::nullopt;
      if (f->has_value()) return std::move(**f);
      std::error_code err;
      size_t n = read_some(reader_.prepare(), &err);
      if (err) return std::nullopt;
      reader_.commit(n);
    }
  }

  // Reads and discards until the peer closes; false if it does not close
  // within the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<uint8_t> sink(1 << 16);
    for (;;) {
      std::error_code err;
      size_t n = read_some(sink, &err, deadline);
      if (err) return err != asio::error::timed_out;
      (void)n;
    }
  }

  // Hello then HelloReply; returns the reply (nullopt if the stream ended).
  std::optional<HelloReply> handshake(const Hello& h) {
    Buffer hello = encode_hello(h);
    if (!write(std::string(hello.view()))) return std::nullopt;
    auto f = read_frame(kHelloReplyLengthMax);
    if (!f) return std::nullopt;
    auto r = decode_hello_reply(f->header, f->body.span());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return std::nullopt;
    return *r;
  }

  asio::ip::tcp::socket& socket() { return socket_; }

 private:
  size_t read_some(std::span<uint8_t> into, std::error_code* err,
                   std::chrono::steady_clock::time_point deadline =
                       std::chrono::steady_clock::now() + std::chrono::seconds(20)) {
    bool done = false;
    size_t got = 0;
    socket_.async_read_some(asio::buffer(into.data(), into.size()),
                            [&](const std::error_code& ec, size_t n) {
                              *err = ec;
                              got = n;
                              done = true;
                            });
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!run_until(io_, [&] { return done; }, std::max(left, std::chrono::milliseconds(1)))) {
      socket_.cancel();
      run_until(io_, [&] { return done; });
      *err = asio::error::timed_out;
      return 0;
    }
    return got;
  }

  asio::io_context& io_;
  asio::ip::tcp::socket socket_;
  FrameReader reader_{kFrameBytesMaxDefault};
};

// A raw listener: the test accepts connections by hand (a spying peer).
class RawListener {
 public:
  explicit RawListener(asio::io_context& io)
      : io_(io), acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {}

  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

  std::unique_ptr<RawSocket> accept() {
    bool done = false;
    std::error_code err;
    asio::ip::tcp::socket s(io_);
    acceptor_.async_accept(s, [&](const std::error_code& ec) {
      err = ec;
      done = true;
    });
    bool accepted = run_until(io_, [&] { return done; });
    EXPECT_TRUE(accepted) << "no connection to accept";
    if (!accepted) {
      acceptor_.cancel();
      run_until(io_, [&] { return done; });
      return nullptr;
    }
    if (err) return nullptr;
    return std::make_unique<RawSocket>(io_, std::move(s));
  }

 private:
  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace raft::transport::testing
