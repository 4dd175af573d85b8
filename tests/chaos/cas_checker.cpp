#include "tests/chaos/cas_checker.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace vrdns::chaos {

namespace {

constexpr int64_t plus_infinity = std::numeric_limits<int64_t>::max();
constexpr int64_t minus_infinity = std::numeric_limits<int64_t>::min();
constexpr int rcode_nxrrset = 8;

/// The latest moment the op can have taken effect.
int64_t effect_deadline(const CasOp& op) {
  return op.outcome == Outcome::unknown ? plus_infinity : op.end_us;
}

CasCheck fail(std::string message, std::vector<std::size_t> chain = {}) {
  CasCheck c;
  c.ok = false;
  c.message = std::move(message);
  c.chain = std::move(chain);
  return c;
}

}  // namespace

std::string describe(const std::vector<CasOp>& ops, std::size_t i) {
  const CasOp& op = ops.at(i);
  return "op #" + std::to_string(i) + " (client " + std::to_string(op.client) + ", '" +
         op.old_value + "' -> '" + op.new_value + "', " + to_string(op.outcome) + " rcode " +
         std::to_string(op.rcode) + ", " + std::to_string(op.start_us) + ".." +
         std::to_string(op.end_us) + " us)";
}

CasCheck check_cas_history(const std::string& initial, const std::string& final_value,
                           const std::vector<CasOp>& ops) {
  // Who wrote which value. Unique values are what makes the chain unique.
  std::map<std::string, std::size_t> writer;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].new_value == initial)
      return fail("not checkable: " + describe(ops, i) + " writes the initial value");
    auto [it, fresh] = writer.emplace(ops[i].new_value, i);
    if (!fresh)
      return fail("not checkable: " + describe(ops, it->second) + " and " + describe(ops, i) +
                  " write the same value");
  }

  // Walk back from the final value to the initial one.
  std::vector<std::size_t> chain;
  std::set<std::size_t> on_chain;
  for (std::string v = final_value; v != initial;) {
    auto it = writer.find(v);
    if (it == writer.end())
      return fail("the final value chain reaches '" + v + "', which no op wrote and is not the "
                  "initial value '" + initial + "'");
    if (!on_chain.insert(it->second).second)
      return fail("the value chain from '" + final_value + "' loops at " + describe(ops, it->second));
    chain.push_back(it->second);
    v = ops[it->second].old_value;
  }
  std::reverse(chain.begin(), chain.end());   // walked final -> initial

  for (std::size_t i : chain)
    if (ops[i].outcome == Outcome::failed)
      return fail("a definitely failed op took effect: " + describe(ops, i), chain);

  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].outcome != Outcome::acked || on_chain.count(i)) continue;
    for (std::size_t j = 0; j < ops.size(); ++j)
      if (j != i && ops[j].outcome == Outcome::acked && ops[j].old_value == ops[i].old_value)
        return fail("two acknowledged ops expected the same old value: " + describe(ops, j) +
                    " and " + describe(ops, i), chain);
    return fail("an acknowledged op is not in the final value's history (lost write): " +
                describe(ops, i), chain);
  }

  // Real time: op k can only follow ops that started before it could have taken effect.
  int64_t latest_start = minus_infinity;
  std::size_t latest_starter = 0;
  for (std::size_t k = 0; k < chain.size(); ++k) {
    const CasOp& op = ops[chain[k]];
    if (k > 0 && effect_deadline(op) < latest_start)
      return fail("real-time order broken: " + describe(ops, chain[k]) + " completed before " +
                  describe(ops, latest_starter) + " started, yet comes after it in the chain",
                  chain);
    if (op.start_us > latest_start) {
      latest_start = op.start_us;
      latest_starter = chain[k];
    }
  }

  // A prerequisite failure needs a moment at which the register held another value.
  std::map<std::string, std::size_t> state_index;   // value -> k: chain state s_k
  state_index[initial] = 0;
  for (std::size_t k = 0; k < chain.size(); ++k) state_index[ops[chain[k]].new_value] = k + 1;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const CasOp& f = ops[i];
    if (f.outcome != Outcome::failed || f.rcode != rcode_nxrrset) continue;
    auto it = state_index.find(f.old_value);
    if (it == state_index.end()) continue;   // that value was never current
    const std::size_t k = it->second;
    const CasOp* producer = k == 0 ? nullptr : &ops[chain[k - 1]];
    const bool produced_before =
        producer == nullptr ||
        (producer->outcome == Outcome::acked && producer->end_us < f.start_us);
    const bool replaced_after = k == chain.size() || ops[chain[k]].start_us > f.end_us;
    if (produced_before && replaced_after)
      return fail("prerequisite failure impossible: '" + f.old_value + "' was the value during all of " +
                  describe(ops, i), chain);
  }

  CasCheck ok;
  ok.ok = true;
  ok.chain = std::move(chain);
  return ok;
}

}  // namespace vrdns::chaos
