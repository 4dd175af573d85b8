// Queries before replication when CPU is short. A node answers queries on its own UDP and TCP
// threads (net/) and replicates on CAF's threads: the scheduler workers (replica, VR clients),
// the middleman (peer links), the clock, detached actors, and the log savers those start. On a
// busy host both want the same cores, and a replica that saturates them slows every query. This
// thread hook gives each thread the actor system starts `nice` more niceness than the thread
// that created the system; threads started from those (each replica's log saver) inherit it
// (Linux keeps niceness per thread and copies it on clone). The DNS threads are started by the
// main thread and keep its priority. Raising niceness needs no privilege, lowering it back
// would: nothing here ever lowers it. Side effect: a thread without an explicit I/O class gets
// its I/O priority from its niceness, so under the BFQ (or CFQ) disk scheduler the log saver's
// fsyncs also rank lower; with "none" or mq-deadline (virtio disks, NVMe) nothing changes.
//
// Measured (bench/update.sh --mixed-only, medians of 3 rounds, 2 cores, 3 replicas and both
// dnsperf instances on one host): query throughput beside a full-speed UPDATE load, as a share
// of the figure without updates, 0.39-0.55 at nice 0, 0.73-0.74 at nice 10 (updates meanwhile
// 2,300-2,850/s), 0.79-1.05 (median 0.89, seven runs) at the default 14 (1,100-1,750/s),
// 0.77-0.97 at 19 (700-980/s). Update-only runs, where the CPU has room, change within noise,
// and so does one-at-a-time latency. At 14 a thread still weighs 45 against a nice-0 thread's
// 1024 in the kernel's scheduler: heartbeats keep flowing under a query flood (no view change
// in any of these runs).
#pragma once

#include <caf/thread_hook.hpp>

#include <atomic>

namespace vrdns::app {

class ReplicationPriority : public caf::thread_hook {
 public:
  /// `nice` in 0..19: added to the creating thread's niceness (capped at 19).
  explicit ReplicationPriority(int nice);

  void init(caf::actor_system&) override;
  void thread_started() override;
  void thread_terminates() override {}

 private:
  const int nice_;
  int base_ = 0;                     // niceness of the thread that built the actor system
  std::atomic<bool> warned_{false};  // one log line if the kernel refuses
};

/// The calling thread's niceness (-20..19).
int current_thread_nice();

}  // namespace vrdns::app
