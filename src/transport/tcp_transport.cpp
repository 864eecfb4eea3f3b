// TcpTransport: docs/wire-format.md, "Connections" and "Handshake", on
// Asio.
//
// Objects and ownership (everything runs on the loop thread):
//
//   TcpTransport --shared--> TcpCore: options, handler, stats, listener,
//     |                        peers (address + one Outbox per Channel),
//     |                        inbound connections
//   Outbox: the outbound side of (peer, Channel): queue, state, backoff;
//            owns the current OutboundConn (one connection attempt)
//   OutboundConn, InboundConn: one socket (through Stream), its reader,
//            the buffers of its write in progress
//
// Lifetime rule: every completion handler holds a shared_ptr to the object
// whose socket, timer or buffers its operation uses, so those outlive the
// operation. Objects point to their parent with a raw pointer that they
// use only while they are not closed; a parent closes its children before
// it goes away (TcpCore::stop, Outbox::close), and a closed object's
// handlers return at once. TcpCore::deliver holds a reference to the core
// across the user's handler, which may stop or even destroy the transport.
#include "transport/tcp_transport.hpp"

#include <algorithm>
#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transport/frame_reader.hpp"
#include "transport/tcp_stream.hpp"
#include "transport/tls.hpp"
#include "util/assert.hpp"

namespace raft::transport {

namespace detail {

namespace {

using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

// What one gathered write takes at most (but always one frame), so a long
// queue is written in steps, counted as it goes, and the list of buffers
// stays small: frames, and buffers (a frame is its head plus payloads).
constexpr size_t kBatchFramesMax = 1024;
constexpr size_t kBatchBuffersMax = 4096;
// Pieces of a batch smaller than this are copied together (OutboundConn::write).
constexpr size_t kCopyBelowBytes = 1024;

std::string node_string(NodeId id) { return "node " + std::to_string(id.value); }

}  // namespace

struct PeerStats {
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_no_address = 0;
  uint64_t dropped_not_connected = 0;
  uint64_t dropped_too_large = 0;
  uint64_t dropped_unsupported = 0;
  uint64_t connects = 0;
  uint64_t reconnects = 0;
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;
  uint64_t decode_errors = 0;
  uint64_t tls_failures = 0;  // our TLS handshake with it failed, or its identity
  std::map<std::string, uint64_t> refused;  // by reason name
};

struct InboundStats {
  uint64_t accepted = 0;
  uint64_t refused_limit = 0;
  uint64_t refused_address_limit = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t handshake_timeouts = 0;
  uint64_t bad_handshakes = 0;
  uint64_t decode_errors = 0;
  uint64_t truncated_frames = 0;
  uint64_t spoofed_sender = 0;
  uint64_t replaced = 0;
};

class Outbox;
class InboundConn;

class TcpCore : public std::enable_shared_from_this<TcpCore> {
 public:
  TcpCore(asio::io_context& io, TcpTransportOptions options);
  ~TcpCore();

  Status start(MessageHandler handler);
  void set_peer(NodeId id, const std::string& address);
  // Sets an address only if none is known.
  void learn_peer(NodeId id, const std::string& address);
  void send(core::Message m);
  void stop();
  Status reload_tls();
  const std::string& local_address() const { return local_address_; }
  std::map<std::string, std::string> stats() const;

  // For the connection classes.
  asio::io_context& io() { return io_; }
  const TcpTransportOptions& options() const { return opt_; }
  // The TLS context new connections use; null when TLS is off.
  const std::shared_ptr<asio::ssl::context>& tls_context() const { return tls_ctx_; }
  const Logger& log() const { return log_; }
  PeerStats& peer_stats(NodeId id) { return peer_stats_[id]; }
  InboundStats& inbound_stats() { return inbound_stats_; }
  void count_refusal_sent(uint8_t result) { ++handshake_refused_[handshake_result_name(result)]; }
  uint32_t backoff_ms(uint32_t failures);
  void deliver(core::Message&& m);
  void inbound_established(InboundConn* c, NodeId from, Channel kind);
  void inbound_closed(InboundConn* c);

 private:
  struct Peer {
    std::string address;
    std::array<std::shared_ptr<Outbox>, 2> outboxes;  // indexed by Channel
  };

  void accept_next();
  void accepted(tcp::socket socket);
  Status validate() const;

  asio::io_context& io_;
  const TcpTransportOptions opt_;
  Logger log_;
  MessageHandler handler_;
  bool started_ = false;
  bool stopped_ = false;
  int in_handler_ = 0;  // depth of handler_ calls in progress
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::string local_address_;
  std::mt19937_64 rng_;
  std::unordered_map<NodeId, Peer> peers_;
  // Every open inbound connection, handshaking or not.
  std::unordered_map<InboundConn*, std::shared_ptr<InboundConn>> inbound_;
  // The established inbound connection of each (sender, kind).
  std::map<std::pair<NodeId, Channel>, InboundConn*> inbound_by_peer_;
  bool limit_logged_ = false;  // a refusal for the inbound limit was logged
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  uint64_t tls_reloads_ = 0;
  uint64_t tls_reload_failures_ = 0;
  std::map<NodeId, PeerStats> peer_stats_;
  InboundStats inbound_stats_;
  std::map<std::string, uint64_t> handshake_refused_;
  uint64_t dropped_not_started_ = 0;
};

// ---------------------------------------------------------------------------
// OutboundConn: one attempt to reach a peer for one channel, and then the
// connection it made. Resolve (unless numeric), connect, Hello, wait for
// the HelloReply, then write batches handed over by the Outbox and watch
// for the end of the stream.

class OutboundConn : public std::enable_shared_from_this<OutboundConn> {
 public:
  OutboundConn(TcpCore* core, Outbox* ch, NodeId peer, Channel kind,
               std::string address)
      : core_(core),
        ch_(ch),
        peer_(peer),
        kind_(kind),
        address_(std::move(address)),
        stream_(core->io(), core->tls_context()),
        resolver_(core->io()),
        deadline_(core->io()),
        reader_(kHelloReplyLengthMax) {}

