// Decides when a backup stops believing in its primary (VR §4.2: "a backup that does not hear
// from the primary in time starts a view change").
//
// Plain value type, no CAF: the replica feeds it the arrival times of Prepare/Commit/StartView from
// the primary of its view and asks `expired(now)` on every tick. The timeout is randomized per
// arming (timeout + uniform[0, jitter)) so that backups rarely time out together and run duelling
// view changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace vrdns::actors {

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
  // A randomized duration in [base, base + jitter): also used for view-change timeouts.
  duration jittered(duration base);

private:
  duration timeout_{std::chrono::milliseconds(250)};
  duration jitter_{std::chrono::milliseconds(100)};
  time_point deadline_{};
  std::mt19937_64 rng_{0};
};

} // namespace vrdns::actors
