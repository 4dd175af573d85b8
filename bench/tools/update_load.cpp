// vrdns-update-load: steady TSIG-signed UPDATE load on a local 3-node cluster, and the failover
// benchmark (bench/failover.sh): kill the primary under load and measure how long until
// UPDATEs are acknowledged again.
//
// It starts its own cluster (tests/chaos/cluster.hpp: free ports, ready lines, every child
// killed on exit) so the kill time and the reply times come from one clock.
//
// Per trial: load runs steadily; the primary (by status.vrdns majority) is SIGKILLed at t0
// (--fault kill), or SIGSTOPped (--fault stop: a hung process or a host that vanished, whose
// connections stay open, so only the failure detector's timeout notices it; the node is then
// killed); reported are
//   any_ms = first NOERROR received after t0, for any UPDATE, minus t0. This is the failover
//            time. (A reply already in flight at t0 would count too, but an UPDATE committed
//            just before the kill is answered through a backup only once that backup learns
//            of the commit, i.e. after the new view; none showed up below ~200 ms.)
//   new_ms = first NOERROR for an UPDATE first sent after t0. The clients are closed-loop
//            (one UPDATE outstanding each), so this usually waits for a pre-kill UPDATE to
//            finish first and adds about one UPDATE latency: an upper bound.
// then the killed node is restarted on its data_dir and, once all nodes are normal again,
// the next trial starts. Prints each trial, the medians and the maxima.
//
// Usage: vrdns-update-load --vrdns PATH --zone FILE [--trials N=7] [--clients N=4]
//                          [--fault kill|stop] [--load-seconds S] (S > 0: only measure steady
//                          load for S seconds) [--primary-timeout-ms MS] (default: the
//                          product's, config/config.hpp) [--keep yes] (keep configs, data and
//                          logs; each trial prints the fault's UTC time, as the logs stamp it)
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "tests/chaos/cluster.hpp"
#include "tests/chaos/update_client.hpp"

using namespace vrdns::chaos;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint16_t type_a = 1;
const ClientKey key{"update-key.", "uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI="};

/// "HH:MM:SS.mmm" UTC, as the nodes' log lines stamp their time (actors/log_line.hpp).
std::string utc_time_of_day(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = std::time_t(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&secs, &utc);
  char out[16];
  std::snprintf(out, sizeof out, "%02d:%02d:%02d.%03d", utc.tm_hour, utc.tm_min, utc.tm_sec,
                int(ms % 1000));
  return out;
}

/// What the load threads report to the trial loop.
struct Observations {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Clock::time_point> kill_time;
  std::optional<Clock::time_point> first_new;   // first NOERROR of an UPDATE sent after the kill
  std::optional<Clock::time_point> first_any;   // first NOERROR received after the kill
  uint64_t acked = 0, unknown = 0, failed = 0;
  bool stop = false;

  void record(Clock::time_point sent, Clock::time_point replied, Outcome o) {
    std::lock_guard<std::mutex> lock(mu);
    if (o == Outcome::acked) ++acked;
    if (o == Outcome::unknown) ++unknown;
    if (o == Outcome::failed) ++failed;
    if (o != Outcome::acked || !kill_time) return;
    if (!first_any && replied >= *kill_time) first_any = replied;
    if (!first_new && sent >= *kill_time) {
      first_new = replied;
      cv.notify_all();
    }
  }
};