  void start();
  // Precondition: handshaken and not writing. Writes the frames with one
  // gathered write; the frames (and so their payload Buffers) stay here
  // until it completes.
  void write(std::vector<EncodedFrame>&& batch, size_t bytes);
  bool writing() const { return writing_; }
  // Idempotent. Pending handlers see closed_ and return.
  void close();

 private:
  void connected(const std::error_code& ec);
  void tls_handshaken(const std::error_code& ec);
  void send_hello();
  void read_next();
  void on_read(size_t n);
  void fail(const Status& why, const HelloReply* refusal = nullptr, bool tls_failure = false);

  TcpCore* core_;       // valid while !closed_
  Outbox* ch_;   // valid while !closed_
  const NodeId peer_;
  const Channel kind_;
  const std::string address_;
  Stream stream_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;  // connect + handshake
  FrameReader reader_;
  Buffer hello_;
  bool handshaken_ = false;
  bool closed_ = false;
  bool writing_ = false;
  std::vector<EncodedFrame> batch_;
  size_t batch_bytes_ = 0;
  std::vector<asio::const_buffer> gather_;
  std::vector<uint8_t> staging_;  // the small pieces of the write in progress
};

// ---------------------------------------------------------------------------
// Outbox: everything this node sends to one peer on one kind of
// connection (Channel).
//
//   kIdle --send--> kConnecting --accepted--> kConnected --broken--> kIdle
//                        |
//                        +--failed/refused--> kBackoff --timer--> kIdle
//
// Messages queue in kIdle (which starts a connection), kConnecting and
// kConnected; they are dropped in kBackoff. Any failure drops the queue.

class Outbox : public std::enable_shared_from_this<Outbox> {
 public:
  Outbox(TcpCore* core, NodeId peer, Channel kind, std::string address)
      : core_(core), peer_(peer), kind_(kind), address_(std::move(address)), timer_(core->io()) {}
  ~Outbox() { close(); }

  void send(core::Message&& m);
  // Drops what is queued (counted) and closes the connection. Idempotent;
  // only the first call may touch core_.
  void close();

  size_t pending_messages() const { return pending_messages_; }
  size_t pending_bytes() const { return pending_bytes_; }

  // From the current OutboundConn.
  void conn_ready(OutboundConn* c, uint8_t version);
  void conn_failed(OutboundConn* c, const Status& why, const HelloReply* refusal, bool tls_failure);
  void write_done(OutboundConn* c, size_t messages, size_t bytes);

 private:
  enum class State { kIdle, kConnecting, kConnected, kBackoff, kClosed };

  void connect();
  void pump();
  void drop_pending();
  std::string what() const {
    return node_string(peer_) + " at " + address_ + " (" + channel_name(kind_) + ")";
  }

  TcpCore* core_;  // valid while state_ != kClosed
  const NodeId peer_;
  const Channel kind_;
  const std::string address_;
  State state_ = State::kIdle;
  std::shared_ptr<OutboundConn> conn_;  // set in kConnecting and kConnected
  asio::steady_timer timer_;            // backoff
  // Protocol version frames are encoded in: the last one negotiated.
  uint8_t version_ = kProtocolVersionMax;
  std::deque<EncodedFrame> queue_;  // not yet handed to the connection
  // Invariant: counts queue_ plus the batch the connection is writing.
  size_t pending_messages_ = 0;
  size_t pending_bytes_ = 0;
  uint32_t failures_ = 0;  // consecutive failed attempts
  bool ever_connected_ = false;
  std::string last_failure_;  // to log a repeated failure at debug level
};

// ---------------------------------------------------------------------------
// InboundConn: a connection a peer dialed. Reads the Hello (within the
// handshake timeout), answers, then reads message frames and hands them
// to the core. Writes nothing but the HelloReply.

class InboundConn : public std::enable_shared_from_this<InboundConn> {
 public:
  InboundConn(TcpCore* core, tcp::socket socket, asio::ip::address remote_ip)
      : core_(core),
        stream_(std::move(socket), core->tls_context()),
        remote_(stream_.remote()),
        remote_ip_(std::move(remote_ip)),
        deadline_(core->io()),
        reader_(kHelloLengthMax) {}

  void start();
  // Closes without telling the core (the core is the caller). Idempotent.
  void shutdown();
  const asio::ip::address& remote_ip() const { return remote_ip_; }

 private:
  enum class Phase { kHello, kMessages, kDraining };

  void read_next();
  void on_read(size_t n);
  void on_frame(Frame&& f);
  void on_hello(const Frame& f);
  void on_message(Frame&& f);
  // Logs why, closes, and removes this connection from the core.
  void close_and_forget(LogLevel level, const std::string& why);
  std::string who() const {
    if (phase_ == Phase::kMessages) {
      return remote_ + " (" + node_string(from_) + ", " + channel_name(kind_) + ")";
    }
    return remote_;
  }

