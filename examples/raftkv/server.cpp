#include "server.hpp"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "log.hpp"
#include "metrics.hpp"

namespace raftkv {
namespace {

using Json = nlohmann::ordered_json;  // keeps fields in the order written
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Requests served at once; each holds a thread while it waits for a commit.
constexpr size_t kHttpThreads = 64;
// How long a client may take to send a request, or to read the answer.
constexpr time_t kSocketTimeoutSeconds = 5;
// httplib serves a connection on one pool thread until it closes, so a
// busy keep-alive client would hold its thread for ever while other
// connections queue: close a connection after a few requests, or when
// idle for a moment (the client reconnects, which is cheap).
constexpr time_t kKeepAliveSeconds = 2;
constexpr size_t kKeepAliveRequestsMax = 10;

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  // Values are arbitrary bytes; `replace` turns invalid UTF-8 into U+FFFD
  // instead of throwing (only the 409 "current" field can hold a value).
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n", "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, Json{{"error", message}});
}

// How much of the request's time is left, for a libraft call. Never 0,
// which would mean "no deadline" to libraft.
milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(1));
}

// Reads a request's body as raw bytes, or answers (400, 413, 415) and
// returns false.
//
// Handlers that take a ContentReader see the body before httplib does
// anything with it. Otherwise httplib would parse a body sent as
// application/x-www-form-urlencoded (what `curl --data-binary` sends by
// default) into the query parameters, and refuse it over 8 KiB.
bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read,
               std::string* body) {
  // No Content-Length and not chunked: there is no body (RFC 9112, 6.3).
  // httplib 0.11 would wait for the client to close the connection.
  if (!req.has_header("Content-Length") &&
      req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos)
    return true;
  if (req.is_multipart_form_data()) {
    read([](const httplib::MultipartFormData&) { return true; }, [](const char*, size_t) { return true; });
    send_error(res, 415, "send the value as the raw request body, not as multipart/form-data");
    return false;
  }
  // httplib refuses a Content-Length over the limit itself (413); a chunked
  // body is counted here, and read to its end so the connection stays usable.
  size_t total = 0;
  bool ok = read([&](const char* data, size_t n) {
    total += n;
    if (total <= kValueBytesMax) body->append(data, n);
    return total <= 16 * kValueBytesMax;  // then give up on the connection
  });
  if (ok && total <= kValueBytesMax) return true;
  if (res.status == 413 || total > kValueBytesMax)
    send_error(res, 413, "request body too large (the limit is 1 MiB)");
  else
    send_error(res, 400, "could not read the request body");
  return false;
}

const char* role_text(raft::Role r) {
  switch (r) {
    case raft::Role::kLeader: return "leader";
    case raft::Role::kFollower: return "follower";
    case raft::Role::kCandidate: return "candidate";
    case raft::Role::kShutdown: return "shutdown";
  }
  return "unknown";
}

Json optional_string(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

// The text of an error httplib answers on its own (before any handler).
std::string httplib_error_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "no such path";
    case 413: return "request body too large (the limit is 1 MiB)";
    case 414: return "request URI too long";
    default: return "HTTP error " + std::to_string(status);
  }
}

}  // namespace

struct HttpServer::Impl {
  raft::Node& node;
  KvFsm& fsm;
  ServerSettings settings;
  std::unique_ptr<httplib::Server> http;  // an httplib::SSLServer with TLS
  HttpRequestCounts counts;
  std::thread thread;                       // runs httplib's accept loop
  std::atomic<bool> listen_returned{false};  // that loop is over

  Impl(raft::Node& n, KvFsm& f, ServerSettings s) : node(n), fsm(f), settings(std::move(s)) {
    if (!settings.tls) {
      http = std::make_unique<httplib::Server>();
      return;
    }
    // httplib makes the context and lets us set it up: modern protocol
    // versions only, and the certificate from the store at each handshake
    // (so that a reload reaches new connections). No client certificates.
    http = std::make_unique<httplib::SSLServer>([store = settings.tls](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
      store->attach(&ctx);
      return true;
    });
  }

  // ---- Routing ----------------------------------------------------------

