// The three servers under comparison, each started from a minimal generated configuration
// in a private temporary directory, listening on 127.0.0.1 only, and awaited by its own
// "ready" log line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tests/diff/server_process.hpp"

namespace vrdns::difftest {

struct ServedZone {
  std::string name;   ///< "example.test."
  std::string file;   ///< absolute path
};

struct Server {
  std::string name;
  uint16_t port = 0;
  std::unique_ptr<ServerProcess> process;
};

/// Each throws std::runtime_error (with the server's log) if the server does not come up.
Server start_nsd(const std::string& binary, const std::string& dir, const ServedZone& zone);
Server start_knot(const std::string& binary, const std::string& dir, const ServedZone& zone);
Server start_vrdns(const std::string& binary, const std::string& dir, const ServedZone& zone);

}  // namespace vrdns::difftest