  TcpCore* core_;  // valid while !closed_
  Stream stream_;
  const std::string remote_;
  const asio::ip::address remote_ip_;  // for the per-address limit
  asio::steady_timer deadline_;  // handshake
  FrameReader reader_;
  Phase phase_ = Phase::kHello;
  bool closed_ = false;
  NodeId from_;
  Channel kind_ = Channel::kControl;
  uint8_t version_ = 0;
  Buffer reply_;
  std::array<uint8_t, 512> drain_{};  // reads after a refusal land here
};

// ---- OutboundConn

void OutboundConn::start() {
  auto self = shared_from_this();
  const auto& opt = core_->options();
  deadline_.expires_after(Millis(opt.handshake_timeout_ms));
  deadline_.async_wait([self, ms = opt.handshake_timeout_ms](const std::error_code& ec) {
    if (ec || self->closed_ || self->handshaken_) return;
    self->fail(Status(ErrorCode::kTimeout,
                      "connect and handshake did not finish within " + std::to_string(ms) +
                          " ms"));
  });
  std::string host;
  uint16_t port = 0;
  Status st = parse_host_port(address_, &host, &port);  // checked by set_peer
  RAFT_ASSERT_MSG(st.ok(), st.message().c_str());
  std::error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (!ec) {
    stream_.lowest_layer().async_connect(
        tcp::endpoint(ip, port), [self](const std::error_code& e) { self->connected(e); });
    return;
  }
  resolver_.async_resolve(
      host, std::to_string(port),
      [self, host](const std::error_code& e, const tcp::resolver::results_type& results) {
        if (self->closed_) return;
        if (e) return self->fail(io_error("cannot resolve " + host + ": " + e.message()));
        asio::async_connect(self->stream_.lowest_layer(), results,
                            [self](const std::error_code& e2, const tcp::endpoint&) {
                              self->connected(e2);
                            });
      });
}

void OutboundConn::connected(const std::error_code& ec) {
  if (closed_) return;
  if (ec) return fail(io_error("connect: " + ec.message()));
  stream_.set_options();
  if (!stream_.tls()) return send_hello();
  auto self = shared_from_this();
  stream_.async_handshake(true, [self](const std::error_code& e) { self->tls_handshaken(e); });
}

void OutboundConn::tls_handshaken(const std::error_code& ec) {
  if (closed_) return;
  if (ec) {
    return fail(io_error("TLS handshake: " + tls_error_string(ec.message())), nullptr, true);
  }
  // docs/security.md (tls_verify_peer_id): the acceptor's certificate must name the
  // node we meant to reach.
  const auto& opt = core_->options();
  if (opt.tls.verify_peer_id &&
      !tls_peer_certificate_names(stream_.ssl(), tls_peer_name(peer_))) {
    return fail(Status(ErrorCode::kAborted, "its certificate does not name \"" +
                                                tls_peer_name(peer_) + "\""),
                nullptr, true);
  }
  send_hello();
}

void OutboundConn::send_hello() {
  const auto& opt = core_->options();
  Hello h;
  h.channel = kind_;
  h.cluster_id = opt.cluster_id;
  h.from = opt.node_id;
  h.to = peer_;
  h.address = opt.advertise_address.empty() ? core_->local_address() : opt.advertise_address;
  hello_ = encode_hello(h);
  auto self = shared_from_this();
  stream_.async_write(asio::buffer(hello_.data(), hello_.size()),
                      [self](const std::error_code& e, size_t) {
                        if (self->closed_ || !e) return;
                        self->fail(io_error("write: " + e.message()));
                      });
  read_next();
}

void OutboundConn::read_next() {
  auto self = shared_from_this();
  stream_.async_read_some(reader_.prepare(), [self](const std::error_code& ec, size_t n) {
    if (self->closed_) return;
    if (ec) {
      return self->fail(io_error(ec == asio::error::eof ? std::string("the peer closed the connection")
                                                        : "read: " + ec.message()));
    }
    self->on_read(n);
  });
}

void OutboundConn::on_read(size_t n) {
  reader_.commit(n);
  // docs/wire-format.md, "Connections": after its HelloReply the acceptor
  // sends nothing; a byte from it is a protocol error.
  if (handshaken_) return fail(corruption("the peer sent bytes after its handshake reply"));
  auto f = reader_.next();
  if (!f.ok()) return fail(f.status().with_context("bad handshake reply"));
  if (!f->has_value()) return read_next();
  auto reply = decode_hello_reply((*f)->header, (*f)->body.span());
  if (!reply.ok()) return fail(reply.status());
  if (!reply->accepted()) return fail(Status(ErrorCode::kAborted, reply->reason), &*reply);
  if (reply->node != peer_) {
    return fail(corruption("answered by " + node_string(reply->node) + " instead"));
  }
  if (reader_.buffered_bytes() > 0) {
    return fail(corruption("the peer sent bytes after its handshake reply"));
  }
  handshaken_ = true;
  deadline_.cancel();
  ch_->conn_ready(this, reply->version);
  if (closed_) return;
  read_next();  // only to notice the end of the stream
}

void OutboundConn::write(std::vector<EncodedFrame>&& batch, size_t bytes) {
  RAFT_ASSERT(handshaken_ && !writing_ && !closed_);
  batch_ = std::move(batch);
  batch_bytes_ = bytes;
  // Small pieces (every frame's head, small payloads) are copied into one
  // staging buffer, large payloads written in place: a writev of hundreds
  // of 128-byte pieces costs the kernel more than the copy. Over TLS every
  // byte is copied anyway (encrypted), so everything goes into the staging
  // buffer and the stream writes that one buffer as it is.
  const size_t copy_below = stream_.tls() ? std::numeric_limits<size_t>::max() : kCopyBelowBytes;
  size_t small = 0;
  for (const EncodedFrame& f : batch_) {
    small += f.head.size();
    for (const Buffer& p : f.payloads) small += p.size() < copy_below ? p.size() : 0;
  }
  staging_.resize(small);  // not resized again until the write completes
  gather_.clear();
  size_t used = 0;
  auto piece = [&](const Buffer& b) {
    if (b.size() >= copy_below) {
      gather_.emplace_back(b.data(), b.size());
      return;
    }
    if (b.size() == 0) return;
    std::memcpy(staging_.data() + used, b.data(), b.size());
    // Extends the previous piece when that one ends where this begins.
    if (!gather_.empty() && static_cast<const uint8_t*>(gather_.back().data()) + gather_.back().size() ==
                                staging_.data() + used) {
      gather_.back() = asio::const_buffer(gather_.back().data(), gather_.back().size() + b.size());
    } else {
      gather_.emplace_back(staging_.data() + used, b.size());
    }
    used += b.size();
  };
  for (const EncodedFrame& f : batch_) {
    piece(f.head);
    for (const Buffer& p : f.payloads) piece(p);
  }
  writing_ = true;
  auto self = shared_from_this();
  stream_.async_write(gather_, [self](const std::error_code& ec, size_t) {
    if (self->closed_) return;
    self->writing_ = false;
    if (ec) return self->fail(io_error("write: " + ec.message()));
    size_t messages = self->batch_.size();
    self->batch_.clear();  // releases the payload Buffers
    self->ch_->write_done(self.get(), messages, self->batch_bytes_);
  });
}

void OutboundConn::fail(const Status& why, const HelloReply* refusal, bool tls_failure) {
  if (closed_) return;
  ch_->conn_failed(this, why, refusal, tls_failure);  // closes this
}

void OutboundConn::close() {
  if (closed_) return;
  closed_ = true;
  deadline_.cancel();
  resolver_.cancel();
  stream_.close();
}

// ---- Outbox

void Outbox::send(core::Message&& m) {
  const auto& opt = core_->options();
  PeerStats& ps = core_->peer_stats(peer_);
  if (state_ == State::kBackoff || state_ == State::kClosed) {
    ++ps.dropped_not_connected;
    return;
  }
  if (pending_messages_ >= opt.queue_messages_max) {
    ++ps.dropped_queue_full;
    return;
  }
  auto f = encode_message(m, version_, opt.frame_bytes_max);
  if (!f.ok()) {
    if (f.status().code() == ErrorCode::kUnsupported) {
      ++ps.dropped_unsupported;
    } else {
      ++ps.dropped_too_large;
    }
    core_->log().error("dropping a message for ", what(), ": ", f.status().message());
    return;
  }
  if (pending_messages_ > 0 && pending_bytes_ + f->bytes > opt.queue_bytes_max) {
    ++ps.dropped_queue_full;
    return;
  }
  ++pending_messages_;
  pending_bytes_ += f->bytes;
  queue_.push_back(std::move(*f));
  if (state_ == State::kIdle) {
    connect();
  } else if (state_ == State::kConnected) {
    pump();
  }
}

void Outbox::connect() {
  state_ = State::kConnecting;
  conn_ = std::make_shared<OutboundConn>(core_, this, peer_, kind_, address_);
  conn_->start();
}

void Outbox::pump() {
  if (state_ != State::kConnected || conn_->writing() || queue_.empty()) return;
  std::vector<EncodedFrame> batch;
  batch.reserve(std::min(queue_.size(), kBatchFramesMax));
  size_t bytes = 0;
  size_t buffers = 0;
  while (!queue_.empty() && batch.size() < kBatchFramesMax) {
    size_t more = 1 + queue_.front().payloads.size();
    if (!batch.empty() && buffers + more > kBatchBuffersMax) break;
    buffers += more;
    bytes += queue_.front().bytes;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  conn_->write(std::move(batch), bytes);
}

void Outbox::drop_pending() {
  core_->peer_stats(peer_).dropped_not_connected += pending_messages_;
  queue_.clear();
  pending_messages_ = 0;
  pending_bytes_ = 0;
}

void Outbox::conn_ready(OutboundConn*, uint8_t version) {
  PeerStats& ps = core_->peer_stats(peer_);
  state_ = State::kConnected;
  ++ps.connects;
  if (ever_connected_) ++ps.reconnects;
  if (failures_ > 0) {
    core_->log().info("connected to ", what(), " after ", failures_, " failed attempts");
  } else {
    core_->log().info("connected to ", what());
  }
  ever_connected_ = true;
  failures_ = 0;
  last_failure_.clear();
  if (version != version_) {
    // What was queued was encoded for another version (docs/wire-format.md,
    // "Versioning"); Raft resends.
    drop_pending();
    version_ = version;
  }
  pump();
}

void Outbox::conn_failed(OutboundConn* c, const Status& why, const HelloReply* refusal,
                         bool tls_failure) {
  RAFT_ASSERT(c == conn_.get());
  bool was_connected = state_ == State::kConnected;
  conn_->close();
  conn_.reset();  // the failing handler still holds the connection
  drop_pending();
  PeerStats& ps = core_->peer_stats(peer_);
  if (was_connected) {
    ++ps.disconnects;
    core_->log().info("lost the connection to ", what(), ": ", why.message());
    state_ = State::kIdle;  // the next send reconnects
    return;
  }
  ++ps.connect_failures;
  ++failures_;
  const auto& opt = core_->options();
  uint32_t delay_ms;
  std::string line;
  if (refusal) {
    const char* reason = handshake_result_name(refusal->result);
    ++ps.refused[reason];
    delay_ms = opt.reconnect_backoff_ms_max;
    line = what() + " refused the connection (" + reason + "): " + printable(refusal->reason);
  } else if (tls_failure) {
    // A certificate problem does not fix itself in milliseconds.
    ++ps.tls_failures;
    delay_ms = opt.reconnect_backoff_ms_max;
    line = "cannot connect to " + what() + " over TLS: " + why.message();
  } else {
    delay_ms = core_->backoff_ms(failures_);
    line = "cannot connect to " + what() + ": " + why.message();
  }
  // One line per new kind of failure; repeats only at debug level.
  LogLevel level = line == last_failure_ ? LogLevel::kDebug : LogLevel::kWarn;
  core_->log().logf(level, line, "; retrying in ", delay_ms, " ms or later");
  last_failure_ = std::move(line);
  state_ = State::kBackoff;
  timer_.expires_after(Millis(delay_ms));
  timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->state_ != State::kBackoff) return;
    self->state_ = State::kIdle;  // the next send tries again
  });
}

