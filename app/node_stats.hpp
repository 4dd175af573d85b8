// The live numbers of one node that the statistics endpoint reports besides the front end's
// query counters (net/query_stats.hpp): how its UPDATEs were answered, and where its replica
// stands in VR. Written by the threads that know them, read by the endpoint's thread at any
// time; every field is an atomic of its own, so a reading may mix two moments of the replica
// (op from one commit, commit_number from the next) but never shows a torn number.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "net/query_stats.hpp"
#include "protocol/replica_state.hpp"

namespace vrdns::app {

/// UPDATE answers by rcode (net::rcode_slots; larger rcodes share the last slot). Answers come
/// from several threads (front-end workers, vr_clients, the commit waiters), hence fetch_add:
/// an UPDATE costs far more than one locked add.
struct UpdateCounters {
  std::array<std::atomic<uint64_t>, net::rcode_slots> by_rcode{};

  void count(uint16_t rcode) noexcept {
    by_rcode[rcode < by_rcode.size() ? rcode : by_rcode.size() - 1].fetch_add(
        1, std::memory_order_relaxed);
  }
  std::array<uint64_t, net::rcode_slots> read() const noexcept {
    std::array<uint64_t, net::rcode_slots> out{};
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = by_rcode[i].load(std::memory_order_relaxed);
    return out;
  }
};

/// How the transfer path answered AXFR/IXFR requests (several TCP workers count: fetch_add,
/// which costs nothing beside a transfer).
struct TransferCounters {
  std::atomic<uint64_t> full{0};          ///< the whole zone (AXFR, or IXFR answered in full)
  std::atomic<uint64_t> incremental{0};   ///< IXFR answered with the differences
  std::atomic<uint64_t> up_to_date{0};    ///< IXFR from a client that has the serial: SOA only
  std::atomic<uint64_t> refused{0};       ///< REFUSED, NOTAUTH or FORMERR
  std::atomic<uint64_t> busy{0};          ///< SERVFAIL: max_transfers running, or no state yet
};

/// A copy of the replica's gauges taken at one moment.
struct ReplicaReading {
  uint64_t view_number = 0, op_number = 0, commit_number = 0;
  uint32_t replica = 0, primary = 0;
  protocol::replica_status status = protocol::replica_status::recovering;
  bool has_state = false;    ///< serving committed state it vouches for (else SERVFAIL)
  bool disk_error = false;   ///< cannot write data_dir: not acknowledging
  uint64_t view_changes = 0;   ///< views this replica was in view-change status for, since start
};

/// Written by the replica's thread alone (its on_change hook), after every commit and every
/// view or status change.
class ReplicaGauges {
 public:
  explicit ReplicaGauges(uint32_t replica) : replica_(replica) {}

  void record(const protocol::replica_state& vr, bool has_state, bool disk_error) noexcept;
  ReplicaReading read() const noexcept;

 private:
  const uint32_t replica_;
  std::atomic<uint64_t> view_number_{0}, op_number_{0}, commit_number_{0};
  std::atomic<uint32_t> primary_{0};
  std::atomic<int> status_{int(protocol::replica_status::recovering)};
  std::atomic<bool> has_state_{false}, disk_error_{false};
  std::atomic<uint64_t> view_changes_{0};
};

}  // namespace vrdns::app
