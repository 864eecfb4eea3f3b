#include "sim/lin_check.hpp"

#include "common/linearizability.hpp"

namespace raft::sim {

LinVerdict check_linearizable(const std::vector<ClientOp>& history) {
  using testing::OpKind;
  using testing::OpOutcome;
  std::vector<testing::Operation> ops;
  ops.reserve(history.size());
  for (const ClientOp& c : history) {
    testing::Operation op;
    op.client = static_cast<int>(c.client);
    op.key = c.key;
    op.invoke_ns = c.invoked.count();
    op.return_ns = c.returned.count();
    switch (c.kind) {
      case ClientOp::Kind::kRead: op.kind = OpKind::kRead; break;
      case ClientOp::Kind::kPut: op.kind = OpKind::kWrite; op.value = c.value; break;
      case ClientOp::Kind::kDelete: op.kind = OpKind::kWrite; op.value = std::nullopt; break;
      case ClientOp::Kind::kCas:
        op.kind = OpKind::kCas;
        op.value = c.value;
        op.expected = c.expected;
        break;
    }
    switch (c.outcome) {
      case ClientOp::Outcome::kPending:
      case ClientOp::Outcome::kUnknown: op.outcome = OpOutcome::kUnknown; break;
      case ClientOp::Outcome::kFailed: op.outcome = OpOutcome::kFailed; break;
      case ClientOp::Outcome::kOk: op.outcome = OpOutcome::kOk; break;
    }
    op.read_value = c.read_value;
    op.swapped = c.swapped;
    ops.push_back(std::move(op));
  }
  testing::CheckOptions options;
  options.per_key_steps_max = 2'000'000;
  options.per_key_time_ms_max = 5'000;
  testing::CheckResult r = testing::check(ops, options);
  LinVerdict v;
  uint64_t keys = r.keys.size();
  std::string stats = std::to_string(history.size()) + " ops over " + std::to_string(keys) + " keys, " +
                      std::to_string(r.search_steps) + " search steps";
  switch (r.outcome) {
    case testing::CheckOutcome::kLinearizable:
      v.result = LinVerdict::kLinearizable;
      v.summary = "linearizable (" + stats + ")";
      break;
    case testing::CheckOutcome::kNotLinearizable:
      v.result = LinVerdict::kViolation;
      v.summary = "NOT linearizable (" + stats + ")\n" + r.explanation;
      break;
    case testing::CheckOutcome::kUnknown:
      v.result = LinVerdict::kUnknown;
      v.summary = "undecided within the search budget (" + stats + ")";
      break;
  }
  return v;
}

}  // namespace raft::sim
