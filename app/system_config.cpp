#include "app/system_config.hpp"

#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <thread>

#include "actors/vr_types.hpp"
#include "app/replication_priority.hpp"

namespace vrdns::app {

NodeSystemConfig::NodeSystemConfig(int replication_nice) {
  load<caf::io::middleman>();
  actors::add_vr_message_types(*this);
  // A silent connection is closed after connection-timeout; the peer connector then sees a
  // down_msg, reconnects and tells the replica (a lost primary link is a doubt, see replica_timers.cpp
  // on_peer_lost). 1 s is well past the failure detector's timeout, which has spoken by then.
  using namespace std::chrono_literals;
  set("middleman.heartbeat-interval", caf::timespan{100ms});
  set("middleman.connection-timeout", caf::timespan{1000ms});
  // Deserialize incoming messages on the multiplexer thread that read them. CAF's default hands
  // each one to a BASP worker job on the scheduler, which lands round-robin on a worker that may
  // be busy for a millisecond (a backup's worker blocks in its inline fsync) while the other
  // sleeps. Measured with per-message timestamps under an UPDATE load: a Prepare's hop from
  // the primary to a backup 0.87-0.98 ms median instead of 0.98-1.36, a PrepareOk's 0.44-0.53
  // instead of 0.48-0.66 ms (5 alternating pairs; docs/pitfalls.md, session 10).
  set("middleman.workers", size_t{0});
  // An idle worker spins through 100 aggressive polls, then 500 polls 50 us apart (25 ms), before
  // it sleeps on its condition variable (which an enqueue wakes, so sleeping costs little
  // latency). Each 50 us nap is a wake-up and a context switch; under an UPDATE load every
  // message makes a worker idle again, so the naps cost more CPU than the work they wait for:
  // with 10 moderate polls the cluster spent 159-168 us of CPU per UPDATE and took 7.7-8.4k/s,
  // with 1: 135-141 us and 9.3-9.8k/s, and one-at-a-time latency fell by ~0.2 ms (fewer
  // threads in the run queue). 0 measured the same as 1. Fewer aggressive polls (10) did not help.
  set("work-stealing.moderate-poll-attempts", size_t{1});
  // CAF's default is max(cores, 4) workers; beyond the core count they only add context
  // switches, and the DNS front end has threads of its own.
  set("scheduler.max-threads", size_t{std::max(2u, std::thread::hardware_concurrency())});
  if (replication_nice > 0)
    add_thread_hook<ReplicationPriority>(replication_nice);
}

}  // namespace vrdns::app