/// Adds unique A records in a closed loop. A request tries every node in turn, 100 ms each,
/// several rounds: a reply from any node tried so far counts, so the first commit after a
/// view change is seen when it happens, not when a client timeout expires.
void load_client(int id, std::vector<uint16_t> ports, Observations& obs) {
  std::mt19937_64 rng(uint64_t(id) + 1);
  UpdateClient client(key);
  uint16_t dns_id = uint16_t(rng());
  for (uint64_t n = 0; n < 10'000'000; ++n) {
    {
      std::lock_guard<std::mutex> lock(obs.mu);
      if (obs.stop) return;
    }
    const std::string name = "load-c" + std::to_string(id) + "-" + std::to_string(n) + ".example.test.";
    const std::string addr = "10." + std::to_string(id) + "." + std::to_string((n / 256) % 256) + "." +
                             std::to_string(n % 256);
    const Bytes msg =
        client.sign(UpdateBuilder("example.test.").add(name, type_a, 300, a_rdata(addr)).build(dns_id++));
    std::vector<uint16_t> order;
    const std::size_t first = rng() % ports.size();
    for (int round = 0; round < 4; ++round)
      for (std::size_t k = 0; k < ports.size(); ++k) order.push_back(ports[(first + k) % ports.size()]);
    const auto sent = Clock::now();
    const UpdateResult r = client.send(msg, order, 100ms);
    obs.record(sent, Clock::now(), r.outcome);
    std::this_thread::sleep_for(5ms);   // pacing: a steady load, not a saturating one
  }
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string vrdns, zone;
  int trials = 7, clients = 4, load_seconds = 0;
  bool keep = false;   // keep the work dir (configs, data, logs) even when every trial passed
  // Above the cluster's heartbeat (50 ms), or the nodes refuse the config.
  uint32_t primary_timeout_ms = vrdns::config::ReplicationConfig{}.primary_timeout_ms;
  std::string fault = "kill";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--vrdns") vrdns = v;
    else if (k == "--zone") zone = v;
    else if (k == "--trials") trials = std::max(1, std::atoi(v.c_str()));
    else if (k == "--clients") clients = std::max(1, std::atoi(v.c_str()));
    else if (k == "--fault") {
      if (v != "kill" && v != "stop") {
        std::cerr << "--fault wants kill or stop, not " << v << "\n";
        return 2;
      }
      fault = v;
    }
    else if (k == "--load-seconds") load_seconds = std::max(0, std::atoi(v.c_str()));
    else if (k == "--keep") keep = v == "1" || v == "yes";
    else if (k == "--primary-timeout-ms") primary_timeout_ms = uint32_t(std::max(20, std::atoi(v.c_str())));
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (vrdns.empty() || zone.empty()) {
    std::cerr << "usage: vrdns-update-load --vrdns PATH --zone FILE [--trials N] [--clients N] "
                 "[--fault kill|stop] [--load-seconds S] [--primary-timeout-ms MS] [--keep yes]\n";
    return 2;
  }
  char tmpl[] = "/tmp/vrdns-failover-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 2;
  const std::string work = tmpl;

  int rc = 0;
  try {
    ClusterOptions co;
    co.vrdns = std::filesystem::absolute(vrdns).string();
    co.zone_file = std::filesystem::absolute(zone).string();
    co.work_dir = work;
    co.key = key;
    // The product's default, not the test clusters' more patient 250 ms: failover is measured
    // as an operator who leaves [replication] alone gets it.
    co.primary_timeout_ms = primary_timeout_ms;
    Cluster cluster(co);
    if (!cluster.wait_converged(20s)) throw std::runtime_error("not normal: " + cluster.last_statuses());

    Observations obs;
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i) threads.emplace_back(load_client, i, cluster.dns_ports(), std::ref(obs));
    auto stop_load = [&] {
      {
        std::lock_guard<std::mutex> lock(obs.mu);
        obs.stop = true;
      }
      for (auto& t : threads) t.join();
      threads.clear();
    };
    // Joins the load threads on every way out (a std::thread must not die joinable).
    struct JoinOnExit {
      std::function<void()> f;
      ~JoinOnExit() { f(); }
    } join_on_exit{stop_load};

    if (load_seconds > 0) {
      const auto t0 = Clock::now();
      std::this_thread::sleep_for(std::chrono::seconds(load_seconds));
      stop_load();
      const double s = ms_between(t0, Clock::now()) / 1000;
      std::cout << "load: " << clients << " clients, " << obs.acked << " acked (" << obs.acked / s
                << "/s), " << obs.unknown << " unknown, " << obs.failed << " failed\n";
    } else {
      std::vector<double> any_ms, new_ms;
      for (int t = 1; t <= trials; ++t) {
        std::this_thread::sleep_for(1s);   // steady load before the kill
        const int p = cluster.primary();
        if (p < 0) throw std::runtime_error("no primary: " + cluster.last_statuses());
        Clock::time_point t0;
        {
          std::lock_guard<std::mutex> lock(obs.mu);
          obs.first_new.reset();
          obs.first_any.reset();
          t0 = Clock::now();
          obs.kill_time = t0;
        }
        const auto wall = std::chrono::system_clock::now();
        if (fault == "stop") cluster.pause(p);
        else cluster.kill(p);
        std::unique_lock<std::mutex> lock(obs.mu);
        const bool seen = obs.cv.wait_for(lock, 10s, [&] { return obs.first_new.has_value(); });
        const auto first_new = obs.first_new;
        const auto first_any = obs.first_any;
        obs.kill_time.reset();
        lock.unlock();
        if (!seen) {
          std::cout << "trial " << t << ": " << fault << " primary " << p << ", no NOERROR within 10 s\n";
          rc = 1;
        } else {
          // first_any <= first_new: the reply that set first_new also counted as "any".
          any_ms.push_back(ms_between(t0, *first_any));
          new_ms.push_back(ms_between(t0, *first_new));
          std::cout << "trial " << t << ": " << fault << " primary " << p << ", any_ms=" << any_ms.back()
                    << " new_ms=" << new_ms.back();
          if (keep) std::cout << " at " << utc_time_of_day(wall);   // to find it in the node logs
          std::cout << std::endl;
        }
        if (!cluster.restart(p)) throw std::runtime_error("restart failed: " + cluster.error());
        if (!cluster.wait_all_normal(30s)) throw std::runtime_error("not normal: " + cluster.last_statuses());
      }
      stop_load();
      auto summary = [](const char* what, std::vector<double> v) {
        if (v.empty()) return;
        std::sort(v.begin(), v.end());
        const std::size_t n = v.size();
        const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        std::cout << what << " over " << n << " trials: median_ms=" << median << " max_ms=" << v.back()
                  << "\n";
      };
      summary("failover any_ms (goal: median < 300, max < 1000)", any_ms);
      summary("first NOERROR of an UPDATE sent after the kill, new_ms", new_ms);
      std::cout << "updates: " << obs.acked << " acked, " << obs.unknown << " unknown, " << obs.failed
                << " failed\n";
    }
    if (cluster.terminate_all() != 0) std::cout << "warning: " << cluster.error();
  } catch (const std::exception& e) {
    std::cerr << "vrdns-update-load: " << e.what() << "\n(logs kept in " << work << ")\n";
    return 2;
  }
  std::error_code ec;
  if (rc == 0 && !keep) std::filesystem::remove_all(work, ec);
  else std::cout << "logs kept in " << work << "\n";
  return rc;
}
