#include "history_io.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

namespace raft::chaos {

using testing::OpKind;
using testing::OpOutcome;
using testing::Operation;
using Json = nlohmann::json;

namespace {

const char* kind_name(OpKind k) { return k == OpKind::kRead ? "read" : k == OpKind::kWrite ? "write" : "cas"; }
const char* outcome_name(OpOutcome o) {
  switch (o) {
    case OpOutcome::kPending: return "pending";
    case OpOutcome::kOk: return "ok";
    case OpOutcome::kFailed: return "failed";
    case OpOutcome::kUnknown: return "unknown";
  }
  return "?";
}

Json value_json(const testing::Value& v) { return v ? Json(*v) : Json(nullptr); }
testing::Value json_value(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  return std::nullopt;
}

}  // namespace

bool save_history(const std::string& path, const std::vector<Operation>& ops, std::string* error) {
  std::ofstream out(path, std::ios::trunc);
  for (const Operation& op : ops) {
    Json j = {{"client", op.client},       {"key", op.key},           {"kind", kind_name(op.kind)},
              {"invoke_ns", op.invoke_ns}, {"return_ns", op.return_ns}, {"outcome", outcome_name(op.outcome)}};
    if (op.kind != OpKind::kRead) j["value"] = value_json(op.value);
    if (op.kind == OpKind::kCas) {
      j["expected"] = value_json(op.expected);
      j["swapped"] = op.swapped;
    }
    if (op.kind == OpKind::kRead) j["read_value"] = value_json(op.read_value);
    // Values come from our clients (ASCII); replace anything else rather
    // than throw on invalid UTF-8.
    out << j.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
  }
  out.flush();
  if (!out) {
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

bool load_history(const std::string& path, std::vector<Operation>* ops, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  ops->clear();
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    auto bad = [&](const std::string& why) {
      *error = path + ":" + std::to_string(n) + ": " + why;
      return false;
    };
    if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
    Operation op;
    try {
      op.client = j.value("client", 0);
      op.key = j.at("key").get<std::string>();
      std::string kind = j.at("kind").get<std::string>(), outcome = j.at("outcome").get<std::string>();
      if (kind == "read") op.kind = OpKind::kRead;
      else if (kind == "write") op.kind = OpKind::kWrite;
      else if (kind == "cas") op.kind = OpKind::kCas;
      else return bad("unknown kind " + kind);
      if (outcome == "ok") op.outcome = OpOutcome::kOk;
      else if (outcome == "failed") op.outcome = OpOutcome::kFailed;
      else if (outcome == "unknown" || outcome == "pending") op.outcome = OpOutcome::kUnknown;
      else return bad("unknown outcome " + outcome);
      op.invoke_ns = j.at("invoke_ns").get<int64_t>();
      op.return_ns = j.value("return_ns", op.invoke_ns);
      if (op.outcome != OpOutcome::kUnknown && op.return_ns < op.invoke_ns) return bad("returns before it is invoked");
      if (j.contains("value")) op.value = json_value(j["value"]);
      if (j.contains("expected")) op.expected = json_value(j["expected"]);
      if (j.contains("read_value")) op.read_value = json_value(j["read_value"]);
      op.swapped = j.value("swapped", false);
    } catch (const Json::exception& e) {
      return bad(e.what());
    }
    ops->push_back(std::move(op));
  }
  return true;
}

}  // namespace raft::chaos
