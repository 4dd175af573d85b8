#include "app/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/log_line.hpp"
#include "app/replica_node.hpp"
#include "app/system_config.hpp"

namespace vrdns::app {

namespace {

// How long a stopping node waits for its actor systems to shut down (see run_nodes). A large
// checkpoint being written when the signal came is part of it.
constexpr std::chrono::seconds shutdown_grace{10};

// Ends the process if it is still alive shutdown_grace after construction; destroying the
// watchdog first (the shutdown finished) cancels it.
class ShutdownWatchdog {
 public:
  ShutdownWatchdog()
      : thread_([this] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, shutdown_grace, [this] { return done_; })) {
            actors::log_line("actor system did not stop within " +
                             std::to_string(shutdown_grace.count()) +
                             " s (CAF middleman); exiting without it, the state on disk is safe");
            std::fflush(nullptr);
            std::_Exit(0);
          }
        }) {}
  ~ShutdownWatchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;   // last: started once the members it uses exist
};

// What the failure handler of run_nodes shares with its main thread.
struct FailureNote {
  std::mutex mutex;
  bool stopping = false;   // the stop began: actors now end in any order
  std::string first;       // the first failure, if any
};

}  // namespace

dns::ResponderOptions responder_options(const config::NodeConfig& cfg,
                                        const dns::CookieSecrets* running) {
  dns::ResponderOptions o;
  o.edns_udp_max = cfg.dns.edns_udp_size;
  o.nsid = cfg.dns.nsid;
  if (cfg.cookies.enabled) {
    auto secrets = std::make_shared<dns::CookieSecrets>();
    if (cfg.cookies.secret)
      secrets->current = *cfg.cookies.secret;
    else
      secrets->current = running ? running->current : dns::random_cookie_secret();
    secrets->previous = cfg.cookies.previous_secret;
    o.cookies = std::move(secrets);
  }
  return o;
}

dns::ServingStatePtr initial_serving_state(const config::NodeConfig& cfg, dns::ZoneSetPtr zones) {
  auto s = std::make_shared<dns::ServingState>();
  s->zones = std::move(zones);
  s->identity = cfg.name;
  s->version = std::string("vrdns ") + VRDNS_VERSION;
  s->status = "replica=" + std::to_string(cfg.replica) +
              " view=0 status=normal primary=0 op=0 commit=0";
  s->options = responder_options(cfg);
  return s;
}

int run_node(const config::NodeConfig& cfg) { return run_nodes({cfg}, true); }

namespace {

/// SIGHUP: each node reads its config file again (app/config_reload.hpp).
void reload_configs(const std::vector<std::unique_ptr<ReplicaNode>>& nodes,
                    const std::vector<config::NodeConfig>& cfgs, bool from_files) {
  if (!from_files) {
    actors::log_line("SIGHUP: this cluster was not started from config files; nothing to reload");
    return;
  }
  for (std::size_t i = 0; i < nodes.size() && i < cfgs.size(); ++i) {
    actors::log_line("SIGHUP: reloading " + cfgs[i].path);
    try {
      // Zone files are not parsed here: only a zone the cluster lacks is read, by the zone
      // adder, off this thread.
      nodes[i]->reload(config::load_config(cfgs[i].path, config::ZoneFiles::defer));
    } catch (const std::exception& e) {   // ConfigError: "<file>:<line>: <key>: <problem>"
      actors::log_line(std::string("SIGHUP: ") + e.what() +
                       "; the running configuration stays in force");
    }
  }
}

}  // namespace

int run_nodes(const std::vector<config::NodeConfig>& cfgs, bool from_files) {
  // Block the signals before any thread exists, so every thread (CAF's and ours) inherits the
  // mask and sigwait() below is the only place they are delivered.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Each TCP client is a file descriptor: lift the soft limit (often 1024) to the hard one,
  // so dns.tcp_max_connections, not EMFILE, is what limits clients.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // Declaration order = reverse destruction order: nodes go first (they ask their actors to
  // exit), then each actor_system waits for its actors, then its config goes.
  std::vector<std::unique_ptr<NodeSystemConfig>> system_configs;
  std::vector<std::unique_ptr<caf::actor_system>> systems;
  std::vector<std::unique_ptr<ReplicaNode>> nodes;
  // Fail-stop (actors/fail_stop.hpp): an actor that fails wakes the sigwait below with a
  // SIGTERM to the process, and the node stops with exit status 1, so that a supervisor restarts
  // it; the restarted node rejoins through recovery. Failures during the stop are expected
  // (actors go in any order) and not reported.
  auto failure = std::make_shared<FailureNote>();
  auto on_failure = [failure](const std::string& what) {
    {
      std::lock_guard lock(failure->mutex);
      if (failure->stopping || !failure->first.empty()) return;
      failure->first = what;
    }
    actors::log_line(what + "; stopping the node (its data_dir is safe: restart it to rejoin)");
    ::kill(::getpid(), SIGTERM);
  };
  for (const auto& cfg : cfgs) {
    system_configs.push_back(std::make_unique<NodeSystemConfig>(cfg.replication.nice));
    systems.push_back(std::make_unique<caf::actor_system>(*system_configs.back()));
    try {
      nodes.push_back(std::make_unique<ReplicaNode>(*systems.back(), cfg, on_failure));
    } catch (const std::exception& e) {
      actors::log_line(e.what());
      return 1;
    }
    std::string addresses;
    for (const auto& ep : nodes.back()->dns_endpoints()) {
      addresses += ' ';   // not `" " + ...`: GCC 12 -Wrestrict false positive at -O3
      addresses += ep.to_string();
    }
    std::cout << "vrdns: replica " << cfg.replica << " serving " << cfg.zones.size()
              << " zone(s) on" << addresses << " (udp+tcp)" << std::endl;   // endl: flush
  }

  int signal = 0;
  for (;;) {
    sigwait(&signals, &signal);
    if (signal != SIGHUP) break;
    reload_configs(nodes, cfgs, from_files);
  }
  bool failed = false;
  {
    std::lock_guard lock(failure->mutex);
    failure->stopping = true;
    failed = !failure->first.empty();
  }
  if (!failed) actors::log_line(signal == SIGINT ? "SIGINT, stopping" : "SIGTERM, stopping");
  // CAF 0.17's ~actor_system can hang after every actor has finished: middleman::stop() joins
  // the multiplexer thread, which waits in epoll_wait for a connection that is never closed
  // (seen once after a heavy load with peers reconnecting; the same class of bug as CAF issues
  // #695 and #1133). Whatever is still running then, the state on disk is safe to cut at any
  // point (every acknowledgement waited for its fsync, and a cut is what a crash is), so after a
  // grace period the process leaves without waiting for CAF's threads, and says so.
  ShutdownWatchdog watchdog;
  // The front ends join their workers when they exit; ~actor_system waits for that.
  for (auto& node : nodes) node->stop();
  nodes.clear();
  systems.clear();
  return failed ? 1 : 0;
}

}  // namespace vrdns::app
