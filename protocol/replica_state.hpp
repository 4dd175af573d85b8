// The replica state of Figure 2 of VR Revisited, plus last_normal_view (§4.2) and the bookkeeping
// that the actor needs but the paper leaves implicit (execute_number, the pending-state flag).
//
// Pure data with invariant-preserving mutators; no I/O, no CAF. The actor (actors/replica.cpp)
// decides *when* to call these, this file guarantees the log stays well formed.
#pragma once

#include "protocol/messages.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::protocol {

enum class replica_status { normal, view_change, recovering };

const char* to_string(replica_status s);

// client-table entry (§4): the latest request number executed for the client and its result.
struct client_record {
  std::uint64_t request_number = 0;
  std::string result;
};

struct replica_state {
  // --- Figure 2 ---
  std::size_t configuration_size = 0; // the configuration: replicas 0..n-1, sorted by index
  replica_id replica_number = 0;
  std::uint64_t view_number = 0;
  replica_status status = replica_status::normal;
  std::uint64_t op_number = 0;     // == log.size(); op-number k lives at log[k-1]
  std::vector<log_entry> log;
  std::uint64_t commit_number = 0; // highest op-number known committed
  std::map<std::uint64_t, client_record> client_table;
  // --- §4.2 ---
  std::uint64_t last_normal_view = 0; // latest view in which status was normal with this log
  // --- implementation ---
  std::uint64_t execute_number = 0;  // ops applied to the service; trails commit_number briefly
  // True while the replica knows a newer view than its log belongs to and waits for NewState
  // (safe state transfer, docs/vr.md): the log is kept untouched and still belongs to
  // last_normal_view, so a DoViewChange sent meanwhile is truthful.
  bool awaiting_state = false;
  // Bumped whenever entries are removed or replaced (never by append), so observers such as the
  // simulator know when a log prefix they already checked must be checked again.
  std::uint64_t log_epoch = 0;
  // The lowest op-number whose entry changed (appended, replaced or dropped) since the log was
  // last made durable; op_number + 1 when nothing changed. The replica's persistence
  // (protocol/persistence.hpp) rewrites from here and then calls mark_saved().
  std::uint64_t first_unsaved_op = 1;
  bool log_saved() const { return first_unsaved_op > op_number && !dropped_unsaved; }
  void mark_saved() {
    first_unsaved_op = op_number + 1;
    dropped_unsaved = false;
  }
  bool dropped_unsaved = false;   // entries were dropped after first_unsaved_op - 1

  replica_state() = default;
  replica_state(std::size_t n, replica_id me);

  std::size_t f() const { return (configuration_size - 1) / 2; }
  std::size_t quorum() const { return f() + 1; }
  replica_id primary_of(std::uint64_t view) const {
    return static_cast<replica_id>(view % configuration_size);
  }
  bool is_primary() const { return primary_of(view_number) == replica_number; }

  const log_entry& entry(std::uint64_t op) const; // op in 1..op_number

  // Appends one entry as op_number+1.
  void append(log_entry e);
  // Drops every entry after op (used only where the paper replaces a log suffix).
  void truncate_after(std::uint64_t op);
  // Replaces the whole log (StartView, DoViewChange winner, RecoveryResponse).
  void replace_log(std::vector<log_entry> new_log);
  // Raises commit_number (never lowers it); clamps to op_number since ops we do not hold cannot
  // be executed yet. Returns the new commit_number.
  std::uint64_t advance_commit(std::uint64_t k);
  // Entries after `after` up to at most `max_count` of them.
  std::vector<log_entry> suffix(std::uint64_t after, std::size_t max_count) const;

  // Asserts the structural invariants (commit_number <= op_number, log.size() == op_number, ...).
  // Cheap; called after every handler.
  void check_invariants() const;
};

} // namespace vrdns::protocol
