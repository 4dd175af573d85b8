#include "net/dns_server.hpp"

#include <cerrno>
#include <stdexcept>

namespace vrdns::net {

namespace {

struct Bound {
  Endpoint endpoint;
  std::vector<Fd> udp;
  std::vector<Fd> tcp;
};

Bound bind_all(const Endpoint& ep, const ServerOptions& o) {
  Bound b{ep, {}, {}};
  b.tcp.push_back(open_tcp_listener(ep));
  b.endpoint.port = bound_port(b.tcp.front().get());   // resolves port 0
  for (unsigned i = 1; i < o.tcp_workers; ++i) b.tcp.push_back(open_tcp_listener(b.endpoint));
  for (unsigned i = 0; i < o.udp_workers; ++i)
    b.udp.push_back(open_udp_socket(b.endpoint, o.udp_receive_timeout_ms));
  return b;
}

}  // namespace

DnsServer::DnsServer(ServerOptions o, dns::ServingStatePtr initial, UpdateHandler update_handler)
    : publisher_(std::move(initial)),
      stats_(o.stats ? o.stats : std::make_shared<FrontEndStats>()) {
  if (o.listen.empty()) throw std::invalid_argument("DnsServer: no listen address");
  if (o.udp_workers == 0 || o.tcp_workers == 0)
    throw std::invalid_argument("DnsServer: need at least one UDP and one TCP worker");
  std::vector<Fd> udp;
  std::vector<std::vector<Fd>> tcp(o.tcp_workers);
  for (const Endpoint& ep : o.listen) {
    Bound b;
    // For port 0 the kernel picked the TCP port; the same UDP port may be taken by someone
    // else. Then try another pick (bounded), so UDP and TCP always share one port number.
    for (int attempt = 0;; ++attempt) {
      try {
        b = bind_all(ep, o);
        break;
      } catch (const std::runtime_error&) {
        if (ep.port != 0 || attempt == 20) throw;
      }
    }
    endpoints_.push_back(b.endpoint);
    for (auto& s : b.udp) udp.push_back(std::move(s));
    for (unsigned w = 0; w < o.tcp_workers; ++w) tcp[w].push_back(std::move(b.tcp[w]));
  }
  std::shared_ptr<ResponseRateLimiter> limiter = make_rate_limiter(o.rate_limit);
  udp_ = std::make_unique<UdpServer>(std::move(udp), publisher_, update_handler, o.udp_batch,
                                     o.signed_query_handler, stats_, std::move(limiter));
  o.tcp.signed_query_handler = o.signed_query_handler;
  o.tcp.stats = stats_;
  tcp_ = std::make_unique<TcpServer>(std::move(tcp), publisher_, o.tcp, update_handler);
}

DnsServer::~DnsServer() { stop(); }

void DnsServer::set_rate_limiter(std::shared_ptr<ResponseRateLimiter> limiter) {
  udp_->set_limiter(std::move(limiter));
}

void DnsServer::start() {
  udp_->start();
  tcp_->start();
}

void DnsServer::stop() {
  if (udp_) udp_->stop();
  if (tcp_) tcp_->stop();
}

}  // namespace vrdns::net
