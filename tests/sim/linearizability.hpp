// Linearizability checker for the simulator's KV histories (invariant 4).
//
// Wing & Gong search with Lowe's memoization (as in Knossos/Porcupine): per key, repeatedly pick
// an operation that may take effect next (no other pending op returned before it was invoked),
// apply it to a model register, backtrack on a mismatch, and remember (set of linearized ops,
// register value) pairs already explored. Keys are independent registers, so each key's
// sub-history is checked alone, which keeps the search small.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace vrdns::sim {

struct kv_operation {
  static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t client = 0;
  bool is_put = false;
  std::string key;
  std::string value;  // put: the value written
  std::string result; // get: the value read (meaningful only if completed)
  std::uint64_t invoke = 0;
  std::uint64_t response = never; // `never`: no answer (timed out / still running)
};

struct linearizability_result {
  bool ok = true;
  std::string detail; // key and size of the offending sub-history if !ok
};

// `invoke`/`response` are positions in one global event order (strictly increasing counter).
// A put that never answered may have taken effect or not; a get that never answered is ignored.
linearizability_result check_linearizable(const std::vector<kv_operation>& history,
                                          std::size_t max_states = 2'000'000);

} // namespace vrdns::sim
