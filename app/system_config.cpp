#include "app/system_config.hpp"

#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <thread>

#include "actors/vr_types.hpp"

namespace vrdns::app {

NodeSystemConfig::NodeSystemConfig() {
  load<caf::io::middleman>();
  actors::add_vr_message_types(*this);
  // A silent connection is closed after connection-timeout; the peer connector then sees a
  // down_msg and reconnects. (VR's own failure detector, not this, drives view changes.)
  using namespace std::chrono_literals;
  set("middleman.heartbeat-interval", caf::timespan{100ms});
  set("middleman.connection-timeout", caf::timespan{1000ms});
  // An idle worker spins through 500 polls 50 us apart (25 ms) before it sleeps on its condition
  // variable (which an enqueue wakes, so sleeping costs no latency). The replica and client
  // timers tick every 10 ms, so with the default an idle node never sleeps and burns a core.
  set("work-stealing.moderate-poll-attempts", size_t{10});
  // CAF's default is max(cores, 4) workers; beyond the core count they only add context
  // switches, and the DNS front end has threads of its own.
  set("scheduler.max-threads", size_t{std::max(2u, std::thread::hardware_concurrency())});
}

}  // namespace vrdns::app
