// One log line to stderr, written with a single write(2): lines from different threads (the
// connectors of several replicas, the replica, main) never interleave mid-line, which
// `std::cerr << a << b` does not promise. Tests and operators read these lines.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace vrdns::actors {

inline void log_line(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 8);
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
