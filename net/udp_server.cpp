#include "net/udp_server.hpp"

#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "net/cookie_address.hpp"

#include <cassert>
#include <cerrno>

namespace vrdns::net {

namespace {
// A UDP payload is at most 65507 bytes (IPv4); dns::answer wants max_message_size anyway.
constexpr std::size_t slot_size = dns::max_message_size;

/// The rate limiter's verdict (net/rate_limiter.hpp) on the answer in reply[0, length) to
/// `client`: answers are charged by qname and qtype; NXDOMAIN, empty and wildcard answers by
/// the zone's apex (so that random names under one zone share a bucket); errors by the client's
/// network.
RateDecision rate_limit(ResponseRateLimiter& limiter, const dns::ServingState& state,
                        const sockaddr_storage& client, const uint8_t* reply, std::size_t length,
                        const dns::AnswerResult& r, uint32_t now) {
  if (length < dns::header_size)
    return limiter.decide(client, ResponseKind::error, nullptr, 0, now);
  const uint16_t rcode = r.rcode;
  uint8_t key[dns::max_name_length + 2];
  std::size_t key_length = 0;
  const uint16_t qdcount = uint16_t(reply[4] << 8 | reply[5]);
  const uint16_t ancount = uint16_t(reply[6] << 8 | reply[7]);
  std::size_t qname_length = 0;
  if (qdcount == 1)
    qname_length = dns::name_wire_length(reply + dns::header_size, length - dns::header_size);
  if (qname_length == 0 || length - dns::header_size - qname_length < 4 ||
      (rcode != dns::rcode::NOERROR && rcode != dns::rcode::NXDOMAIN))
    return limiter.decide(client, ResponseKind::error, nullptr, 0, now);
  dns::name_fold(reply + dns::header_size, qname_length, key);
  // Answers synthesized from a wildcard are charged to the zone like NXDOMAIN: each random
  // name under it would otherwise have a bucket of its own.
  if (rcode == dns::rcode::NOERROR && ancount > 0 && !r.wildcard) {
    // The qtype too: A and AAAA of one name are two answers.
    key[qname_length] = reply[dns::header_size + qname_length];
    key[qname_length + 1] = reply[dns::header_size + qname_length + 1];
    key_length = qname_length + 2;
    return limiter.decide(client, ResponseKind::answer, key, key_length, now);
  }
  const std::string_view qkey(reinterpret_cast<const char*>(key), qname_length);
  const dns::Zone* zone = state.zones ? state.zones->find_zone(qkey) : nullptr;
  const auto kind = rcode == dns::rcode::NXDOMAIN ? ResponseKind::nxdomain
                    : ancount > 0                    ? ResponseKind::wildcard
                                                     : ResponseKind::nodata;
  if (!zone) return limiter.decide(client, kind, key, qname_length, now);
  const std::string& apex = zone->apex_key();
  return limiter.decide(client, kind, reinterpret_cast<const uint8_t*>(apex.data()), apex.size(),
                        now);
}

}  // namespace

/// Everything one thread needs, allocated once at construction.
struct UdpServer::Worker {
  std::shared_ptr<Fd> socket;   // shared with pending update replies, which may outlive us
  std::thread thread;
  std::vector<uint8_t> rx, tx;
  std::vector<mmsghdr> rx_msgs, tx_msgs;
  std::vector<iovec> rx_iov, tx_iov;
  std::vector<sockaddr_storage> peers;
  QueryCounters& counters;   // this thread's alone (net/query_stats.hpp)
  std::shared_ptr<ResponseRateLimiter> limiter;   // this thread's copy of UdpServer::limiter_
  uint64_t limiter_generation = 0;                // of that copy

