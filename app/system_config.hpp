// The CAF actor_system configuration of a node: BASP networking (the middleman), every VR
// message type registered, and middleman heartbeats so a frozen peer's connection is dropped
// (by default CAF 0.17 never notices one: stack-notes §3), and CAF's threads `replication_nice`
// steps nicer than the creating thread (app/replication_priority.hpp; 0 leaves them alone).
// Must outlive its actor_system.
#pragma once

#include <caf/actor_system_config.hpp>

namespace vrdns::app {

class NodeSystemConfig : public caf::actor_system_config {
 public:
  explicit NodeSystemConfig(int replication_nice = 0);
};

}  // namespace vrdns::app
