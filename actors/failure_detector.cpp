#include "actors/failure_detector.hpp"

namespace vrdns::actors {

std::chrono::steady_clock::duration random_timeout(std::mt19937_64& rng,
                                                   std::chrono::steady_clock::duration base,
                                                   std::chrono::steady_clock::duration jitter) {
  using duration = std::chrono::steady_clock::duration;
  if (jitter.count() <= 0)
    return base;
  std::uniform_int_distribution<duration::rep> dist(0, jitter.count() - 1);
  return base + duration(dist(rng));
}

failure_detector::failure_detector(duration timeout, duration jitter, std::uint64_t seed)
  : timeout_(timeout), jitter_(jitter), rng_(seed) {}

void failure_detector::heard(time_point now) {
  deadline_ = now + random_timeout(rng_, timeout_, jitter_);
}

} // namespace vrdns::actors