  // Every request comes here, with its body; an exception becomes a 500,
  // never a crash.
  void serve(const httplib::Request& req, httplib::Response& res, const std::string& body) {
    try {
      route(req, res, body);
    } catch (const std::exception& e) {
      log(raft::LogLevel::kError, req.method, " ", req.path, ": ", e.what());
      send_error(res, 500, std::string("internal error: ") + e.what());
    } catch (...) {
      log(raft::LogLevel::kError, req.method, " ", req.path, ": unknown exception");
      send_error(res, 500, "internal error");
    }
  }

  // Our own routing (httplib hands us every path): it tells an unknown
  // path (404) from a known one with the wrong method (405).
  void route(const httplib::Request& req, httplib::Response& res, const std::string& body) {
    const std::string& path = req.path;  // already percent-decoded by httplib
    const std::string& m = req.method;
    bool get = m == "GET" || m == "HEAD";
    auto wrong_method = [&](const char* allowed) {
      res.set_header("Allow", allowed);
      send_error(res, 405, m + " is not allowed on " + path + " (allowed: " + allowed + ")");
    };
    if (path == "/kv" || path.starts_with("/kv/")) {
      // The key is everything after "/kv/", slashes included.
      std::string key = path.size() > 4 ? path.substr(4) : std::string();
      if (!get && m != "PUT" && m != "DELETE" && m != "POST") return wrong_method("GET, PUT, DELETE, POST");
      if (key.empty()) return send_error(res, 400, "empty key (use /kv/KEY)");
      if (key.size() > kKeyBytesMax)
        return send_error(res, 400, "key of " + std::to_string(key.size()) + " bytes (the limit is 1024)");
      if (get) return get_key(req, res, key);
      if (m == "PUT") return put_key(res, key, body);
      if (m == "DELETE") return delete_key(res, key);
      return cas_key(req, res, key, body);
    }
    if (path == "/status") return get ? status(res) : wrong_method("GET");
    if (path == "/metrics") return get ? metrics(res) : wrong_method("GET");
    if (path == "/members") return m == "POST" ? add_member(res, body) : wrong_method("POST");
    if (path.starts_with("/members/"))
      return m == "DELETE" ? remove_member(res, path.substr(9)) : wrong_method("DELETE");
    send_error(res, 404, "no such path: " + path);
  }

  // ---- Answers shared by the handlers -------------------------------------

  // 503: this node did not take the request. Names the leader when known,
  // so the client can retry there.
  void not_leader(httplib::Response& res, const std::string& why) {
    Json body{{"error", why}, {"leader", nullptr}, {"leader_http", nullptr}};
    if (auto leader = node.leader()) {
      res.set_header("X-Raft-Leader", server_name(leader->id));
      body["leader"] = server_name(leader->id);
      if (auto http_address = fsm.http_address(leader->id)) {
        res.set_header("X-Raft-Leader-Http", *http_address);
        body["leader_http"] = *http_address;
      }
    }
    send_json(res, 503, body);
  }

  // 504: the command may or may not commit.
  void unknown_outcome(httplib::Response& res, const std::string& why) {
    send_error(res, 504, "outcome unknown: the change may or may not be applied (" + why + ")");
  }

  // Submits a command and waits for it to be applied, until `deadline`.
  // The result, or nullopt with `res` answered (503 or 504).
  std::optional<CommandResult> submit(const Command& command, Clock::time_point deadline, httplib::Response& res) {
    // Checked before submitting, so a 503 here is certain.
    if (node.state() == raft::Role::kShutdown) {
      not_leader(res, "this node is shut down");
      return std::nullopt;
    }
    raft::Future<std::any> f = node.apply(command.encode(), remaining(deadline));
    if (!f.wait_until(deadline)) {
      unknown_outcome(res, "the request timed out before the command was applied");
      return std::nullopt;
    }
    const raft::Status& s = f.status();
    if (s.ok()) {
      CommandResult r = std::any_cast<CommandResult>(f.value());
      if (!r.error.empty()) throw std::runtime_error(r.error);
      return r;
    }
    // kNotLeader: the node refused the command before it entered the log.
    // Everything else happened after submission (kLeadershipLost,
    // kTimeout, even kShutdown of a node that was replicating it): the
    // entry may still commit under this or another leader.
    if (s.code() == raft::ErrorCode::kNotLeader)
      not_leader(res, "not the leader");
    else
      unknown_outcome(res, s.to_string());
    return std::nullopt;
  }

