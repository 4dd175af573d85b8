// The replicated service: the state machine VR keeps identical on every replica.
//
// Must be deterministic: the same sequence of execute() calls yields the same results and the same
// snapshot() on every replica, whatever the machine or the time. Ops and results are opaque bytes.
#pragma once

#include <string>

namespace vrdns::protocol {

class service {
public:
  virtual ~service() = default;
  // Applies one committed operation and returns the result sent back to the client.
  virtual std::string execute(const std::string& op) = 0;
  // Whole state as bytes (for checkpoints / state transfer of the service state).
  virtual std::string snapshot() const = 0;
  // Replaces the whole state by one produced by snapshot().
  virtual void restore(const std::string& snapshot) = 0;
};

} // namespace vrdns::protocol
