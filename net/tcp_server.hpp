// TCP front end (RFC 7766): epoll, non-blocking sockets, 2-byte length framing.
//
// Each worker thread has its own epoll set and its own SO_REUSEPORT listener per address,
// so the kernel spreads accepts. A connection may carry many queries; they are answered in
// order and the answers pipelined. Partial reads and writes are buffered per connection.
// Limits: connections idle longer than `idle_timeout` are closed, except while an UPDATE's
// answer is still to come (a client that half-closed after sending one gets it too); beyond
// `max_connections` (all workers together) new connections are closed at once; a connection
// whose unsent output exceeds `max_buffered_output` is not read until it drains
// (backpressure). A zone transfer's messages are produced one by one under the same
// backpressure (net/transfer_hook.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "net/query_stats.hpp"
#include "net/socket.hpp"
#include "net/state_publisher.hpp"
#include "net/signed_query_hook.hpp"
#include "net/transfer_hook.hpp"
#include "net/update_hook.hpp"

namespace vrdns::net {

struct TcpOptions {
  std::chrono::milliseconds idle_timeout{10000};
  uint32_t max_connections = 1024;
  std::size_t max_buffered_output = 256 * 1024;
  /// AXFR/IXFR (net/transfer_hook.hpp); without one they get the responder's REFUSED.
  TransferHandler transfer_handler;
  /// TSIG-signed queries (net/signed_query_hook.hpp); without one they get unsigned answers.
  SignedQueryHandler signed_query_handler;
  /// Each worker counts what it answers in its own block of it (a new one if null).
  std::shared_ptr<FrontEndStats> stats;
  // DNS cookies come with the serving state (ResponderOptions::cookies), as over UDP.
};

class TcpServer {
 public:
  /// listeners[w] are worker w's listening sockets (open_tcp_listener), one per address.
  TcpServer(std::vector<std::vector<Fd>> listeners, const StatePublisher& publisher,
            TcpOptions options, UpdateHandler update_handler = {});
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  void start();
  /// Idempotent; closes every connection and joins the workers.
  void stop();

  /// Open connections right now, over all workers.
  uint32_t connections() const { return connections_.load(); }

 private:
  class Worker;

  const StatePublisher& publisher_;
  TcpOptions options_;
  UpdateHandler update_handler_;
  Fd stop_event_;   // eventfd, written once by stop(); every worker's epoll watches it
  std::atomic<uint32_t>& connections_;   // options_.stats->tcp_connections
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

}  // namespace vrdns::net
