// How many lines of one kind the operator's log takes: at most `per_window` per `window`, the
// window starting with the first line let through; what is refused meanwhile is counted so the
// next line can say how much was left out. Plain value type, no CAF.
#pragma once

#include <chrono>
#include <cstdint>

namespace vrdns::actors {

struct notice_budget {
  using clock = std::chrono::steady_clock;

  std::uint32_t per_window = 1;
  clock::duration window = std::chrono::seconds(10);
  clock::time_point window_start{};
  std::uint32_t used = 0;       // lines let through in the current window
  std::uint64_t left_out = 0;   // refused since the last line let through

  // True: log the line now (its caller may mention left_out, then clear it).
  bool admit(clock::time_point t) {
    if (used > 0 && t - window_start >= window)
      used = 0;
    if (used >= per_window) {
      ++left_out;
      return false;
    }
    if (used++ == 0)
      window_start = t;
    return true;
  }
};

} // namespace vrdns::actors
