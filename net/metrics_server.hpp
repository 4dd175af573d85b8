// The statistics endpoint: a minimal HTTP/1.1 server for GET /metrics (Prometheus text
// exposition format, or anything else the node's render function returns).
//
// One thread, one connection at a time: a scraper asks every few seconds, and a node must not
// spend threads on it. So that a stuck or hostile client cannot hold it, a connection gets
// `io_timeout` to send its request head (at most max_request_bytes) and again to take the
// answer; then it is closed. Every answer closes its connection (no keep-alive).
//
//   GET or HEAD /metrics  200, the render function's text (500 if it throws)
//   another path          404
//   another method        405 (Allow: GET, HEAD)
//   a malformed request   400; a head over max_request_bytes: 431
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "net/endpoint.hpp"
#include "net/socket.hpp"

namespace vrdns::net {

class MetricsServer {
 public:
  /// Called on the server's thread for each GET /metrics; must not block for long.
  using Render = std::function<std::string()>;

  static constexpr std::size_t max_request_bytes = 8192;

  /// Binds `listen` (port 0: the kernel picks one), without SO_REUSEPORT so that a port in use
  /// fails here. Throws std::runtime_error "cannot bind stats <addr>: <reason>".
  MetricsServer(const Endpoint& listen, Render render,
                std::chrono::milliseconds io_timeout = std::chrono::milliseconds(2000));
  ~MetricsServer();   // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void start();
  /// Idempotent; returns once the thread has exited (at most io_timeout after the call).
  void stop();

  /// The bound address, port resolved.
  const Endpoint& endpoint() const { return endpoint_; }
  /// Connections accepted so far (tests wait for one).
  uint64_t accepted() const { return accepted_.load(); }

 private:
  void run();
  void serve(int fd);

  Endpoint endpoint_;
  Render render_;
  std::chrono::milliseconds io_timeout_;
  Fd listener_;
  Fd stop_event_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> accepted_{0};
};

/// The answer to one HTTP request head (`head` holds everything up to and including the
/// blank line). Pure, for tests: status line, headers and body, ready to send.
std::string metrics_http_answer(const std::string& head, const MetricsServer::Render& render);

}  // namespace vrdns::net