void Outbox::write_done(OutboundConn*, size_t messages, size_t bytes) {
  PeerStats& ps = core_->peer_stats(peer_);
  ps.messages_sent += messages;
  ps.bytes_sent += bytes;
  RAFT_ASSERT(pending_messages_ >= messages && pending_bytes_ >= bytes);
  pending_messages_ -= messages;
  pending_bytes_ -= bytes;
  pump();
}

void Outbox::close() {
  if (state_ == State::kClosed) return;
  drop_pending();
  state_ = State::kClosed;
  timer_.cancel();
  if (conn_) {
    conn_->close();
    conn_.reset();
  }
}

// ---- InboundConn

void InboundConn::start() {
  stream_.set_options();
  auto self = shared_from_this();
  uint32_t ms = core_->options().handshake_timeout_ms;
  deadline_.expires_after(Millis(ms));
  deadline_.async_wait([self, ms](const std::error_code& ec) {
    if (ec || self->closed_) return;
    if (self->phase_ == Phase::kHello) {
      ++self->core_->inbound_stats().handshake_timeouts;
      self->close_and_forget(LogLevel::kWarn,
                             "no handshake within " + std::to_string(ms) + " ms");
    } else if (self->phase_ == Phase::kDraining) {
      self->close_and_forget(LogLevel::kDebug, "refused; the peer did not close");
    }
  });
  if (!stream_.tls()) return read_next();
  stream_.async_handshake(false, [self](const std::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      // A plaintext dialer, a certificate from another CA, no certificate.
      ++self->core_->inbound_stats().tls_handshake_failures;
      return self->close_and_forget(LogLevel::kWarn,
                                    "TLS handshake failed: " + tls_error_string(ec.message()));
    }
    self->read_next();
  });
}

