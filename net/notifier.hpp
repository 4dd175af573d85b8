// Sends NOTIFY (RFC 1996) to a node's secondaries when a zone it serves changes serial.
//
// Every node notifies for the state its own front end serves, once it serves it: a secondary
// accepts NOTIFY only from the primary server it transfers from (BIND, NSD and Knot check the
// source), and that server then already has the change when the secondary asks for it. The
// others' NOTIFYs are refused by the secondary and cost one packet.
//
// One thread with one UDP socket per address family. Each target is notified until it answers
// (any rcode: NOTIMP or REFUSED are logged, not retried; with TSIG, only a reply signed over
// the request counts) or `attempts` sends went unanswered,
// `retry` apart (RFC 1996 §3.6). A newer serial of the same zone replaces a pending one, and
// rounds for one zone start at most once per `min_interval`: under a steady UPDATE load the
// serial changes with every commit, and a secondary needs one NOTIFY per interval, not hundreds
// a second (each makes it ask for the SOA and transfer).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dns/responder.hpp"
#include "dns/zone.hpp"
#include "net/endpoint.hpp"
#include "net/socket.hpp"

namespace vrdns::net {

/// What a node's NOTIFY senders did, summed over every Notifier that used it (a reload
/// replaces the Notifier, not these): for the statistics endpoint.
struct NotifyCounters {
  std::atomic<uint64_t> sent{0};       ///< datagrams sent, retries included
  std::atomic<uint64_t> answered{0};   ///< answers that counted
  std::atomic<uint64_t> ignored{0};    ///< answers that did not verify (TSIG)
  std::atomic<uint64_t> given_up{0};   ///< NOTIFYs unanswered after every attempt
};

struct NotifyOptions {
  std::vector<Endpoint> targets;
  std::chrono::milliseconds retry{2000};
  int attempts = 5;
  std::chrono::milliseconds min_interval{1000};
  /// Signs a request in place (TSIG), or leaves it alone. Runs on the notifier's thread.
  std::function<void(std::vector<uint8_t>&)> sign;
  /// With `sign`: whether `reply` is a genuine answer to the signed `request` (RFC 8945 §5.4:
  /// signed over its MAC); if not, `why` says so and the NOTIFY is sent again as if unanswered.
  /// Empty: any reply that matches ID and source answers. Runs on the notifier's thread.
  std::function<bool(const uint8_t* reply, std::size_t length, const std::vector<uint8_t>& request,
                     std::string& why)>
      verify;
  /// One log line; empty: no log. Runs on the notifier's thread.
  std::function<void(const std::string&)> log;
  /// Counted here too, if set.
  std::shared_ptr<NotifyCounters> counters;
};

class Notifier {
 public:
  explicit Notifier(NotifyOptions options);
  ~Notifier();   // stops the thread; pending notifies are dropped
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// The front end serves `state` now: notify for every zone whose serial differs from the one
  /// last notified (every zone the first time). Nothing while the state is not vouched for
  /// (has_state false). Cheap: called on every publish.
  void published(const dns::ServingState& state);

  /// NOTIFYs sent and answers received so far (tests, status).
  uint64_t sent() const;
  uint64_t answered() const;

 private:
  struct Target {
    std::size_t target;        // index into options_.targets
    std::vector<uint8_t> request;
    int sends = 0;
    int ignored = 0;           // answers that did not verify (only the first is logged)
    std::chrono::steady_clock::time_point due;
    bool done = false;
  };
  struct Pending {
    dns::ZonePtr zone;
    std::vector<Target> targets;
  };

  void run();
  void send_due(std::chrono::steady_clock::time_point now);
  void receive(int fd);
  std::chrono::milliseconds wait_time(std::chrono::steady_clock::time_point now) const;
  void log(const std::string& line) const;

  NotifyOptions options_;
  std::vector<sockaddr_storage> addresses_;   // per target
  std::vector<socklen_t> address_lengths_;
  Fd socket4_, socket6_;
  Fd wake_;                                    // eventfd: new work or stop
  mutable std::mutex mutex_;
  std::map<std::string, uint32_t> notified_;  // apex key -> serial last queued
  // The zone set of the last state looked at: a zone object still at its position has not
  // changed (zones are immutable), so with thousands of zones a publish that changed one costs
  // a pointer compare per zone, not a map lookup. Held, not just remembered by address: a
  // freed zone's address may come back as another zone.
  dns::ZoneSetPtr seen_;
  std::map<std::string, Pending> pending_;    // apex key -> what is being notified
  std::map<std::string, std::chrono::steady_clock::time_point> last_round_;   // its first send
  uint16_t next_id_ = 1;
  bool stopping_ = false;
  uint64_t sent_ = 0, answered_ = 0;
  std::thread thread_;                         // last: started once everything exists
};

}  // namespace vrdns::net
