#include "cluster.hpp"

#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "log.hpp"
#include "options.hpp"

namespace raftkv {

using namespace std::chrono_literals;

// ---- LeaderRegistrar ----------------------------------------------------

LeaderRegistrar::LeaderRegistrar(raft::Node& node, KvFsm& fsm, raft::ServerId self, std::string http_address)
    : node_(node), fsm_(fsm), self_(self), http_address_(std::move(http_address)) {}

LeaderRegistrar::~LeaderRegistrar() { stop(); }

void LeaderRegistrar::start() {
  thread_ = std::thread([this] { run(); });
}

void LeaderRegistrar::poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_one();
}

void LeaderRegistrar::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void LeaderRegistrar::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Woken by a leader change, and once a second anyway: that retries a
    // registration that failed, at the cost of one map lookup.
    cv_.wait_for(lock, 1s, [&] { return stop_ || poked_; });
    if (stop_) break;
    poked_ = false;
    lock.unlock();
    maybe_register();
    lock.lock();
  }
}

void LeaderRegistrar::maybe_register() {
  if (node_.state() != raft::Role::kLeader) return;
  if (fsm_.http_address(self_) == http_address_) return;
  raft::Future<std::any> f = node_.apply(Command::register_http(self_, http_address_).encode(), 2s);
  if (!f.wait_for(3s)) {
    log(raft::LogLevel::kInfo, "registering this node's HTTP address is slow; will check again");
    return;
  }
  if (f.status().ok()) {
    log(raft::LogLevel::kInfo, "registered this node's HTTP address ", http_address_, " at index ",
        std::any_cast<CommandResult>(f.value()).index);
  } else {
    log(raft::LogLevel::kInfo, "could not register this node's HTTP address yet (", f.status().to_string(),
        "); will retry");
  }
}

// ---- join_cluster ---------------------------------------------------------

namespace {

// "http://h:p/" or "h:p" -> "http://h:p", the form httplib::Client takes;
// "https://h:p" when `tls` (every node of a TLS cluster serves HTTPS, and
// X-Raft-Leader-Http names a leader by host:port only).
std::string normalize_url(std::string url, bool tls) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find("://") == std::string::npos) url = (tls ? "https://" : "http://") + url;
  return url;
}

std::string trimmed_body(const httplib::Result& res) {
  std::string body = res->body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body;
}

std::string error_of(const httplib::Result& res) {
  if (!res) {
    switch (res.error()) {
      case httplib::Error::Connection: return "connection refused or unreachable";
      case httplib::Error::ConnectionTimeout: return "connection timed out";
      case httplib::Error::Read: return "no answer (connection closed or read timed out)";
      case httplib::Error::Write: return "could not send the request";
      case httplib::Error::SSLConnection: return "TLS handshake failed";
      case httplib::Error::SSLServerVerification: return "the server's certificate is not signed by --tls-ca";
      default: return httplib::to_string(res.error());
    }
  }
  return "HTTP " + std::to_string(res->status) + " " + trimmed_body(res);
}

}  // namespace

raft::Status join_cluster(const JoinRequest& request, const StopSignal& stop) {
  const auto give_up_at = std::chrono::steady_clock::now() + request.give_up_after;
  const std::string body = nlohmann::json{
      {"id", server_name(request.id)},
      {"raft", request.raft_address},
      {"http", request.http_address},
      {"voter", true}}.dump();
  const bool tls = !request.tls_ca_file.empty();
  const std::string first = normalize_url(request.url, tls);
  std::string target = first;
  std::string last_error;
  auto backoff = 100ms;
  int redirects_in_a_row = 0;  // followers with stale views could send us in circles

  while (true) {
    httplib::Client client(target);
    client.set_connection_timeout(2s);
    if (tls) {
      client.set_ca_cert_path(request.tls_ca_file.c_str());
      client.enable_server_certificate_verification(true);
    }
    // The leader answers once the change commits, or after its own request
    // timeout with a 504: wait longer than that.
    client.set_read_timeout(20s);
    log(raft::LogLevel::kInfo, "asking ", target, " to add this node (", server_name(request.id), " at ",
        request.raft_address, ")");
    httplib::Result res = client.Post("/members", body, "application/json");
    bool retry_now = false;
    if (res && res->status == 200) {
      log(raft::LogLevel::kInfo, "joined the cluster through ", target, ": ", trimmed_body(res));
      return raft::Status();
    }
    last_error = target + " answered " + error_of(res);
    if (!res) {
      last_error = "cannot reach " + target + ": " + error_of(res);
      target = first;  // a leader we were sent to may be gone: ask the member we were given
    } else if (res->status == 503 && res->has_header("X-Raft-Leader-Http")) {
      // A follower names the leader: go there, at once the first time.
      std::string leader = normalize_url(res->get_header_value("X-Raft-Leader-Http"), tls);
      retry_now = leader != target && ++redirects_in_a_row <= 3;
      log(raft::LogLevel::kInfo, target, " is not the leader; the leader is ", res->get_header_value("X-Raft-Leader"),
          " at ", leader);
      target = leader;
    } else if (res->status == 503 || res->status == 409 || res->status == 504 || res->status >= 500) {
      // No leader yet, another change in progress, an unknown outcome (the
      // request is idempotent), or a server error: try again.
    } else {
      // 400 and the like: asking again will not help.
      return raft::Status(raft::ErrorCode::kInvalidArgument, "the cluster refused to add this node: " + last_error);
    }
    if (std::chrono::steady_clock::now() >= give_up_at)
      return raft::Status(raft::ErrorCode::kTimeout, "could not join through " + request.url + " within " +
                                                         std::to_string(request.give_up_after.count()) +
                                                         " s; last error: " + last_error);
    if (retry_now) continue;
    redirects_in_a_row = 0;
    log(raft::LogLevel::kInfo, "join: ", last_error, "; retrying in ", backoff.count(), " ms");
    if (stop.wait_for(backoff)) return raft::Status(raft::ErrorCode::kAborted, "stopped while joining");
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace raftkv
