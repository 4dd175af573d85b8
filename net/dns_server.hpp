// The whole DNS front end of one node: UDP and TCP on every listen address, sharing one
// StatePublisher. Construction binds every socket (so a taken port fails right there, with
// the address in the message); start() launches the threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/endpoint.hpp"
#include "net/rate_limiter.hpp"
#include "net/state_publisher.hpp"
#include "net/tcp_server.hpp"
#include "net/udp_server.hpp"
#include "net/update_hook.hpp"

namespace vrdns::net {

struct ServerOptions {
  std::vector<Endpoint> listen;   ///< port 0: the kernel picks one, the same for UDP and TCP
  unsigned udp_workers = 2;       ///< UDP sockets/threads per address
  unsigned tcp_workers = 1;       ///< epoll threads (each with a listener per address)
  TcpOptions tcp;
  std::size_t udp_batch = UdpServer::default_batch;
  int udp_receive_timeout_ms = 100;   ///< how quickly an idle UDP worker notices stop()
  /// TSIG-signed queries over UDP and TCP (net/signed_query_hook.hpp).
  SignedQueryHandler signed_query_handler;
  /// Where the workers count what they answer (net/query_stats.hpp); a new one if null.
  std::shared_ptr<FrontEndStats> stats;
  /// Response rate limiting of UDP answers (net/rate_limiter.hpp); off by default.
  RateLimitOptions rate_limit;
  // DNS cookies over UDP and TCP: the published state's ResponderOptions::cookies.
};

class DnsServer {
 public:
  /// Binds all sockets; throws std::runtime_error ("cannot bind udp 127.0.0.1:53: ...").
  DnsServer(ServerOptions options, dns::ServingStatePtr initial,
            UpdateHandler update_handler = {});
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  void start();
  void stop();   ///< idempotent; joins every thread

  /// New zones / status for all workers; in-flight queries finish on the old state.
  void publish(dns::ServingStatePtr state) { publisher_.publish(std::move(state)); }
  /// Response rate limiting from now on (a config reload): a new limiter, so every bucket
  /// starts full (make_rate_limiter); null turns it off. Any thread; cannot fail.
  void set_rate_limiter(std::shared_ptr<ResponseRateLimiter> limiter);
  const StatePublisher& publisher() const { return publisher_; }

  /// The listen addresses with their actual ports.
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

  uint32_t tcp_connections() const { return tcp_ ? tcp_->connections() : 0; }
  const FrontEndStats& stats() const { return *stats_; }

 private:
  StatePublisher publisher_;
  std::shared_ptr<FrontEndStats> stats_;
  std::vector<Endpoint> endpoints_;
  std::unique_ptr<UdpServer> udp_;
  std::unique_ptr<TcpServer> tcp_;
};

}  // namespace vrdns::net
