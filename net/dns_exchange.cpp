#include "net/dns_exchange.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "net/socket.hpp"

namespace vrdns::net {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

std::vector<uint8_t> exchange_tcp(const Endpoint& server, const std::vector<uint8_t>& request,
                                  std::chrono::milliseconds timeout) {
  const std::string who = server.to_string();
  auto fail = [&](const std::string& why) -> std::runtime_error {
    return std::runtime_error("tcp " + who + ": " + why);
  };
  if (request.size() > 0xFFFF) throw fail("request over 65535 bytes");
  const auto deadline = Clock::now() + timeout;
  sockaddr_storage addr{};
  const socklen_t len = to_sockaddr(server, addr);
  Fd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw fail(std::string("socket: ") + std::strerror(errno));
  // Waits for `events` until the deadline; false when it passed.
  auto wait = [&](short events) {
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd.get(), events, 0};
      const int n = ::poll(&p, 1, int(left));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  };
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS) throw fail(std::string("connect: ") + std::strerror(errno));
    if (!wait(POLLOUT)) throw fail("connect timed out");
    int err = 0;
    socklen_t err_len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) throw fail(std::string("connect: ") + std::strerror(err));
  }
  std::vector<uint8_t> out{uint8_t(request.size() >> 8), uint8_t(request.size())};
  out.insert(out.end(), request.begin(), request.end());
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += std::size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait(POLLOUT)) throw fail("send timed out");
    } else {
      throw fail(std::string("send: ") + std::strerror(errno));
    }
  }
  // The 2-byte length, then that many bytes; the length is the server's: checked by reading
  // no more than it says, into a buffer of at most 65535 bytes.
  std::vector<uint8_t> in;
  std::size_t want = 2;
  bool have_length = false;
  while (in.size() < want) {
    uint8_t buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, std::min(sizeof buf, want - in.size()), 0);
    if (n > 0) {
      in.insert(in.end(), buf, buf + n);
      if (!have_length && in.size() == 2) {
        have_length = true;
        want = 2 + (std::size_t(in[0]) << 8 | in[1]);
      }
    } else if (n == 0) {
      throw fail("closed before a whole answer arrived");
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait(POLLIN)) throw fail("no answer within " + std::to_string(timeout.count()) + " ms");
    } else {
      throw fail(std::string("recv: ") + std::strerror(errno));
    }
  }
  return std::vector<uint8_t>(in.begin() + 2, in.end());
}

}  // namespace vrdns::net
