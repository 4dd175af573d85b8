// One log line to stderr, written with a single write(2): lines from different threads (the
// connectors of several replicas, the replica, main) never interleave mid-line, which
// `std::cerr << a << b` does not promise. Tests and operators read these lines.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace vrdns::actors {

// Each line starts with the UTC time to the millisecond ("2026-11-27T10:40:01.123Z vrdns: ..."):
// a node's log is read next to its peers' to tell what happened first (which node stalled, which
// connection dropped), and under systemd the journal's own stamp is the time it was read.
inline void log_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 40);
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char stamp[40];
  const int n = std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                              utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                              utc.tm_min, utc.tm_sec, int(now.tv_nsec / 1000000));
  if (n > 0)
    line.append(stamp, std::min(std::size_t(n), sizeof stamp - 1));
  line += "vrdns: ";
  line += text;
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;   // stderr is gone: nothing sensible left to do with a log line
    done += std::size_t(n);
  }
}

}  // namespace vrdns::actors