void InboundConn::read_next() {
  auto self = shared_from_this();
  std::span<uint8_t> into =
      phase_ == Phase::kDraining ? std::span<uint8_t>(drain_) : reader_.prepare();
  stream_.async_read_some(into, [self](const std::error_code& ec, size_t n) {
    if (self->closed_) return;
    if (ec) {
      bool eof = ec == asio::error::eof;
      switch (self->phase_) {
        case Phase::kHello:
          return self->close_and_forget(
              LogLevel::kInfo, eof ? "closed by the peer before the handshake"
                                   : "read before the handshake: " + ec.message());
        case Phase::kMessages:
          if (size_t part = self->reader_.buffered_bytes(); part > 0) {
            // A truncated frame: the stream ended inside it.
            ++self->core_->inbound_stats().truncated_frames;
            return self->close_and_forget(
                LogLevel::kWarn, (eof ? std::string("closed by the peer") : "read: " + ec.message()) +
                                     " in the middle of a frame (" + std::to_string(part) +
                                     " bytes of it received)");
          }
          return self->close_and_forget(
              LogLevel::kInfo, eof ? "closed by the peer" : "read: " + ec.message());
        case Phase::kDraining:
          return self->close_and_forget(LogLevel::kDebug, "refused connection closed");
      }
    }
    self->on_read(n);
  });
}

void InboundConn::on_read(size_t n) {
  if (phase_ == Phase::kDraining) return read_next();  // discard
  reader_.commit(n);
  for (;;) {
    auto f = reader_.next();
    if (!f.ok()) {
      if (phase_ == Phase::kHello) {
        ++core_->inbound_stats().bad_handshakes;
        return close_and_forget(LogLevel::kWarn,
                                "not a libraft handshake: " + f.status().message());
      }
      ++core_->inbound_stats().decode_errors;
      ++core_->peer_stats(from_).decode_errors;
      return close_and_forget(LogLevel::kWarn, "bad frame: " + f.status().message());
    }
    if (!f->has_value()) break;
    on_frame(std::move(**f));
    if (closed_ || phase_ == Phase::kDraining) break;
  }
  if (!closed_) read_next();
}

void InboundConn::on_frame(Frame&& f) {
  if (phase_ == Phase::kHello) {
    on_hello(f);
  } else {
    on_message(std::move(f));
  }
}

