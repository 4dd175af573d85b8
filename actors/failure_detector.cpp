#include "actors/failure_detector.hpp"

namespace vrdns::actors {

failure_detector::failure_detector(duration timeout, duration jitter, std::uint64_t seed)
  : timeout_(timeout), jitter_(jitter), rng_(seed) {}

void failure_detector::heard(time_point now) { deadline_ = now + jittered(timeout_); }

failure_detector::duration failure_detector::jittered(duration base) {
  if (jitter_.count() <= 0)
    return base;
  std::uniform_int_distribution<duration::rep> dist(0, jitter_.count() - 1);
  return base + duration(dist(rng_));
}

} // namespace vrdns::actors
