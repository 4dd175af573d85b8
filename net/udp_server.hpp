// UDP front end: one thread per socket, each socket bound with SO_REUSEPORT to its address.
//
// The hot loop reads up to `batch` datagrams with one recvmmsg, answers them from one
// serving-state snapshot into preallocated buffers, and sends the replies with sendmmsg. It
// never allocates and takes no lock unless the serving state changed since the last batch.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/query_stats.hpp"
#include "net/rate_limiter.hpp"
#include "net/socket.hpp"
#include "net/state_publisher.hpp"
#include "net/signed_query_hook.hpp"
#include "net/update_hook.hpp"

namespace vrdns::net {

class UdpServer {
 public:
  static constexpr std::size_t default_batch = 32;

  /// Takes bound sockets (open_udp_socket). Threads start in start(). Each worker counts
  /// what it answers in its own block of `stats` (a new one if null). With an enabled
  /// `limiter`, every answer goes through it (net/rate_limiter.hpp). When the serving state
  /// has cookie secrets (ResponderOptions::cookies), queries' DNS cookies are checked and
  /// answered (dns/cookie.hpp), and a valid one spares its answer from the limiter.
  UdpServer(std::vector<Fd> sockets, const StatePublisher& publisher,
            UpdateHandler update_handler = {}, std::size_t batch = default_batch,
            SignedQueryHandler signed_query_handler = {},
            std::shared_ptr<FrontEndStats> stats = {},
            std::shared_ptr<ResponseRateLimiter> limiter = {});
  ~UdpServer();
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;

  void start();
  /// Idempotent; returns once every worker has exited (within the socket receive timeout).
  void stop();

  /// Replaces the rate limiter (null or disabled: none) from any thread; each worker takes it
  /// at its next batch. The workers only compare a generation number per batch: no lock and
  /// no reference count is touched while the limiter stays the same (a config reload).
  void set_limiter(std::shared_ptr<ResponseRateLimiter> limiter);

 private:
  struct Worker;
  void run(Worker& w);
  void take_new_limiter(Worker& w);   // if set_limiter replaced the one w holds

  const StatePublisher& publisher_;
  // The limiter in force (shared by the workers, lock-free inside), replaced by set_limiter:
  // each worker keeps its own reference and takes the new one under the mutex when the
  // generation moved.
  std::mutex limiter_mutex_;
  std::shared_ptr<ResponseRateLimiter> limiter_;
  std::atomic<uint64_t> limiter_generation_{0};
  std::shared_ptr<FrontEndStats> stats_;
  UpdateHandler update_handler_;
  SignedQueryHandler signed_query_handler_;
  std::size_t batch_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
};

}  // namespace vrdns::net