void InboundConn::on_hello(const Frame& f) {
  const auto& opt = core_->options();
  auto h = decode_hello(f.header, f.body.span());
  if (!h.ok()) {
    ++core_->inbound_stats().bad_handshakes;
    return close_and_forget(LogLevel::kWarn, h.status().message());
  }
  HelloReply reply = answer_hello(*h, opt.cluster_id, opt.node_id);
  if (reply.accepted() && stream_.tls() && opt.tls.verify_peer_id &&
      !tls_peer_certificate_names(stream_.ssl(), tls_peer_name(h->from))) {
    // docs/security.md (tls_verify_peer_id): a valid certificate of another node
    // does not let its holder speak as this one.
    reply.result = static_cast<uint8_t>(HandshakeResult::kWrongIdentity);
    reply.version = 0;
    reply.reason = "the certificate presented does not name \"" + tls_peer_name(h->from) + "\"";
  }
  reply_ = encode_hello_reply(reply);
  auto self = shared_from_this();
  if (!reply.accepted()) {
    // Refused: answer, then wait for the dialer to close (or for the
    // handshake deadline), so the reply is read rather than reset away.
    core_->count_refusal_sent(reply.result);
    core_->log().warn("refused connection from ", remote_, " (", node_string(h->from), ", ",
                      channel_name(h->channel), "): ", handshake_result_name(reply.result), ": ",
                      reply.reason);
    phase_ = Phase::kDraining;
    stream_.async_write(asio::buffer(reply_.data(), reply_.size()),
                        [self](const std::error_code& ec, size_t) {
                          if (self->closed_) return;
                          if (ec) return self->close_and_forget(LogLevel::kDebug, ec.message());
                          self->stream_.shutdown_send();
                        });
    return;
  }
  from_ = h->from;
  kind_ = h->channel;
  version_ = reply.version;
  phase_ = Phase::kMessages;
  deadline_.cancel();
  reader_.set_length_max(opt.frame_bytes_max);
  stream_.async_write(asio::buffer(reply_.data(), reply_.size()),
                      [self](const std::error_code& ec, size_t) {
                        if (self->closed_ || !ec) return;
                        self->close_and_forget(LogLevel::kInfo, "write: " + ec.message());
                      });
  core_->log().debug("accepted connection from ", who());
  // A peer this node has no address for (it is joining, and its
  // configuration does not name the leader yet) can be answered at the
  // address it announced. A configured address always wins.
  if (!h->address.empty()) core_->learn_peer(from_, h->address);
  core_->inbound_established(this, from_, kind_);
}

void InboundConn::on_message(Frame&& f) {
  auto m = decode_message(f.header, f.body, version_);
  if (!m.ok()) {
    ++core_->inbound_stats().decode_errors;
    ++core_->peer_stats(from_).decode_errors;
    return close_and_forget(LogLevel::kWarn, "bad frame: " + m.status().message());
  }
  // docs/wire-format.md, "Message frames": the sender named in every
  // message is the one that shook hands, and the receiver is this node.
  if (m->from != from_ || m->to != core_->options().node_id) {
    ++core_->inbound_stats().spoofed_sender;
    return close_and_forget(LogLevel::kWarn,
                            std::string(core::message_type_name(m->body)) + " claims to be from " +
                                node_string(m->from) + " to " + node_string(m->to) +
                                " on a connection from " + node_string(from_) + " to " +
                                node_string(core_->options().node_id));
  }
  PeerStats& ps = core_->peer_stats(from_);
  ++ps.messages_received;
  ps.bytes_received += 4 + uint64_t{f.header.length};
  core_->deliver(std::move(*m));
}

void InboundConn::close_and_forget(LogLevel level, const std::string& why) {
  if (closed_) return;
  core_->log().logf(level, "closing inbound connection from ", who(), ": ", why);
  TcpCore* core = core_;
  shutdown();
  core->inbound_closed(this);  // may drop the core's reference; a handler holds ours
}

void InboundConn::shutdown() {
  if (closed_) return;
  closed_ = true;
  deadline_.cancel();
  stream_.close();
}

// ---- TcpCore

TcpCore::TcpCore(asio::io_context& io, TcpTransportOptions options)
    : io_(io),
      opt_(std::move(options)),
      log_(opt_.logger.with_prefix("transport: ")),
      acceptor_(io),
      accept_retry_(io),
      rng_(opt_.seed != 0 ? opt_.seed : std::random_device{}()) {}

TcpCore::~TcpCore() { stop(); }

Status TcpCore::validate() const {
  if (opt_.node_id == kNoNode) return invalid_argument("tcp transport: node id 0 is reserved");
  if (opt_.cluster_id.size() > kClusterIdBytesMax) {
    return invalid_argument("tcp transport: cluster id longer than " +
                            std::to_string(kClusterIdBytesMax) + " bytes");
  }
  if (opt_.frame_bytes_max < kFrameBytesMaxMin ||
      opt_.frame_bytes_max > std::numeric_limits<uint32_t>::max()) {
    return invalid_argument("tcp transport: frame_bytes_max must be in [" +
                            std::to_string(kFrameBytesMaxMin) + ", 2^32)");
  }
  if (opt_.queue_bytes_max == 0 || opt_.queue_messages_max == 0) {
    return invalid_argument("tcp transport: queue bounds must be positive");
  }
  if (opt_.reconnect_backoff_ms_initial == 0 ||
      opt_.reconnect_backoff_ms_initial > opt_.reconnect_backoff_ms_max) {
    return invalid_argument("tcp transport: need 0 < reconnect_backoff_ms_initial <= max");
  }
  if (opt_.handshake_timeout_ms == 0) {
    return invalid_argument("tcp transport: handshake_timeout_ms must be positive");
  }
  if (opt_.inbound_connections_max == 0 || opt_.inbound_connections_per_address_max == 0) {
    return invalid_argument(
        "tcp transport: inbound_connections_max and inbound_connections_per_address_max must be positive");
  }
  return Status();
}