  // Runs a membership change, retrying while the library says kBusy
  // (another change is being made, or a new leader has not yet committed
  // an entry of its term) until the deadline; then 409. The configuration
  // index once committed, or nullopt with `res` answered.
  std::optional<uint64_t> change_membership(const std::function<raft::Future<uint64_t>(milliseconds)>& start,
                                            Clock::time_point deadline, httplib::Response& res) {
    milliseconds backoff(20);
    while (true) {
      if (node.state() == raft::Role::kShutdown) {
        not_leader(res, "this node is shut down");
        return std::nullopt;
      }
      raft::Future<uint64_t> f = start(remaining(deadline));
      if (!f.wait_until(deadline)) {
        unknown_outcome(res, "the request timed out before the membership change committed");
        return std::nullopt;
      }
      const raft::Status& s = f.status();
      if (s.ok()) return f.value();
      switch (s.code()) {
        case raft::ErrorCode::kBusy:
          if (Clock::now() + backoff >= deadline) {
            send_error(res, 409, "another membership change is in progress; retry later (" + s.message() + ")");
            return std::nullopt;
          }
          std::this_thread::sleep_for(backoff);
          backoff = std::min(backoff * 2, milliseconds(500));
          continue;
        case raft::ErrorCode::kNotLeader: not_leader(res, "not the leader"); return std::nullopt;
        case raft::ErrorCode::kInvalidArgument:  // e.g. the id is a member at another address
          send_error(res, 400, s.message());
          return std::nullopt;
        case raft::ErrorCode::kNotFound: send_error(res, 404, s.message()); return std::nullopt;
        default: unknown_outcome(res, s.to_string()); return std::nullopt;
      }
    }
  }

  Clock::time_point deadline() const { return Clock::now() + settings.request_timeout; }

  // ---- /kv ----------------------------------------------------------------

  void get_key(const httplib::Request& req, httplib::Response& res, const std::string& key) {
    bool stale = false;
    if (req.has_param("stale")) {
      if (req.get_param_value_count("stale") > 1) return send_error(res, 400, "stale is given twice");
      std::string v = req.get_param_value("stale");
      if (v == "true" || v == "1" || v.empty())
        stale = true;
      else if (v != "false" && v != "0")
        return send_error(res, 400, "stale must be true or false");
    }
    if (!stale) {
      // Linearizable: the leader confirms with a quorum that it still
      // leads, and read_index resolves once this node has applied every
      // entry committed before the call, so the local state is current.
      // Reads change nothing, so either failure is safe to retry: 503 when
      // this node is not (or no longer) the leader, 504 when the quorum
      // did not answer in time.
      if (node.state() == raft::Role::kShutdown) return not_leader(res, "this node is shut down");
      Clock::time_point until = deadline();
      raft::Future<uint64_t> f = node.read_index(remaining(until));
      if (!f.wait_until(until))
        return send_error(res, 504, "timed out confirming leadership; nothing was read (safe to retry)");
      const raft::Status& s = f.status();
      if (!s.ok()) {
        if (s.code() == raft::ErrorCode::kNotLeader) return not_leader(res, "not the leader");
        if (s.code() == raft::ErrorCode::kLeadershipLost)
          return not_leader(res, "lost leadership before the read was confirmed");
        if (s.code() == raft::ErrorCode::kShutdown) return not_leader(res, "this node is shut down");
        return send_error(res, 504, "could not confirm leadership; nothing was read (safe to retry): " + s.to_string());
      }
    }
    std::optional<std::string> value = fsm.get(key);
    if (!value) return send_error(res, 404, "key not found");
    res.status = 200;
    res.set_content(std::move(*value), "application/octet-stream");
  }

  void put_key(httplib::Response& res, const std::string& key, const std::string& value) {
    auto r = submit(Command::put(key, value), deadline(), res);
    if (r) send_json(res, 200, Json{{"index", r->index}});
  }

  void delete_key(httplib::Response& res, const std::string& key) {
    auto r = submit(Command::erase(key), deadline(), res);
    if (r) send_json(res, 200, Json{{"index", r->index}, {"existed", r->existed}});
  }

  void cas_key(const httplib::Request& req, httplib::Response& res, const std::string& key, const std::string& value) {
    size_t n = req.get_param_value_count("cas");
    if (n == 0) return send_error(res, 400, "POST /kv/KEY needs ?cas=EXPECTED (use PUT to write unconditionally)");
    if (n > 1) return send_error(res, 400, "cas is given more than once");
    auto r = submit(Command::cas(key, req.get_param_value("cas"), value), deadline(), res);
    if (!r) return;
    if (r->done) return send_json(res, 200, Json{{"index", r->index}});
    send_json(res, 409,
              Json{{"error", r->existed ? "compare-and-swap failed: the key holds another value"
                                        : "compare-and-swap failed: the key does not exist"},
                   {"current", optional_string(r->current)}});
  }

