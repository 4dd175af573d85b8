// What a replica keeps across a crash (issue #5): its log, its view promises and its latest
// checkpoint. The replica (actors/replica_durability.cpp) saves the log and the view before any message
// leaves it, so nothing it ever said (a PrepareOk, a DoViewChange, a StartView, a Reply) rests
// on state a crash could take away.
//
// No I/O here: storage/replica_store.hpp implements it over the write-ahead log, the view
// state file and the checkpoint files; the simulator uses the same over an in-memory disk with
// crash faults.
#pragma once

#include "protocol/checkpoint.hpp"
#include "protocol/messages.hpp"
#include "protocol/replica_state.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
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

// The view record a replica writes before a log that changes together with its view (StartView,
// NewState, a new primary adopting the best DoViewChange log, the end of recovery), from the
// record on disk and the one it is moving to. The two files cannot be written atomically, and
// either half alone would restart the replica with a log that does not belong to its view.
//
// `only_disagreeing_dropped`: the log change kept every entry the new log agrees with and
// dropped only from the first one it disagrees with (replica_state::adopt_log: StartView, a new
// primary taking the best DoViewChange log; replica_state::merge_view_state: NewState after a
// missed view). Then a crash while the log is rewritten leaves on
// disk a prefix of the new log at least as long as the part the two logs share, and that part
// holds every op of the old log that can have committed (the new log keeps those at the same
// positions: commits survive view changes, in op order). So the record says "view change in
// the new view, with the last_normal_view already on disk": restarted from it, the replica
// takes part in no older view, acknowledges nothing until the primary of the new view gives it
// the view's state (a Prepare or Commit of that view starts a state transfer), and should it
// vote, it offers that prefix labelled with the older view, so it never wins against a log of
// a replica that took part in a newer view.
//
// Otherwise (the end of recovery takes a log unchecked; the paper's literal state transfer
// drops everything after commit_number; a replica still recovering) the half-written log may
// lack ops this replica acknowledged, and it must not vote with it: the record says
// recovering (VR §4.3).
//
// Before this rule the record said "recovering" in every case, and a replica that a crash
// caught in the middle of a StartView restarted recovering; with one more such replica, three
// could not recover at all (recovery needs f+1 normal replicas).
inline durable_view in_flux_view(const durable_view& on_disk, const durable_view& target,
                                 bool only_disagreeing_dropped) {
  auto v = target;
  if (!only_disagreeing_dropped || on_disk.status == replica_status::recovering
      || target.status == replica_status::recovering) {
    v.status = replica_status::recovering;
    return v;
  }
  v.status = replica_status::view_change;
  v.last_normal_view = std::min(target.last_normal_view, on_disk.last_normal_view);
  return v;
}

// What a replica restarted on its own disk starts from: the latest valid checkpoint (if any)
// and the log entries log_start+1 .. log_start+log.size(). The store guarantees
// log_start <= checkpoint->op_number when there is a checkpoint (no gap between the two;
// entries at or before the checkpoint's op are committed and only kept as a margin), and
// log_start == 0 without one.
struct restored_state {
  durable_view view;
  std::optional<checkpoint> latest_checkpoint;
  std::uint64_t log_start = 0;
  std::vector<log_entry> log;
};

class persistence {
public:
  virtual ~persistence() = default;
  // Makes the log durable: `log` holds ops log_start+1 .. log_start+log.size(). Drops whatever
  // is durable from op `first_changed` on, writes the entries from there, and syncs (one fsync
  // for all of it); first_changed >= log_start + 1. When the durable log ends before
  // log_start (a checkpoint was installed past it), the durable log is discarded and starts
  // afresh after log_start. false: not durable (disk full, I/O error); the replica then sends
  // nothing and retries later. Called on the replica's thread only.
  virtual bool save_log(std::uint64_t log_start, const std::vector<log_entry>& log,
                        std::uint64_t first_changed) = 0;
  // Durably replaces the view record. false as above. Replica's thread only.
  virtual bool save_view(const durable_view& v) = 0;
  // Durably writes `c` as the latest checkpoint (temporary names, fsync, rename), then removes
  // older ones. May run on another thread than save_log/save_view, concurrently with them.
  // false as above; the previous checkpoint is then still the latest.
  virtual bool save_checkpoint(const checkpoint& c) = 0;
  // The log before `op` is no longer needed (a durable checkpoint covers it): the store may
  // free it, whole segments at a time. Replica's thread only. false on an I/O error (harmless:
  // the space is reclaimed later).
  virtual bool discard_log_before(std::uint64_t op) = 0;
  // The last error, for the log and status.vrdns. ("" when healthy). Any thread.
  virtual std::string error() const = 0;
};

} // namespace vrdns::protocol
