// Deterministic key-value state machine for the simulator (the replicated service under test).
//
// Lives in tests/sim/ rather than protocol/ because it exists only to be checked: every op string
// the simulator generates is unique (puts carry a unique value, gets a unique tag), so the machine
// can also detect a request executed twice (at-most-once, invariant 5).
//
// Ops:  "put <key> <value>" -> "ok"      "get <key> <tag>" -> current value ("" if unset)
//
// Op batches (protocol/op_batch.hpp, sent by a vr_client with batch_max > 1) are accepted the
// way dns::ZoneService accepts them: the parts run in order, each exactly as if it were its own
// log entry (so the duplicate check is per part), and the result is the batch of their results.
// A malformed batch executes nothing and answers one error result.
#pragma once

#include "protocol/service.hpp"

#include <map>
#include <set>
#include <string>

namespace vrdns::sim {

class kv_machine : public protocol::service {
public:
  kv_machine() = default;
  // Starts from `seed` instead of nothing: what a DNS node's zone files are to its ZoneService.
  explicit kv_machine(std::map<std::string, std::string> seed) : data_(std::move(seed)) {}

  std::string execute(const std::string& op) override;
  // Parts "data" and "executed": the executed ops travel with a checkpoint, so a replica
  // restored from one still detects an op executed twice.
  std::shared_ptr<const protocol::frozen_service> freeze() const override;
  void restore(const std::vector<protocol::snapshot_part>& parts) override;

  // First op that was executed twice on this machine ("" if none).
  const std::string& duplicate() const { return duplicate_; }
  std::size_t executed_count() const { return executed_.size(); }
  const std::map<std::string, std::string>& data() const { return data_; }

private:
  std::string execute_one(const std::string& op);

  std::map<std::string, std::string> data_;
  std::set<std::string> executed_;
  std::string duplicate_;
};

} // namespace vrdns::sim
