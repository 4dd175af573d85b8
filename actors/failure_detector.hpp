// Decides when a backup stops believing in its primary (VR §4.2: "a backup that does not hear
// from the primary in time starts a view change").
//
// Plain value type, no CAF: the state of the failure detector actor
// (actors/failure_detector_actor.hpp), which feeds it the arrival times of the replica's notes and
// asks `expired(now)` on its own timer. The timeout is randomized per arming
// (timeout + uniform[0, jitter)) so that backups rarely time out together and run duelling view
// changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace vrdns::actors {

// A randomized duration in [base, base + jitter): failure detection and view-change timeouts.
std::chrono::steady_clock::duration random_timeout(std::mt19937_64& rng,
                                                   std::chrono::steady_clock::duration base,
                                                   std::chrono::steady_clock::duration jitter);

class failure_detector {
public:
  using clock = std::chrono::steady_clock;
  using duration = clock::duration;
  using time_point = clock::time_point;

  failure_detector() = default;
  failure_detector(duration timeout, duration jitter, std::uint64_t seed);

  // The primary showed a sign of life at `now`: push the deadline out again.
  void heard(time_point now);
  // True once the primary has been silent past the (randomized) deadline.
  bool expired(time_point now) const { return now >= deadline_; }
  time_point deadline() const { return deadline_; }

private:
  duration timeout_{std::chrono::milliseconds(250)};
  duration jitter_{std::chrono::milliseconds(100)};
  time_point deadline_{};
  std::mt19937_64 rng_{0};
};

} // namespace vrdns::actors
