// Registration of every VR message type with CAF (stack-notes §2.2). A type missing here still
// works between local actors but arrives as an empty message on another node, silently.
#pragma once

#include <caf/actor_system_config.hpp>

#include <string>
#include <vector>

namespace vrdns::actors {

// Adds every top-level VR message type (protocol/messages.hpp) to `cfg`.
void add_vr_message_types(caf::actor_system_config& cfg);

// The wire names registered above, for tests that check each one round-trips.
const std::vector<std::string>& vr_message_type_names();

} // namespace vrdns::actors
