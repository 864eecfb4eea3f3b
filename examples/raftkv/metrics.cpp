#include "metrics.hpp"

#include <charconv>

#include "options.hpp"

namespace raftkv {
namespace {

// The shortest text that reads back as the same double ("0.005", "1e-05").
std::string number(double v) {
  char buf[64];
  // As Prometheus's own clients print them: 0.0001, 5e-05, 2.5.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

class Exposition {
 public:
  // "# HELP" and "# TYPE" once per metric family, then its samples.
  void family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP raftkv_" + name + " " + help + "\n";
    out_ += "# TYPE raftkv_" + name + " " + type + "\n";
  }
  void sample(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += "raftkv_" + name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + value + "\n";
  }
  void counter(const std::string& name, const char* help, uint64_t v) {
    family(name, "counter", help);
    sample(name, "", std::to_string(v));
  }
  void gauge(const std::string& name, const char* help, uint64_t v) {
    family(name, "gauge", help);
    sample(name, "", std::to_string(v));
  }
  // raft::Histogram counts each bucket on its own; Prometheus buckets are
  // cumulative (le = "less than or equal"), end with le="+Inf" (every
  // sample), and come with _sum and _count.
  void histogram(const std::string& name, const char* help, const raft::Histogram& h) {
    family(name, "histogram", help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      if (i < h.counts.size()) cumulative += h.counts[i];
      sample(name + "_bucket", "le=\"" + number(h.bounds[i]) + "\"", std::to_string(cumulative));
    }
    sample(name + "_bucket", "le=\"+Inf\"", std::to_string(h.count));
    sample(name + "_sum", "", number(h.sum));
    sample(name + "_count", "", std::to_string(h.count));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_metrics(const MetricsInput& in) {
  const raft::Metrics& m = in.raft;
  Exposition e;
  e.counter("entries_applied_total", "Log entries applied on this node (commands, no-ops, ...).", m.entries_applied);
  e.counter("commands_applied_total", "Commands applied to the key-value state machine.", m.commands_applied);
  e.counter("entries_committed_total", "Log entries this node has seen committed.", m.entries_committed);
  e.counter("elections_started_total", "Elections this node started as a candidate.", m.elections_started);
  e.counter("leader_changes_total", "Times the leader known to this node changed.", m.leader_changes);
  e.counter("step_downs_total", "Times this node stopped being the leader.", m.step_downs);

  e.gauge("term", "The current Raft term.", in.term);
  e.gauge("commit_index", "The highest log index known to be committed.", in.commit_index);
  e.gauge("applied_index", "The highest log index applied to the state machine.", in.applied_index);
  e.gauge("last_log_index", "The index of the last entry in this node's log.", in.last_log_index);
  e.gauge("is_leader", "1 if this node is the leader, else 0.", in.role == raft::Role::kLeader ? 1 : 0);
  e.gauge("keys", "Keys in this node's copy of the store.", in.keys);

  e.histogram("append_latency_seconds", "One disk round of the log: the pending appends and one sync.",
              m.append_latency);
  e.histogram("fsync_latency_seconds", "The sync (fdatasync) of the log alone.", m.fsync_latency);

  e.counter("snapshots_taken_total", "Snapshots this node took.", m.snapshots_taken);
  e.counter("snapshots_installed_total", "Snapshots received from a leader and installed.", m.snapshots_installed);
  e.counter("snapshot_written_bytes_total", "Total size of the snapshots this node took.", m.snapshot_bytes_written);
  e.gauge("last_snapshot_bytes", "Size of the last snapshot this node took.", m.last_snapshot_bytes);

  e.family("peer_sent_bytes_total", "counter", "Bytes sent to each peer over the Raft transport.");
  for (const auto& p : m.peers)
    e.sample("peer_sent_bytes_total", "peer=\"" + server_name(p.id) + "\"", std::to_string(p.bytes_sent));
  e.family("peer_received_bytes_total", "counter", "Bytes received from each peer over the Raft transport.");
  for (const auto& p : m.peers)
    e.sample("peer_received_bytes_total", "peer=\"" + server_name(p.id) + "\"", std::to_string(p.bytes_received));
  e.family("peer_sent_messages_total", "counter", "Messages sent to each peer.");
  for (const auto& p : m.peers)
    e.sample("peer_sent_messages_total", "peer=\"" + server_name(p.id) + "\"", std::to_string(p.messages_sent));
  e.family("peer_received_messages_total", "counter", "Messages received from each peer.");
  for (const auto& p : m.peers)
    e.sample("peer_received_messages_total", "peer=\"" + server_name(p.id) + "\"", std::to_string(p.messages_received));

  e.family("http_requests_total", "counter", "HTTP requests answered, by status code.");
  for (const auto& [status, n] : in.http_requests)
    e.sample("http_requests_total", "code=\"" + std::to_string(status) + "\"", std::to_string(n));
  return e.take();
}

}  // namespace raftkv