Status TcpCore::start(MessageHandler handler) {
  if (started_ || stopped_) return invalid_argument("tcp transport: start called twice");
  RAFT_ASSERT(handler);
  RAFT_RETURN_IF_ERROR(validate());
  if (opt_.tls.enabled()) {
    auto ctx = load_tls_context(opt_.tls);
    if (!ctx.ok()) return ctx.status().with_context("tcp transport");
    tls_ctx_ = std::move(*ctx);
  }
  std::string host;
  uint16_t port = 0;
  RAFT_RETURN_IF_ERROR(parse_host_port(opt_.listen_address, &host, &port));
  std::error_code ec;
  tcp::endpoint ep;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (!ec) {
    ep = tcp::endpoint(ip, port);
  } else {
    // A name ("localhost"): resolved once, here, blocking.
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return invalid_argument("tcp transport: cannot resolve " + opt_.listen_address + ": " +
                              ec.message());
    }
    ep = results.begin()->endpoint();
  }
  auto fail = [&](const char* what) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return io_error("tcp transport: cannot listen on " + opt_.listen_address + ": " + what +
                    ": " + ec.message());
  };
  acceptor_.open(ep.protocol(), ec);
  if (ec) return fail("open");
  // Lets a restarted node bind its port while old connections linger in
  // TIME_WAIT.
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  acceptor_.bind(ep, ec);
  if (ec) return fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  if (ec) return fail("getsockname");
  local_address_ = Stream::endpoint_string(bound);
  handler_ = std::move(handler);
  started_ = true;
  log_.info("listening on ", local_address_, " as ", node_string(opt_.node_id), " of cluster \"",
            opt_.cluster_id, "\"", tls_ctx_ ? (opt_.tls.verify_peer_id ? ", TLS with pinned peer ids" : ", TLS")
                                            : ", plaintext (no TLS)");
  accept_next();
  return Status();
}

void TcpCore::accept_next() {
  acceptor_.async_accept([self = shared_from_this()](const std::error_code& ec, tcp::socket s) {
    if (self->stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // E.g. out of file descriptors: try again shortly rather than spin.
      self->log_.warn("accept failed: ", ec.message());
      self->accept_retry_.expires_after(Millis(100));
      self->accept_retry_.async_wait([self](const std::error_code& e) {
        if (!e && !self->stopped_) self->accept_next();
      });
      return;
    }
    self->accepted(std::move(s));
    self->accept_next();
  });
}

void TcpCore::accepted(tcp::socket socket) {
  std::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  size_t from_address = 0;  // at most inbound_connections_max to count
  for (const auto& [ptr, c] : inbound_) from_address += c->remote_ip() == remote.address();
  if (from_address >= opt_.inbound_connections_per_address_max) {
    ++inbound_stats_.refused_address_limit;
    log_.logf(limit_logged_ ? LogLevel::kDebug : LogLevel::kWarn, "closing inbound connection from ",
              Stream::endpoint_string(remote), ": ", from_address,
              " inbound connections from that address are open (inbound_connections_per_address_max)");
    limit_logged_ = true;
    socket.close(ec);
    return;
  }
  if (inbound_.size() >= opt_.inbound_connections_max) {
    ++inbound_stats_.refused_limit;
    std::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    LogLevel level = limit_logged_ ? LogLevel::kDebug : LogLevel::kWarn;
    log_.logf(level, "closing inbound connection from ",
              ec ? std::string("?") : Stream::endpoint_string(remote), ": ", inbound_.size(),
              " inbound connections are open (inbound_connections_max)");
    limit_logged_ = true;
    socket.close(ec);
    return;
  }
  ++inbound_stats_.accepted;
  auto c = std::make_shared<InboundConn>(this, std::move(socket), remote.address());
  inbound_.emplace(c.get(), c);
  c->start();
}

void TcpCore::inbound_established(InboundConn* c, NodeId from, Channel kind) {
  auto& slot = inbound_by_peer_[{from, kind}];
  if (slot && slot != c) {
    // A newer connection from the same peer for the same purpose: the old
    // one is dead or dying (the peer restarted). Keep one.
    ++inbound_stats_.replaced;
    log_.info("replacing an older inbound ", channel_name(kind), " connection from ",
              node_string(from));
    InboundConn* old = slot;
    auto it = inbound_.find(old);
    if (it != inbound_.end()) {
      std::shared_ptr<InboundConn> keep = std::move(it->second);
      inbound_.erase(it);
      keep->shutdown();
    }
  }
  slot = c;
}

void TcpCore::inbound_closed(InboundConn* c) {
  for (auto it = inbound_by_peer_.begin(); it != inbound_by_peer_.end(); ++it) {
    if (it->second == c) {
      inbound_by_peer_.erase(it);
      break;
    }
  }
  inbound_.erase(c);
  if (inbound_.size() < opt_.inbound_connections_max) limit_logged_ = false;
}

void TcpCore::deliver(core::Message&& m) {
  if (stopped_) return;
  auto keep = shared_from_this();  // the handler may stop and destroy the transport
  ++in_handler_;
  handler_(std::move(m));
  --in_handler_;
  if (stopped_ && in_handler_ == 0) handler_ = nullptr;
}

void TcpCore::learn_peer(NodeId id, const std::string& address) {
  if (stopped_ || peers_.count(id)) return;
  log_.info("learned the address of ", node_string(id), " from its handshake: ", printable(address));
  set_peer(id, address);
}

void TcpCore::set_peer(NodeId id, const std::string& address) {
  if (stopped_) return;
  auto it = peers_.find(id);
  if (it != peers_.end()) {
    if (it->second.address == address) return;
    for (auto& ch : it->second.outboxes) {
      if (ch) ch->close();
    }
    peers_.erase(it);
  }
  if (address.empty()) return;
  std::string host;
  uint16_t port = 0;
  Status st = parse_host_port(address, &host, &port);
  if (!st.ok()) {
    log_.error("ignoring the address of ", node_string(id), ": ", st.message());
    return;
  }
  peers_[id].address = address;
}