  // ---- /status and /metrics -----------------------------------------------

  void status(httplib::Response& res) {
    auto leader = node.leader();
    Json members = Json::array();
    for (const raft::ServerInfo& s : node.configuration().servers) {
      members.push_back(Json{{"id", server_name(s.id)},
                             {"raft", s.address},
                             {"http", optional_string(fsm.http_address(s.id))},
                             {"voter", s.voter}});
    }
    // stats() reports numbers as text.
    std::map<std::string, std::string> stats = node.stats();
    auto snap = stats.find("last_snapshot_index");
    Json last_snapshot_index =
        snap == stats.end() ? Json(nullptr) : Json(std::strtoull(snap->second.c_str(), nullptr, 10));
    Json body{
        {"id", server_name(settings.id)},
        {"state", role_text(node.state())},
        {"term", node.term()},
        {"leader", leader ? Json(server_name(leader->id)) : Json(nullptr)},
        {"leader_http", leader ? optional_string(fsm.http_address(leader->id)) : Json(nullptr)},
        {"commit_index", node.commit_index()},
        {"applied_index", node.applied_index()},
        {"last_log_index", node.last_index()},
        {"last_snapshot_index", last_snapshot_index},
        {"keys", fsm.key_count()},
        {"raft", node.address()},
        {"http", settings.http_address},
        {"members", members},
    };
    send_json(res, 200, body);
  }

  void metrics(httplib::Response& res) {
    MetricsInput in;
    in.raft = node.metrics();
    in.role = node.state();
    in.term = node.term();
    in.commit_index = node.commit_index();
    in.applied_index = node.applied_index();
    in.last_log_index = node.last_index();
    in.keys = fsm.key_count();
    in.http_requests = counts.get();
    res.status = 200;
    res.set_content(render_metrics(in), "text/plain; version=0.0.4; charset=utf-8");
  }

  // ---- /members -------------------------------------------------------------

  // {"id": "n4", "raft": "HOST:PORT", "voter": true, "http": "HOST:PORT"}.
  // Idempotent: adding a member again with the same address answers 200.
  void add_member(httplib::Response& res, const std::string& request_body) {
    Json body = Json::parse(request_body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object())
      return send_error(res, 400, "the body must be a JSON object like {\"id\": \"n4\", \"raft\": \"HOST:PORT\"}");
    std::optional<raft::ServerId> id;
    if (body.contains("id") && body["id"].is_string())
      id = parse_server_id(body["id"].get<std::string>());
    else if (body.contains("id") && body["id"].is_number_unsigned() && body["id"].get<uint64_t>() > 0)
      id = body["id"].get<uint64_t>();
    if (!id) return send_error(res, 400, "\"id\" must be a server id such as \"n4\"");
    std::string why;
    if (!body.contains("raft") || !body["raft"].is_string() || !parse_host_port(body["raft"].get<std::string>(), &why))
      return send_error(res, 400, "\"raft\" must be the new server's Raft address HOST:PORT (" + why + ")");
    std::string raft_address = body["raft"].get<std::string>();
    bool voter = true;
    if (body.contains("voter") && !body["voter"].is_null()) {
      if (!body["voter"].is_boolean()) return send_error(res, 400, "\"voter\" must be true or false");
      voter = body["voter"].get<bool>();
    }
    std::optional<std::string> http_address;
    if (body.contains("http") && !body["http"].is_null()) {
      if (!body["http"].is_string() || !parse_host_port(body["http"].get<std::string>(), &why))
        return send_error(res, 400, "\"http\" must be the new server's HTTP address HOST:PORT (" + why + ")");
      http_address = body["http"].get<std::string>();
    }

    Clock::time_point until = deadline();
    auto index = change_membership(
        [&](milliseconds timeout) {
          return voter ? node.add_voter(*id, raft_address, timeout) : node.add_nonvoter(*id, raft_address, timeout);
        },
        until, res);
    if (!index) return;
    log(raft::LogLevel::kInfo, "added ", server_name(*id), " at ", raft_address,
        voter ? " as a voter" : " as a non-voter", " (configuration index ", *index, ")");
    // Then the address book, so that every node can name the new server's
    // HTTP address when it leads. A failure here is answered like any
    // write (503/504); the client retries the whole request, which is
    // idempotent.
    if (http_address && fsm.http_address(*id) != http_address) {
      if (!submit(Command::register_http(*id, *http_address), until, res)) return;
    }
    send_json(res, 200, Json{{"index", *index}, {"id", server_name(*id)}, {"voter", voter}});
  }

