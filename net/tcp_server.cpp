#include "net/tcp_server.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "net/cookie_address.hpp"

namespace vrdns::net {

namespace {

using Clock = std::chrono::steady_clock;

// epoll tags: listeners use their index; connections use ids from first_connection_id up.
constexpr uint64_t stop_tag = uint64_t(1) << 62;
constexpr uint64_t async_tag = stop_tag + 1;
constexpr uint64_t first_connection_id = uint64_t(1) << 32;

constexpr std::size_t read_chunk = 64 * 1024;
constexpr int max_events = 64;
constexpr int epoll_timeout_ms = 100;   // bounds how late an idle connection is noticed
// How long a connection waiting for UPDATE answers, or whose client does not read the zone
// transfer it asked for, may stay idle (see sweep_idle).
constexpr std::chrono::seconds update_answer_limit{60};
// At most this many transfer messages per wake-up of a connection: a client that reads at line
// rate must not keep the worker from its other connections for a whole zone.
constexpr std::size_t transfer_messages_per_turn = 32;

Fd make_eventfd() {
  Fd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) throw std::runtime_error("eventfd failed");
  return fd;
}

void append_frame(std::string& out, const uint8_t* data, std::size_t length) {
  assert(length <= 0xffff);
  out += char(length >> 8);
  out += char(length & 0xff);
  out.append(reinterpret_cast<const char*>(data), length);
}

}  // namespace

/// Replies handed back by the update path, from any thread. Shared with the reply closures
/// so that a late reply after the worker is gone writes to a live (ignored) eventfd.
struct AsyncReplies {
  std::mutex mutex;
  std::vector<std::pair<uint64_t, std::string>> queue;   // (connection id, message)
  Fd event = make_eventfd();

  void push(uint64_t connection, const uint8_t* data, std::size_t length) {
    {
      std::lock_guard lock(mutex);
      queue.emplace_back(connection, std::string(reinterpret_cast<const char*>(data), length));
    }
    uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(event.get(), &one, sizeof one);
  }
};

