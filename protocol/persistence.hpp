// What a replica keeps across a crash (issue #5): its log and its view promises. The replica
// (actors/replica.cpp) calls these before any message leaves it, so nothing it ever said (a
// PrepareOk, a DoViewChange, a StartView, a Reply) rests on state a crash could take away.
//
// No I/O here: storage/replica_store.hpp implements it over the write-ahead log and the view
// state file; the simulator uses the same over an in-memory disk with crash faults.
#pragma once

#include "protocol/messages.hpp"
#include "protocol/replica_state.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace vrdns::protocol {

// The promises of replica_state that must survive a crash.
struct durable_view {
  std::uint64_t view_number = 0;
  std::uint64_t last_normal_view = 0;
  replica_status status = replica_status::normal;
  std::uint64_t commit_number = 0;   // a hint, not a promise: lets a restart serve at once
  friend bool operator==(const durable_view&, const durable_view&) = default;
};

inline durable_view durable_view_of(const replica_state& vr) {
  return {vr.view_number, vr.last_normal_view, vr.status, vr.commit_number};
}

// What a replica restarted on its own disk starts from.
struct restored_state {
  durable_view view;
  std::vector<log_entry> log;
};

class persistence {
public:
  virtual ~persistence() = default;
  // Makes `log` durable: drops whatever is durable from op `first_changed` on, writes
  // log[first_changed-1 ..], and syncs (one fsync for all of it). false: not durable (disk
  // full, I/O error); the replica then sends nothing and retries later.
  virtual bool save_log(const std::vector<log_entry>& log, std::uint64_t first_changed) = 0;
  // Durably replaces the view record. false as above.
  virtual bool save_view(const durable_view& v) = 0;
  // The last error, for the log and status.vrdns. ("" when healthy).
  virtual std::string error() const = 0;
};

} // namespace vrdns::protocol
