#include "net/notifier.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

#include "dns/name.hpp"
#include "dns/notify.hpp"

namespace vrdns::net {

namespace {

using Clock = std::chrono::steady_clock;

Fd client_socket(int family) {
  Fd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error("notify: cannot open a UDP socket");
  return fd;
}

}  // namespace

Notifier::Notifier(NotifyOptions options) : options_(std::move(options)) {
  for (const auto& t : options_.targets) {
    sockaddr_storage a{};
    address_lengths_.push_back(to_sockaddr(t, a));
    addresses_.push_back(a);
    if (t.family == AF_INET6 && !socket6_) socket6_ = client_socket(AF_INET6);
    if (t.family == AF_INET && !socket4_) socket4_ = client_socket(AF_INET);
  }
  wake_ = Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw std::runtime_error("notify: eventfd failed");
  // Random first ID: a restarted node does not reuse the IDs of its last run.
  next_id_ = uint16_t(std::random_device{}());
  thread_ = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  uint64_t one = 1;
  [[maybe_unused]] auto w = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

void Notifier::published(const dns::ServingState& state) {
  if (options_.targets.empty() || !state.has_state || !state.zones) return;
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    const auto& zones = state.zones->zones;
    const bool same_list = seen_ && seen_->zones.size() == zones.size();
    for (std::size_t i = 0; i < zones.size(); ++i) {
      const auto& zone = zones[i];
      if (same_list && seen_->zones[i] == zone) continue;   // the very object seen last time
      auto [it, fresh] = notified_.try_emplace(zone->apex_key(), zone->serial());
      if (!fresh && it->second == zone->serial()) continue;
      it->second = zone->serial();
      Pending p;
      p.zone = zone;
      auto due = Clock::now();
      if (auto last = last_round_.find(zone->apex_key()); last != last_round_.end())
        due = std::max(due, last->second + options_.min_interval);
      for (std::size_t i = 0; i < options_.targets.size(); ++i) {
        Target t;
        t.target = i;
        t.request = dns::make_notify(next_id_++, *zone);
        t.due = due;
        p.targets.push_back(std::move(t));
      }
      pending_[zone->apex_key()] = std::move(p);   // replaces an older serial's
      queued = true;
    }
    seen_ = state.zones;
  }
  if (queued) {
    uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(wake_.get(), &one, sizeof one);
  }
}

uint64_t Notifier::sent() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

uint64_t Notifier::answered() const {
  std::lock_guard lock(mutex_);
  return answered_;
}

void Notifier::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

std::chrono::milliseconds Notifier::wait_time(Clock::time_point now) const {
  auto next = Clock::time_point::max();
  for (const auto& [apex, p] : pending_)
    for (const auto& t : p.targets)
      if (!t.done) next = std::min(next, t.due);
  if (next == Clock::time_point::max()) return std::chrono::milliseconds(-1);   // until woken
  if (next <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(next - now) +
         std::chrono::milliseconds(1);
}

void Notifier::send_due(Clock::time_point now) {
  // Called with mutex_ held. Signing and sending are quick (one small datagram each).
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& p = it->second;
    for (auto& t : p.targets) {
      if (t.done || t.due > now) continue;
      const Endpoint& ep = options_.targets[t.target];
      if (t.sends == options_.attempts) {
        t.done = true;
        if (options_.counters) options_.counters->given_up.fetch_add(1, std::memory_order_relaxed);
        log("NOTIFY of " + dns::name_to_text(p.zone->apex()) + " serial " +
            std::to_string(p.zone->serial()) + " to " + ep.to_string() + ": no answer after " +
            std::to_string(t.sends) + " tries" +
            (t.ignored ? " (" + std::to_string(t.ignored) + " that did not verify ignored)"
                       : std::string()) +
            ", giving up");
        continue;
      }
      if (t.sends == 0) {
        if (options_.sign) options_.sign(t.request);
        last_round_[it->first] = now;
      }
      const int fd = ep.family == AF_INET6 ? socket6_.get() : socket4_.get();
      ::sendto(fd, t.request.data(), t.request.size(), 0,
               reinterpret_cast<const sockaddr*>(&addresses_[t.target]),
               address_lengths_[t.target]);
      ++t.sends;
      ++sent_;
      if (options_.counters) options_.counters->sent.fetch_add(1, std::memory_order_relaxed);
      t.due = now + options_.retry;
    }
    const bool all_done =
        std::all_of(p.targets.begin(), p.targets.end(), [](const Target& t) { return t.done; });
    it = all_done ? pending_.erase(it) : std::next(it);
  }
}

void Notifier::receive(int fd) {
  uint8_t buf[4096];
  for (;;) {
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) return;   // EAGAIN: drained
    std::lock_guard lock(mutex_);
    for (auto& [apex, p] : pending_) {
      for (auto& t : p.targets) {
        uint8_t rcode = 0;
        if (t.done || t.sends == 0 ||
            !dns::answers_notify(buf, std::size_t(n), t.request, rcode))
          continue;
        // The answer must come from where the NOTIFY went (RFC 1996 §3.10 asks the same of
        // the other side).
        const auto& want = addresses_[t.target];
        if (from.ss_family != want.ss_family) continue;
        if (from.ss_family == AF_INET) {
          const auto& a = reinterpret_cast<const sockaddr_in&>(from);
          const auto& b = reinterpret_cast<const sockaddr_in&>(want);
          if (a.sin_port != b.sin_port || a.sin_addr.s_addr != b.sin_addr.s_addr) continue;
        } else {
          const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
          const auto& b = reinterpret_cast<const sockaddr_in6&>(want);
          if (a.sin6_port != b.sin6_port ||
              std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) != 0)
            continue;
        }
        if (std::string why; options_.verify && !options_.verify(buf, std::size_t(n), t.request, why)) {
          // Not an answer we can trust (unsigned, forged, or an error about our key): the
          // NOTIFY stays due, and is sent again until `attempts` ran out. Anyone who can send
          // us datagrams could send many: the first is logged, the rest counted.
          if (options_.counters)
            options_.counters->ignored.fetch_add(1, std::memory_order_relaxed);
          if (t.ignored++ == 0)
            log("NOTIFY of " + dns::name_to_text(p.zone->apex()) + " serial " +
                std::to_string(p.zone->serial()) + " to " +
                options_.targets[t.target].to_string() + ": answer ignored (rcode " +
                std::to_string(rcode) + "), " + why);
          continue;
        }
        t.done = true;
        ++answered_;
        if (options_.counters) options_.counters->answered.fetch_add(1, std::memory_order_relaxed);
        if (rcode != 0)
          log("NOTIFY of " + dns::name_to_text(p.zone->apex()) + " serial " +
              std::to_string(p.zone->serial()) + " to " +
              options_.targets[t.target].to_string() + ": answered rcode " +
              std::to_string(rcode) + " (refused by the secondary?)");
      }
    }
  }
}

void Notifier::run() {
  for (;;) {
    std::chrono::milliseconds wait;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      const auto now = Clock::now();
      send_due(now);
      wait = wait_time(now);
    }
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {wake_.get(), POLLIN, 0};
    if (socket4_) fds[n++] = {socket4_.get(), POLLIN, 0};
    if (socket6_) fds[n++] = {socket6_.get(), POLLIN, 0};
    if (::poll(fds, n, int(std::min<int64_t>(wait.count(), 60000))) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] auto r = ::read(wake_.get(), &count, sizeof count);
    }
    for (nfds_t i = 1; i < n; ++i)
      if (fds[i].revents & POLLIN) receive(fds[i].fd);
  }
}

}  // namespace vrdns::net