  void remove_member(httplib::Response& res, const std::string& which) {
    auto id = parse_server_id(which);
    if (!id) return send_error(res, 400, "\"" + which + "\" is not a server id (nN or N)");
    Clock::time_point until = deadline();
    auto index = change_membership([&](milliseconds timeout) { return node.remove_server(*id, timeout); }, until, res);
    if (!index) return;
    log(raft::LogLevel::kInfo, "removed ", server_name(*id), " (configuration index ", *index, ")");
    // Forget its HTTP address too. Best effort: the removal is done, and a
    // stale entry for a server that is no member is never shown.
    if (fsm.http_address(*id)) {
      httplib::Response ignored;
      if (!submit(Command::register_http(*id, ""), until, ignored))
        log(raft::LogLevel::kInfo, "could not forget the HTTP address of ", server_name(*id), ": ", ignored.body);
    }
    send_json(res, 200, Json{{"index", *index}});
  }
};

HttpServer::HttpServer(raft::Node& node, KvFsm& fsm, ServerSettings settings)
    : impl_(std::make_unique<Impl>(node, fsm, std::move(settings))) {
  httplib::Server& http = *impl_->http;
  Impl* impl = impl_.get();
  http.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  http.set_payload_max_length(kValueBytesMax);
  http.set_read_timeout(kSocketTimeoutSeconds, 0);
  http.set_write_timeout(kSocketTimeoutSeconds, 0);
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  http.set_keep_alive_max_count(kKeepAliveRequestsMax);
  // httplib writes a response's headers and body separately; with Nagle on,
  // the body waits for the client's delayed ACK (~40 ms on Linux).
  http.set_tcp_nodelay(true);

  // One handler for every path and method; Impl::route sorts them out.
  auto without_body = [impl](const httplib::Request& req, httplib::Response& res) { impl->serve(req, res, {}); };
  auto with_body = [impl](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    std::string body;
    if (read_body(req, res, read, &body)) impl->serve(req, res, body);
  };
  http.Get(".*", without_body);  // and HEAD
  http.Options(".*", without_body);
  http.Put(".*", with_body);
  http.Post(".*", with_body);
  http.Delete(".*", with_body);
  http.Patch(".*", with_body);

  // Errors httplib answers itself (a malformed request, a body over the
  // limit) get a JSON body like ours.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, httplib_error_text(res.status));
  });
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    log(raft::LogLevel::kError, req.method, " ", req.path, ": exception outside the handlers");
    send_error(res, 500, "internal error");
  });
  http.set_logger([impl](const httplib::Request& req, const httplib::Response& res) {
    impl->counts.count(res.status);
    log(raft::LogLevel::kDebug, "http ", req.remote_addr, " ", req.method, " ", req.target, " -> ", res.status);
  });
}

HttpServer::~HttpServer() { stop(); }

raft::Status HttpServer::bind(const HostPort& where) {
  if (!impl_->http->is_valid())
    return raft::Status(raft::ErrorCode::kInvalidArgument, "cannot set up the HTTPS server's TLS context");
  if (!impl_->http->bind_to_port(where.host, where.port))
    return raft::Status(raft::ErrorCode::kIoError, "cannot listen on " + where.host + ":" + std::to_string(where.port) +
                                                       " (in use, or no such address)");
  return raft::Status();
}

void HttpServer::start() {
  impl_->thread = std::thread([impl = impl_.get()] {
    if (!impl->http->listen_after_bind()) log(raft::LogLevel::kError, "the HTTP server stopped on an error");
    impl->listen_returned = true;
  });
  // httplib's stop() only stops a server that is already running: wait for
  // that, so that a stop() right after start() is never lost.
  while (!impl_->http->is_running() && !impl_->listen_returned) std::this_thread::sleep_for(milliseconds(1));
}

void HttpServer::stop() {
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace raftkv