  Worker(Fd fd, std::size_t batch, QueryCounters& c)
      : socket(std::make_shared<Fd>(std::move(fd))),
        rx(batch * slot_size),
        tx(batch * slot_size),
        rx_msgs(batch),
        tx_msgs(batch),
        rx_iov(batch),
        tx_iov(batch),
        peers(batch),
        counters(c) {}
};

UdpServer::UdpServer(std::vector<Fd> sockets, const StatePublisher& publisher,
                     UpdateHandler update_handler, std::size_t batch,
                     SignedQueryHandler signed_query_handler,
                     std::shared_ptr<FrontEndStats> stats,
                     std::shared_ptr<ResponseRateLimiter> limiter)
    : publisher_(publisher),
      limiter_(std::move(limiter)),
      stats_(stats ? std::move(stats) : std::make_shared<FrontEndStats>()),
      update_handler_(std::move(update_handler)),
      signed_query_handler_(std::move(signed_query_handler)),
      batch_(batch) {
  assert(batch_ > 0);
  if (limiter_ && !limiter_->enabled()) limiter_.reset();   // the loop tests the pointer alone
  for (auto& s : sockets)
    workers_.push_back(std::make_unique<Worker>(std::move(s), batch_,
                                                stats_->add_worker(dns::Transport::udp)));
}

UdpServer::~UdpServer() { stop(); }

void UdpServer::set_limiter(std::shared_ptr<ResponseRateLimiter> limiter) {
  if (limiter && !limiter->enabled()) limiter.reset();
  std::lock_guard<std::mutex> lock(limiter_mutex_);
  limiter_ = std::move(limiter);
  limiter_generation_.fetch_add(1, std::memory_order_release);
}

void UdpServer::start() {
  assert(!started_);
  started_ = true;
  for (auto& w : workers_) w->thread = std::thread([this, &w = *w] { run(w); });
}

void UdpServer::stop() {
  stopping_.store(true);
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

void UdpServer::take_new_limiter(Worker& w) {
  if (limiter_generation_.load(std::memory_order_acquire) == w.limiter_generation) return;
  // A reload replaced the limiter (rare).
  std::lock_guard<std::mutex> lock(limiter_mutex_);
  w.limiter = limiter_;
  w.limiter_generation = limiter_generation_.load(std::memory_order_relaxed);
}

void UdpServer::run(Worker& w) {
  StateReader reader(publisher_);
  {
    std::lock_guard<std::mutex> lock(limiter_mutex_);
    w.limiter = limiter_;
    w.limiter_generation = limiter_generation_.load(std::memory_order_relaxed);
  }
  const int fd = w.socket->get();
  while (!stopping_.load(std::memory_order_relaxed)) {
    // Before waiting too: an idle worker must not keep a replaced limiter (and its table)
    // alive until its next datagram.
    take_new_limiter(w);
    for (std::size_t i = 0; i < batch_; ++i) {
      // recvmmsg overwrites msg_namelen and msg_flags: reset them every round.
      w.rx_iov[i] = {w.rx.data() + i * slot_size, slot_size};
      auto& h = w.rx_msgs[i].msg_hdr;
      h = {};
      h.msg_name = &w.peers[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &w.rx_iov[i];
      h.msg_iovlen = 1;
    }
    // MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram, then take whatever
    // else is already queued without waiting.
    int n = recvmmsg(fd, w.rx_msgs.data(), unsigned(batch_), MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;   // timeout (EAGAIN) or EINTR: re-check stopping_
    w.counters.received.add(unsigned(n));

    const dns::ServingState& state = reader.refresh();
    take_new_limiter(w);   // so that a datagram after set_limiter returned meets the new one
    ResponseRateLimiter* const limiter = w.limiter.get();
    const uint32_t now = limiter ? limiter->now() : 0;   // per batch
    dns::CookieContext cookie_context;
    cookie_context.secrets = state.options.cookies.get();   // the state's: a reload swaps them
    if (cookie_context.secrets) cookie_context.now = cookie_now();   // per batch too
    const dns::CookieContext* cookies = cookie_context.secrets ? &cookie_context : nullptr;
    std::size_t out = 0;
    for (int i = 0; i < n; ++i) {
      const auto& in = w.rx_msgs[std::size_t(i)];
      if (in.msg_hdr.msg_flags & MSG_TRUNC) {   // larger than any DNS message: drop
        w.counters.dropped.add();
        continue;
      }
      uint8_t* reply = w.tx.data() + out * slot_size;
      const uint8_t* query = w.rx.data() + std::size_t(i) * slot_size;
      if (cookies) cookie_context.client = cookie_address(w.peers[std::size_t(i)]);
      dns::AnswerResult r = dns::answer(state, query, in.msg_len, dns::Transport::udp, reply,
                                        slot_size, 0, cookies);
      w.counters.count_request(r);
      if (r.what == dns::Disposition::drop) continue;
      w.counters.count_zone(state, r);
      assert(r.length <= slot_size);
      if (r.what == dns::Disposition::update && update_handler_) {
        UpdateRequest req;
        req.message.assign(query, query + in.msg_len);
        req.transport = dns::Transport::udp;
        req.peer = w.peers[std::size_t(i)];
        req.peer_length = in.msg_hdr.msg_namelen;
        take_edns_from_fallback(req, reply, r);
        req.reply = [sock = w.socket, peer = req.peer, len = req.peer_length](
                        const uint8_t* data, std::size_t length) {
          // UDP sendto on a shared socket is thread-safe; the Fd stays open while we hold it.
          ::sendto(sock->get(), data, length, 0, reinterpret_cast<const sockaddr*>(&peer), len);
        };
        update_handler_(std::move(req));
        continue;
      }
      if (r.what == dns::Disposition::signed_query && signed_query_handler_) {
        r.length = signed_query_handler_(query, in.msg_len, dns::Transport::udp, state, reply,
                                         slot_size, cookies);
        w.counters.signed_queries.add();
        if (r.length == 0) continue;
        r.rcode = rcode_after_hook(r.rcode, reply);
        r.opt_at = r.cookie_at = 0;   // the hook wrote a reply of its own layout
      }
      // Signed queries that verified come from keyholders (secondaries), and a truncated
      // answer would lose its TSIG: they are not limited. A forged signature's NOTAUTH is.
      // Neither is a client whose server cookie proves it receives our answers at its address.
      const bool keyholder = r.what == dns::Disposition::signed_query && signed_query_handler_ &&
                             (r.rcode == dns::rcode::NOERROR || r.rcode == dns::rcode::NXDOMAIN);
      if (limiter && !keyholder && r.cookie != dns::CookieVerdict::valid) {
        switch (rate_limit(*limiter, state, w.peers[std::size_t(i)], reply, r.length, r, now)) {
          case RateDecision::send:
            break;
          case RateDecision::drop:
            w.counters.rate_limited_dropped.add();
            continue;
          case RateDecision::slip:
            w.counters.rate_limited_slipped.add();
            if (r.cookie_at != 0) {   // it sent a cookie: tell it ours rather than go to TCP
              r.length = badcookie_to_question(reply, r.length, r.opt_at, r.cookie_at);
              if (r.length == 0) continue;
              r.rcode = dns::rcode::BADCOOKIE;
              break;
            }
            r.length = truncate_to_question(reply, r.length);
            if (r.length == 0) continue;
            w.counters.truncated.add();
            break;
        }
      }
      w.counters.count_answer(r.rcode);
      w.tx_iov[out] = {reply, r.length};
      auto& h = w.tx_msgs[out].msg_hdr;
      h = {};
      h.msg_name = &w.peers[std::size_t(i)];
      h.msg_namelen = in.msg_hdr.msg_namelen;
      h.msg_iov = &w.tx_iov[out];
      h.msg_iovlen = 1;
      ++out;
    }

    std::size_t sent = 0;
    while (sent < out) {
      int k = sendmmsg(fd, w.tx_msgs.data() + sent, unsigned(out - sent), 0);
      if (k > 0) {
        sent += std::size_t(k);
      } else if (errno != EINTR) {
        ++sent;   // this datagram cannot be sent (e.g. unreachable peer): skip it
      }
    }
  }
}

}  // namespace vrdns::net
