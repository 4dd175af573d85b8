// A local 3-node vrdns cluster as child processes, for the chaos tests and the failover bench.
//
// Writes one TOML config per node (free 127.0.0.1 ports, data_dir under `work_dir`), starts
// each `vrdns --config` with posix_spawn, and waits for its ready line on stdout ("vrdns:
// replica i serving ..."): an event, not a sleep. Nodes can be killed (SIGKILL), paused
// (SIGSTOP), resumed (SIGCONT) and restarted on the same data_dir (the node then recovers from
// the others, VR §4.3). Only PIDs started here are ever signalled; the destructor SIGKILLs
// whatever is still running, so a failing test leaves no process behind.
//
// Ports are taken below the kernel's ephemeral range: a killed node's UDP port must still be
// free when it restarts, and the test's own client sockets (kernel-chosen ports) could
// otherwise take it in the meantime.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/chaos/update_client.hpp"

namespace vrdns::chaos {

struct ClusterOptions {
  std::string vrdns;       ///< path of the vrdns binary
  std::string zone_file;   ///< served as `zone`
  std::string zone = "example.test.";
  std::string work_dir;    ///< configs, data dirs and logs go here (must exist)
  ClientKey key;           ///< allowed to UPDATE
  int nodes = 3;
  uint32_t heartbeat_ms = 50;
  uint32_t primary_timeout_ms = 250;
  uint32_t update_timeout_ms = 2000;
  std::chrono::milliseconds ready_timeout{20000};
};

class Cluster {
 public:
  /// Starts every node; on a bind failure picks other ports and starts over (up to 5 times).
  /// Throws std::runtime_error if the cluster cannot be started (with the nodes' logs).
  explicit Cluster(ClusterOptions options);
  ~Cluster();   ///< SIGKILLs and reaps every node still running
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int size() const { return int(nodes_.size()); }
  uint16_t dns_port(int i) const { return nodes_.at(std::size_t(i)).dns_port; }
  std::vector<uint16_t> dns_ports() const;
  bool running(int i) const { return nodes_.at(std::size_t(i)).pid > 0; }
  bool paused(int i) const { return nodes_.at(std::size_t(i)).paused; }
  pid_t pid(int i) const { return nodes_.at(std::size_t(i)).pid; }

  void kill(int i);      ///< SIGKILL and reap (SIGCONT first is not needed: KILL works on stopped)
  void pause(int i);     ///< SIGSTOP
  void resume(int i);    ///< SIGCONT
  /// SIGHUP (its config, unchanged, is reloaded), then waits (bounded, 5 s) for the node to log
  /// one more "configuration reloaded". False (in error()) if it did not: a node that died of the
  /// signal, or took no reload. A paused or killed node is left alone (true).
  bool reload(int i);
  /// Starts a killed node again on its data_dir; false (log in error()) if no ready line.
  bool restart(int i);
  /// SIGTERM to every running node, waits up to `grace` for each; returns how many did not
  /// exit with status 0 (those still running after `grace` are SIGKILLed and count).
  int terminate_all(std::chrono::milliseconds grace = std::chrono::milliseconds(10000));

  /// Polls status.vrdns (bounded by `timeout`) until every node is normal in the same view
  /// with op == commit, all equal. False on timeout; last_statuses() says what was seen.
  bool wait_converged(std::chrono::milliseconds timeout);
  /// Polls status.vrdns (bounded) until every node is normal in one view; load may continue.
  bool wait_all_normal(std::chrono::milliseconds timeout);
  /// The primary according to a majority of the nodes that answer; -1 if unknown.
  int primary();
  std::string last_statuses() const { return last_statuses_; }

  /// Everything node i wrote to stderr (over all its incarnations).
  std::string log(int i) const;
  std::string log_path(int i) const;
  const std::string& error() const { return error_; }
  const ClusterOptions& options() const { return opt_; }

 private:
  struct Node {
    uint16_t dns_port = 0;
    uint16_t vr_port = 0;
    pid_t pid = -1;
    int stdout_fd = -1;   ///< read end of the child's stdout; kept open so it never gets SIGPIPE
    bool paused = false;
    int incarnation = 0;
  };

  bool start_all();
  void write_configs();
  bool spawn(int i);   ///< starts node i and waits for its ready line
  void reap(int i);
  std::string config_path(int i) const;

  ClusterOptions opt_;
  std::vector<Node> nodes_;
  std::string error_;
  std::string last_statuses_;
};

}  // namespace vrdns::chaos