class TcpServer::Worker {
 public:
  Worker(TcpServer& server, std::vector<Fd> listeners)
      : server_(server),
        listeners_(std::move(listeners)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)),
        async_(std::make_shared<AsyncReplies>()),
        scratch_(read_chunk),
        answer_(dns::max_message_size),
        reader_(server.publisher_),
        counters_(server.options_.stats->add_worker(dns::Transport::tcp)) {
    if (!epoll_) throw std::runtime_error("epoll_create1 failed");
    bool ok = watch(server_.stop_event_.get(), stop_tag, EPOLLIN) &&
              watch(async_->event.get(), async_tag, EPOLLIN);
    for (std::size_t i = 0; i < listeners_.size(); ++i)
      ok = ok && watch(listeners_[i].get(), i, EPOLLIN);
    if (!ok) throw std::runtime_error("epoll_ctl ADD failed");
  }

  void run() {
    epoll_event events[max_events];
    auto last_sweep = Clock::now();
    bool stopping = false;
    while (!stopping) {
      int n = ::epoll_wait(epoll_.get(), events, max_events, epoll_timeout_ms);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == stop_tag) {
          stopping = true;
        } else if (tag == async_tag) {
          drain_async();
        } else if (tag < listeners_.size()) {
          accept_all(listeners_[tag].get());
        } else {
          auto it = connections_.find(tag);
          if (it != connections_.end()) handle(it->second, events[i].events);
        }
      }
      auto now = Clock::now();
      if (now - last_sweep >= std::chrono::milliseconds(epoll_timeout_ms / 2)) {
        sweep_idle(now);
        last_sweep = now;
      }
    }
    server_.connections_.fetch_sub(uint32_t(connections_.size()));
    connections_.clear();
  }

 private:
  struct Connection {
    uint64_t id = 0;
    Fd fd;
    dns::ClientAddress client;   // for DNS cookies
    std::string in;          // received, not yet answered (at most one partial frame
                             // unless paused by backpressure)
    std::string out;         // answers not yet written; out[0, out_sent) already sent
    std::size_t out_sent = 0;
    Clock::time_point last_activity;
    uint32_t interest = 0;   // current epoll events
    bool peer_closed = false;
    // UPDATEs handed off whose answers have not come back (drain_async). The connection stays
    // open for them even when the client half-closed or went idle: the answer to a committed
    // UPDATE must not be dropped.
    uint32_t updates_pending = 0;
    // A zone transfer being sent: frames after it wait in `in` until its last message is out,
    // and UPDATE answers that come back meanwhile wait here (a client reading a transfer
    // expects its messages in one run, RFC 5936 §2.2).
    std::unique_ptr<OutgoingTransfer> transfer;
    std::vector<std::string> held_answers;
    bool transfer_failed = false;   // cut short: close once what was queued is out

    std::size_t pending() const { return out.size() - out_sent; }
  };

  bool watch(int fd, uint64_t tag, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  }

  void accept_all(int listener) {
    for (;;) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;   // EAGAIN: drained. EMFILE & co.: retried on the next wake-up.
      }
      if (server_.connections_.fetch_add(1) >= server_.options_.max_connections) {
        server_.connections_.fetch_sub(1);
        ::close(fd);   // over the limit: refuse by closing at once (RFC 7766 §6.2.2)
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   // answers are small
      uint64_t id = next_id_++;
      Connection& c = connections_[id];
      c.id = id;
      c.fd = Fd(fd);
      c.client = cookie_address(peer);
      c.last_activity = Clock::now();
      c.interest = EPOLLIN;
      if (!watch(fd, id, EPOLLIN)) close(c);   // out of kernel memory: drop this client
    }
  }

  bool paused(const Connection& c) const {
    return c.pending() >= server_.options_.max_buffered_output;
  }

  void handle(Connection& c, uint32_t events) {
    if (events & EPOLLERR) return close(c);
    if ((events & (EPOLLIN | EPOLLHUP)) && !c.peer_closed && !read_some(c))
      return close(c);
    // Writable again: send, then answer the frames that waited for output to drain.
    if (!pump(c)) return close(c);
    settle(c);
  }

  /// Answers buffered frames and writes the answers, until nothing complete is left or the
  /// socket is full with `max_buffered_output` still queued (then EPOLLOUT resumes us).
  /// False on a fatal write error.
  bool pump(Connection& c) {
    std::size_t transfer_messages = 0;
    for (;;) {
      const std::size_t before = c.in.size();
      const std::size_t produced = process(c);   // a transfer's messages are progress too
      transfer_messages += produced;
      if (!flush(c)) return false;
      if (c.transfer_failed) return c.pending() > 0;   // send what was queued, then close
      if (paused(c)) return true;
      // Other connections' turn: EPOLLOUT (settle) brings this transfer back.
      if (c.transfer && transfer_messages >= transfer_messages_per_turn) return true;
      // The flush made room: a transfer in progress produces more (or ends) next round.
      if (c.in.size() == before && produced == 0 && !c.transfer) return true;
    }
  }

  /// Queues the transfer's next messages until backpressure applies, the turn's budget is
  /// spent or it ends; returns how many it queued. At its end, the UPDATE answers held back
  /// meanwhile follow.
  std::size_t continue_transfer(Connection& c) {
    std::size_t produced = 0;
    while (c.transfer && !paused(c) && produced < transfer_messages_per_turn) {
      if (!c.transfer->next(transfer_message_)) {
        c.transfer_failed = c.transfer->failed();
        c.transfer.reset();
        for (const auto& a : c.held_answers)
          append_frame(c.out, reinterpret_cast<const uint8_t*>(a.data()), a.size());
        c.held_answers.clear();
        break;
      }
      append_frame(c.out, transfer_message_.data(), transfer_message_.size());
      ++produced;
    }
    return produced;
  }

  /// Reads until the socket is empty or backpressure applies. False on a fatal error.
  bool read_some(Connection& c) {
    while (!paused(c)) {
      ssize_t k = ::read(c.fd.get(), scratch_.data(), scratch_.size());
      if (k > 0) {
        c.in.append(reinterpret_cast<const char*>(scratch_.data()), std::size_t(k));
        c.last_activity = Clock::now();
        if (!pump(c)) return false;
      } else if (k == 0) {
        c.peer_closed = true;   // answer what is complete, then close
        return true;
      } else if (errno == EINTR) {
        continue;
      } else {
        return errno == EAGAIN || errno == EWOULDBLOCK;
      }
    }
    return true;
  }

  /// Answers every complete frame in c.in, in order, until backpressure applies or a zone
  /// transfer starts (the frames after it wait for its end). Returns how many transfer
  /// messages were queued.
  std::size_t process(Connection& c) {
    std::size_t produced = continue_transfer(c);
    if (c.transfer_failed) return produced;
    // Checked per batch of frames, not per epoll wake-up: read_some() keeps reading while the
    // peer keeps sending, and a query that arrives after a publish must see the new state.
    const dns::ServingState& state = reader_.refresh();
    dns::CookieContext cookie_context;
    cookie_context.secrets = state.options.cookies.get();
    cookie_context.client = c.client;
    if (cookie_context.secrets) cookie_context.now = cookie_now();
    const dns::CookieContext* cookies = cookie_context.secrets ? &cookie_context : nullptr;
    std::size_t off = 0;
    const auto* in = reinterpret_cast<const uint8_t*>(c.in.data());
    while (!c.transfer && !c.transfer_failed && !paused(c) && c.in.size() - off >= 2) {
      std::size_t length = (std::size_t(in[off]) << 8) | in[off + 1];
      if (c.in.size() - off - 2 < length) break;   // partial frame: wait for more
      const uint8_t* query = in + off + 2;
      off += 2 + length;
      counters_.received.add();
      dns::AnswerResult r = dns::answer(state, query, length, dns::Transport::tcp,
                                        answer_.data(), answer_.size(), 0, cookies);
      counters_.count_request(r);
      if (r.what == dns::Disposition::drop) continue;
      counters_.count_zone(state, r);
      if (r.what == dns::Disposition::update && server_.update_handler_) {
        ++c.updates_pending;
        hand_off_update(c, query, length, r);
        continue;
      }
      if (r.what == dns::Disposition::transfer && server_.options_.transfer_handler) {
        c.transfer = start_transfer(c, state, query, length);
        if (c.transfer) {
          counters_.transfers.add();
          produced += continue_transfer(c);
          continue;
        }
      }
      if (r.what == dns::Disposition::signed_query && server_.options_.signed_query_handler) {
        r.length = server_.options_.signed_query_handler(query, length, dns::Transport::tcp, state,
                                                         answer_.data(), answer_.size(), cookies);
        counters_.signed_queries.add();
        if (r.length == 0) continue;
        r.rcode = rcode_after_hook(r.rcode, answer_.data());
      }
      counters_.count_answer(r.rcode);
      append_frame(c.out, answer_.data(), r.length);
    }
    c.in.erase(0, off);
    return produced;
  }

  std::unique_ptr<OutgoingTransfer> start_transfer(const Connection& c,
                                                   const dns::ServingState& state,
                                                   const uint8_t* query, std::size_t length) {
    TransferRequest req;
    req.message = query;
    req.length = length;
    req.peer_length = sizeof req.peer;
    ::getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&req.peer), &req.peer_length);
    req.state = &state;
    return server_.options_.transfer_handler(req);
  }

  /// `fallback` is the responder's result for the query, whose reply is in answer_.
  void hand_off_update(const Connection& c, const uint8_t* query, std::size_t length,
                       const dns::AnswerResult& fallback) {
    UpdateRequest req;
    req.message.assign(query, query + length);
    req.transport = dns::Transport::tcp;
    take_edns_from_fallback(req, answer_.data(), fallback);
    req.peer_length = sizeof req.peer;
    ::getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&req.peer), &req.peer_length);
    req.reply = [async = async_, id = c.id](const uint8_t* data, std::size_t len) {
      if (len <= 0xffff) async->push(id, data, len);
    };
    server_.update_handler_(std::move(req));
  }

  void drain_async() {
    uint64_t count;
    [[maybe_unused]] auto r = ::read(async_->event.get(), &count, sizeof count);
    std::vector<std::pair<uint64_t, std::string>> replies;
    {
      std::lock_guard lock(async_->mutex);
      replies.swap(async_->queue);
    }
    for (auto& [id, message] : replies) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;   // the client left meanwhile
      Connection& c = it->second;
      if (c.updates_pending > 0) --c.updates_pending;
      if (c.transfer) {
        c.held_answers.push_back(std::move(message));   // after the transfer's last message
        continue;
      }
      append_frame(c.out, reinterpret_cast<const uint8_t*>(message.data()), message.size());
      // pump, not just flush: draining may unpause the connection, and frames that waited in
      // `in` for room must be answered now (no later event would bring them back).
      if (!pump(c)) {
        close(c);
        continue;
      }
      settle(c);
    }
  }

  /// Writes as much pending output as the socket takes. False on a fatal error.
  bool flush(Connection& c) {
    while (c.pending() > 0) {
      ssize_t k = ::send(c.fd.get(), c.out.data() + c.out_sent, c.pending(), MSG_NOSIGNAL);
      if (k > 0) {
        c.out_sent += std::size_t(k);
        c.last_activity = Clock::now();
      } else if (k < 0 && errno == EINTR) {
        continue;
      } else {
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return false;
      }
    }
    if (c.pending() == 0) {
      c.out.clear();
      c.out_sent = 0;
    } else if (c.out_sent > c.out.size() / 2) {
      c.out.erase(0, c.out_sent);   // keep the buffer from growing without bound
      c.out_sent = 0;
    }
    return true;
  }

  /// Closes a finished connection, or sets its epoll interest to what it now waits for.
  void settle(Connection& c) {
    if (c.transfer_failed && c.pending() == 0) return close(c);
    if (c.peer_closed && c.pending() == 0 && c.updates_pending == 0 && !c.transfer)
      return close(c);
    uint32_t want = 0;
    if (!c.peer_closed && !paused(c)) want |= EPOLLIN;
    // A transfer in progress always wants to write: level-triggered EPOLLOUT brings it back
    // after the other connections had their turn, or once the socket drained.
    if (c.pending() > 0 || c.transfer) want |= EPOLLOUT;
    if (want == c.interest) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = c.id;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    c.interest = want;
  }

  void close(Connection& c) {
    // Closing the fd removes it from the epoll set; erasing invalidates c.
    uint64_t id = c.id;
    connections_.erase(id);
    server_.connections_.fetch_sub(1);
  }

  void sweep_idle(Clock::time_point now) {
    for (auto it = connections_.begin(); it != connections_.end();) {
      // An UPDATE is answered within its deadline (seconds); the longer limit only guards
      // against an answer that never comes.
      const auto limit = it->second.updates_pending > 0 || it->second.transfer
                             ? std::max<Clock::duration>(server_.options_.idle_timeout,
                                                         update_answer_limit)
                             : Clock::duration(server_.options_.idle_timeout);
      if (now - it->second.last_activity >= limit) {
        it = connections_.erase(it);
        server_.connections_.fetch_sub(1);
      } else {
        ++it;
      }
    }
  }

  TcpServer& server_;
  std::vector<Fd> listeners_;
  Fd epoll_;
  std::shared_ptr<AsyncReplies> async_;
  std::unordered_map<uint64_t, Connection> connections_;
  uint64_t next_id_ = first_connection_id;
  std::vector<uint8_t> scratch_;   // read buffer, reused
  std::vector<uint8_t> answer_;    // dns::answer output, reused
  std::vector<uint8_t> transfer_message_;   // a transfer's next message, reused
  StateReader reader_;             // the serving state this worker answers from
  QueryCounters& counters_;        // this thread's alone (net/query_stats.hpp)
};

namespace {
TcpOptions with_stats(TcpOptions o) {
  if (!o.stats) o.stats = std::make_shared<FrontEndStats>();
  return o;
}
}  // namespace

TcpServer::TcpServer(std::vector<std::vector<Fd>> listeners, const StatePublisher& publisher,
                     TcpOptions options, UpdateHandler update_handler)
    : publisher_(publisher),
      options_(with_stats(std::move(options))),
      update_handler_(std::move(update_handler)),
      stop_event_(make_eventfd()),
      connections_(options_.stats->tcp_connections) {
  for (auto& l : listeners) workers_.push_back(std::make_unique<Worker>(*this, std::move(l)));
}

TcpServer::~TcpServer() { stop(); }

void TcpServer::start() {
  assert(!started_);
  started_ = true;
  for (auto& w : workers_) threads_.emplace_back([&w = *w] { w.run(); });
}

void TcpServer::stop() {
  // The counter is never read: the eventfd just stays readable, waking every worker's epoll.
  uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(stop_event_.get(), &one, sizeof one);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

}  // namespace vrdns::net
