// Linearizability of a compare-and-set register history, as the chaos test produces it.
//
// Every CAS op carries the value it expects (old) and a value no other op writes (new). Since
// written values are unique, the register's whole past can be read backwards from its final
// value: the op that wrote the final value, the op that wrote that op's old value, ... down to
// the initial value. That chain is the only possible sequence of effective ops, so checking
// the history means checking the chain:
//   - it must lead back from the final value to the initial value;
//   - every acknowledged op must be on it (it took effect, and every later write starts from
//     the value it wrote), so two acknowledged ops with the same old value are a violation;
//   - no definitely failed op may be on it;
//   - its order must respect real time: if op B completed before op A started, A cannot
//     come before B. An op with an unknown outcome may take effect any time after it started
//     (a retransmission can still commit it later), so its end counts as +infinity;
//   - a definite NXRRSET (prerequisite not met) must have had a moment where the register
//     could hold another value: if the op that wrote its old value completed before it
//     started, and the op that replaced that value started after it ended, the prerequisite
//     held throughout and the failure is a violation.
// Unknown ops may be on the chain or not. The checker is pure (no I/O), so it is unit-tested
// on hand-made histories (tests/chaos/test_cas_checker.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/outcome.hpp"

namespace vrdns::chaos {

struct CasOp {
  int client = 0;
  std::string old_value;
  std::string new_value;   ///< unique over the history, never the initial value
  Outcome outcome = Outcome::unknown;
  int rcode = -1;          ///< for failed ops: 8 (NXRRSET) means "prerequisite did not hold"
  int64_t start_us = 0;    ///< before the first send
  int64_t end_us = 0;      ///< after the deciding reply (or the last timeout)
};

struct CasCheck {
  bool ok = false;
  std::string message;             ///< the first violation found, precise enough to debug
  std::vector<std::size_t> chain;  ///< indices into the history, initial -> final
};

CasCheck check_cas_history(const std::string& initial, const std::string& final_value,
                           const std::vector<CasOp>& ops);

/// One line describing op `i` of `ops`, for messages.
std::string describe(const std::vector<CasOp>& ops, std::size_t i);

}  // namespace vrdns::chaos
