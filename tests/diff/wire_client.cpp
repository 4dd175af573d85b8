#include "tests/diff/wire_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace vrdns::difftest {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { if (fd >= 0) close(fd); }
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd(const Fd&) = delete;
};

int ms_left(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return d.count() > 0 ? int(d.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r == 1 && (p.revents & (events | POLLHUP | POLLERR));
  }
}

// Reads exactly n bytes from a non-blocking socket before the deadline.
bool read_exact(int fd, uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t r = recv(fd, p, n, 0);
    if (r > 0) { p += r; n -= std::size_t(r); continue; }
    if (r == 0) return false;   // peer closed
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (!wait_fd(fd, POLLIN, deadline)) return false;
  }
  return true;
}

bool write_all(int fd, const uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
    if (r > 0) { p += r; n -= std::size_t(r); continue; }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    if (!wait_fd(fd, POLLOUT, deadline)) return false;
  }
  return true;
}

}  // namespace

std::vector<Reply> exchange_udp(const Bytes& query, const std::vector<uint16_t>& ports,
                                std::chrono::milliseconds timeout) {
  std::vector<Fd> socks;
  std::vector<Reply> replies(ports.size());
  for (uint16_t port : ports) {
    Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
    // connect() filters out datagrams from any other address/port.
    auto a = loopback(port);
    if (connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect udp: " + std::string(strerror(errno)));
    if (send(s.fd, query.data(), query.size(), 0) < 0) { /* counted as no reply */ }
    socks.push_back(std::move(s));
  }
  auto deadline = Clock::now() + timeout;
  std::size_t pending = ports.size();
  uint8_t buf[65536];
  while (pending > 0) {
    std::vector<pollfd> pfds;
    for (std::size_t i = 0; i < socks.size(); ++i)
      if (!replies[i]) pfds.push_back({socks[i].fd, POLLIN, 0});
    int r = poll(pfds.data(), pfds.size(), ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;   // timeout: the rest stay "no reply"
    for (auto& p : pfds) {
      if (!(p.revents & POLLIN)) continue;
      ssize_t n = recv(p.fd, buf, sizeof buf, 0);
      if (n < 0) continue;   // e.g. ECONNREFUSED from an ICMP error: keep waiting
      // A stray late reply to an earlier query must not be taken for this one.
      if (query.size() >= 2 && (n < 2 || buf[0] != query[0] || buf[1] != query[1])) continue;
      for (std::size_t i = 0; i < socks.size(); ++i)
        if (socks[i].fd == p.fd) replies[i] = Bytes(buf, buf + n);
      --pending;
    }
  }
  return replies;
}

std::vector<Reply> exchange_tcp(const Bytes& query, const std::vector<uint16_t>& ports,
                                std::chrono::milliseconds timeout) {
  std::vector<Reply> replies;
  for (uint16_t port : ports) {
    auto deadline = Clock::now() + timeout;
    Fd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
    auto a = loopback(port);
    int rc = connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno != EINPROGRESS) { replies.emplace_back(); continue; }
    if (rc != 0) {
      int err = 0;
      socklen_t len = sizeof err;
      if (!wait_fd(s.fd, POLLOUT, deadline) ||
          getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        replies.emplace_back();
        continue;
      }
    }
    Bytes framed{uint8_t(query.size() >> 8), uint8_t(query.size() & 0xff)};
    framed.insert(framed.end(), query.begin(), query.end());
    uint8_t len2[2];
    if (!write_all(s.fd, framed.data(), framed.size(), deadline) ||
        !read_exact(s.fd, len2, 2, deadline)) {
      replies.emplace_back();
      continue;
    }
    Bytes msg((std::size_t(len2[0]) << 8) | len2[1]);
    if (!read_exact(s.fd, msg.data(), msg.size(), deadline)) {
      replies.emplace_back();
      continue;
    }
    replies.emplace_back(std::move(msg));
  }
  return replies;
}

uint16_t pick_free_port() {
  // Ask the kernel for a free TCP port, then check UDP can have the same number too.
  for (int attempt = 0; attempt < 20; ++attempt) {
    Fd t(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto a = loopback(0);
    if (bind(t.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) continue;
    socklen_t len = sizeof a;
    getsockname(t.fd, reinterpret_cast<sockaddr*>(&a), &len);
    Fd u(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (bind(u.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port on 127.0.0.1");
}

}  // namespace vrdns::difftest