void TcpCore::send(core::Message m) {
  if (!started_ || stopped_) {
    ++dropped_not_started_;
    return;
  }
  auto it = peers_.find(m.to);
  if (it == peers_.end()) {
    ++peer_stats_[m.to].dropped_no_address;
    return;
  }
  Channel kind = channel_of(m.body);
  auto& ch = it->second.outboxes[static_cast<size_t>(kind)];
  if (!ch) ch = std::make_shared<Outbox>(this, m.to, kind, it->second.address);
  ch->send(std::move(m));
}

void TcpCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  accept_retry_.cancel();
  auto peers = std::move(peers_);
  peers_.clear();
  for (auto& [id, p] : peers) {
    for (auto& ch : p.outboxes) {
      if (ch) ch->close();
    }
  }
  auto inbound = std::move(inbound_);
  inbound_.clear();
  inbound_by_peer_.clear();
  for (auto& [ptr, c] : inbound) c->shutdown();
  // Release the handler's captures now, unless it is running (stop()
  // called from inside it): then deliver() releases it when it returns.
  if (in_handler_ == 0) handler_ = nullptr;
  if (started_) log_.info("stopped");
}

Status TcpCore::reload_tls() {
  if (!opt_.tls.enabled()) return invalid_argument("tcp transport: TLS is off");
  auto ctx = load_tls_context(opt_.tls);
  if (!ctx.ok()) {
    ++tls_reload_failures_;
    log_.error("TLS files not reloaded (the old ones stay in use): ", ctx.status().message());
    return ctx.status();
  }
  tls_ctx_ = std::move(*ctx);
  ++tls_reloads_;
  log_.info("reloaded the TLS files; new connections use them");
  return Status();
}

uint32_t TcpCore::backoff_ms(uint32_t failures) {
  uint64_t d = opt_.reconnect_backoff_ms_initial;
  for (uint32_t i = 1; i < failures && d < opt_.reconnect_backoff_ms_max; ++i) d *= 2;
  d = std::min<uint64_t>(d, opt_.reconnect_backoff_ms_max);
  // Jitter: uniform in [d/2, d], so peers that failed together do not
  // retry together.
  return static_cast<uint32_t>(std::uniform_int_distribution<uint64_t>(d / 2, d)(rng_));
}

std::map<std::string, std::string> TcpCore::stats() const {
  std::map<std::string, std::string> out;
  auto put = [&](const std::string& k, uint64_t v) { out[k] = std::to_string(v); };
  for (const auto& [id, s] : peer_stats_) {
    std::string p = "peer." + std::to_string(id.value) + ".";
    put(p + "messages_sent", s.messages_sent);
    put(p + "bytes_sent", s.bytes_sent);
    put(p + "messages_received", s.messages_received);
    put(p + "bytes_received", s.bytes_received);
    put(p + "dropped_queue_full", s.dropped_queue_full);
    put(p + "dropped_no_address", s.dropped_no_address);
    put(p + "dropped_not_connected", s.dropped_not_connected);
    put(p + "dropped_too_large", s.dropped_too_large);
    put(p + "dropped_unsupported", s.dropped_unsupported);
    put(p + "connects", s.connects);
    put(p + "reconnects", s.reconnects);
    put(p + "connect_failures", s.connect_failures);
    put(p + "disconnects", s.disconnects);
    put(p + "decode_errors", s.decode_errors);
    put(p + "tls_failures", s.tls_failures);
    for (const auto& [reason, n] : s.refused) put(p + "refused." + reason, n);
    size_t qm = 0, qb = 0;
    if (auto it = peers_.find(id); it != peers_.end()) {
      for (const auto& ch : it->second.outboxes) {
        if (!ch) continue;
        qm += ch->pending_messages();
        qb += ch->pending_bytes();
      }
    }
    put(p + "queued_messages", qm);
    put(p + "queued_bytes", qb);
  }
  put("inbound.accepted", inbound_stats_.accepted);
  put("inbound.active", inbound_.size());
  put("inbound.refused_limit", inbound_stats_.refused_limit);
  put("inbound.refused_address_limit", inbound_stats_.refused_address_limit);
  put("inbound.tls_handshake_failures", inbound_stats_.tls_handshake_failures);
  put("inbound.handshake_timeouts", inbound_stats_.handshake_timeouts);
  put("inbound.bad_handshakes", inbound_stats_.bad_handshakes);
  put("inbound.decode_errors", inbound_stats_.decode_errors);
  put("inbound.truncated_frames", inbound_stats_.truncated_frames);
  put("inbound.spoofed_sender", inbound_stats_.spoofed_sender);
  put("inbound.replaced", inbound_stats_.replaced);
  for (const auto& [reason, n] : handshake_refused_) put("handshake_refused." + reason, n);
  put("dropped_not_started", dropped_not_started_);
  put("tls.enabled", tls_ctx_ ? 1 : 0);
  put("tls.reloads", tls_reloads_);
  put("tls.reload_failures", tls_reload_failures_);
  return out;
}

}  // namespace detail

// ---- TcpTransport: forwards to the core, which outlives it as long as a
// pending completion refers to it.

TcpTransport::TcpTransport(asio::io_context& io, TcpTransportOptions options)
    : core_(std::make_shared<detail::TcpCore>(io, std::move(options))) {}

TcpTransport::~TcpTransport() { core_->stop(); }

Status TcpTransport::start(MessageHandler handler) { return core_->start(std::move(handler)); }
void TcpTransport::set_peer(NodeId id, const std::string& address) {
  core_->set_peer(id, address);
}
void TcpTransport::send(core::Message m) { core_->send(std::move(m)); }
void TcpTransport::stop() { core_->stop(); }
std::string TcpTransport::local_address() const { return core_->local_address(); }
std::map<std::string, std::string> TcpTransport::stats() const { return core_->stats(); }
Status TcpTransport::reload_tls() { return core_->reload_tls(); }

}  // namespace raft::transport
