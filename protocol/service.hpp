// The replicated service: the state machine VR keeps identical on every replica.
//
// Must be deterministic: the same sequence of execute() calls yields the same results and the same
// checkpoint parts on every replica, whatever the machine or the time. Ops and results are opaque
// bytes.
#pragma once

#include "protocol/checkpoint.hpp"

#include <memory>
#include <string>
#include <vector>

namespace vrdns::protocol {

// An immutable copy of a service's state at one point of the log. Taking it must be cheap (it
// happens on the replica's thread); turning it into parts may be slow and runs on another
// thread, concurrently with later execute() calls on the live service.
class frozen_service {
public:
  virtual ~frozen_service() = default;
  // The state as named parts (protocol/checkpoint.hpp: valid_part_name, never
  // client_table_part). The same state always gives the same parts, byte for byte.
  virtual std::vector<snapshot_part> parts() const = 0;
};

class service {
public:
  virtual ~service() = default;
  // Applies one committed operation and returns the result sent back to the client.
  virtual std::string execute(const std::string& op) = 0;
  // The state now, for a checkpoint (see frozen_service).
  virtual std::shared_ptr<const frozen_service> freeze() const = 0;
  // Replaces the whole state by the one `parts` describe (as produced by parts()). Throws
  // std::invalid_argument, leaving the state untouched, if they are malformed.
  virtual void restore(const std::vector<snapshot_part>& parts) = 0;
};

} // namespace vrdns::protocol
