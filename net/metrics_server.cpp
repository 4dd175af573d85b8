#include "net/metrics_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vrdns::net {

namespace {

using Clock = std::chrono::steady_clock;

std::string reply(const char* status, const std::string& content_type, const std::string& body,
                  bool with_body, const char* extra_header = nullptr) {
  std::string out = std::string("HTTP/1.1 ") + status + "\r\n";
  out += "Content-Type: " + content_type + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (extra_header) out += std::string(extra_header) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (with_body) out += body;
  return out;
}

std::string plain(const char* status, const std::string& text) {
  return reply(status, "text/plain; charset=utf-8", text, true);
}

/// Milliseconds left until `deadline`, at least 0, for poll().
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? int(left.count()) : 0;
}

}  // namespace

std::string metrics_http_answer(const std::string& head, const MetricsServer::Render& render) {
  const std::size_t eol = head.find_first_of("\r\n");
  const std::string line = head.substr(0, eol);
  // Request-line = method SP request-target SP HTTP-version (RFC 9112 §3): exactly two spaces.
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos ||
      line.find(' ', sp2 + 1) != std::string::npos || sp1 == 0 || sp2 == sp1 + 1)
    return plain("400 Bad Request", "malformed request line\n");
  const std::string method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string version = line.substr(sp2 + 1);
  if (version.rfind("HTTP/1.", 0) != 0) return plain("400 Bad Request", "expected HTTP/1.x\n");
  if (method != "GET" && method != "HEAD")
    return reply("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET and HEAD\n",
                 true, "Allow: GET, HEAD");
  if (const std::size_t q = target.find('?'); q != std::string::npos) target.resize(q);
  const bool with_body = method == "GET";   // HEAD: the same headers, no body (RFC 9110 §9.3.2)
  if (target != "/metrics")
    return reply("404 Not Found", "text/plain; charset=utf-8",
                 "not found; the statistics are at /metrics\n", with_body);
  std::string body;
  try {
    body = render();
  } catch (const std::exception& e) {   // say so, and keep the node (this is its thread)
    return reply("500 Internal Server Error", "text/plain; charset=utf-8",
                 std::string("cannot render the statistics: ") + e.what() + "\n", with_body);
  }
  return reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body, with_body);
}

MetricsServer::MetricsServer(const Endpoint& listen, Render render,
                             std::chrono::milliseconds io_timeout)
    : endpoint_(listen), render_(std::move(render)), io_timeout_(io_timeout) {
  auto fail = [&](const char* what) {
    throw std::runtime_error(std::string("cannot ") + what + " stats " + listen.to_string() +
                             ": " + std::strerror(errno));
  };
  sockaddr_storage addr{};
  const socklen_t len = to_sockaddr(listen, addr);
  listener_ = Fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_) fail("open a socket for");
  // SO_REUSEADDR only (a restart binds at once despite TIME_WAIT); no SO_REUSEPORT, which
  // would let two nodes share the port silently.
  const int one = 1;
  if (::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    fail("set SO_REUSEADDR on");
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) fail("bind");
  if (::listen(listener_.get(), 16) != 0) fail("listen on");
  endpoint_.port = bound_port(listener_.get());
  stop_event_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event_) fail("create an eventfd for");
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void MetricsServer::stop() {
  stopping_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] auto w = ::write(stop_event_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::run() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;   // EINTR
    if (fds[1].revents) break;
    if (!(fds[0].revents & POLLIN)) continue;
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (conn) {
      accepted_.fetch_add(1);
      serve(conn.get());
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // The connection stays queued, so the listener stays readable: without a pause this
      // loop would take a whole core from the DNS workers until descriptors free up.
      pollfd stop = {stop_event_.get(), POLLIN, 0};
      ::poll(&stop, 1, 100);
    }   // else EAGAIN (the client left) or ECONNABORTED: next one
  }
}

void MetricsServer::serve(int fd) {
  // Waits until `fd` is ready for `events`, the deadline passes (false) or stop() (false).
  auto wait = [&](short events, Clock::time_point deadline) {
    pollfd fds[2] = {{fd, events, 0}, {stop_event_.get(), POLLIN, 0}};
    while (true) {
      const int n = ::poll(fds, 2, remaining_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      return n > 0 && !fds[1].revents && fds[0].revents != 0;
    }
  };

  std::string head;
  const auto read_deadline = Clock::now() + io_timeout_;
  char buf[2048];
  std::string answer;
  while (answer.empty()) {
    if (!wait(POLLIN, read_deadline)) return;   // too slow, or stopping: just close
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {   // closed (or reset) before a whole head arrived
      if (head.empty()) return;
      answer = plain("400 Bad Request", "incomplete request\n");
      break;
    }
    head.append(buf, std::size_t(n));
    const std::size_t end = head.find("\r\n\r\n");
    const std::size_t bare_end = head.find("\n\n");   // bare LF lines, as RFC 9112 §2.2 allows
    if (end != std::string::npos || bare_end != std::string::npos) {
      answer = metrics_http_answer(head, render_);
    } else if (head.size() > max_request_bytes) {
      answer = plain("431 Request Header Fields Too Large", "request head over 8192 bytes\n");
    }
  }

  const auto write_deadline = Clock::now() + io_timeout_;
  std::size_t sent = 0;
  while (sent < answer.size()) {
    const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += std::size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait(POLLOUT, write_deadline)) return;
    } else {
      return;   // reset by the client
    }
  }
  ::shutdown(fd, SHUT_WR);
  // Closing with unread request bytes (a 431, a 400, a body after the head) would send a
  // reset, and the client could lose the answer: read what is left until it closes, briefly.
  const auto drain_deadline = Clock::now() + std::chrono::milliseconds(200);
  while (wait(POLLIN, drain_deadline) && ::recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

}  // namespace vrdns::net
