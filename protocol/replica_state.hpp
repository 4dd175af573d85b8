// The replica state of Figure 2 of VR Revisited, plus last_normal_view (§4.2) and the bookkeeping
// that the actor needs but the paper leaves implicit (execute_number, the pending-state flag).
//
// Pure data with invariant-preserving mutators; no I/O, no CAF. The actor (actors/replica*.cpp)
// decides *when* to call these, this file guarantees the log stays well formed.
#pragma once

#include "protocol/messages.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vrdns::protocol {

enum class replica_status { normal, view_change, recovering };

const char* to_string(replica_status s);

// client-table entry (§4): the latest request number executed for the client and its result.
struct client_record {
  std::uint64_t request_number = 0;
  std::string result;
  // The op that executed that request: how recently the client was heard, for eviction
  // (replica_state::record_execution). 0 in a checkpoint from before it was kept.
  std::uint64_t op_number = 0;
  bool operator==(const client_record&) const = default;
};

// The paper's client_table never forgets a client, and every process start of a node brings
// new client ids (app/replica_node.cpp), so without a bound the table (and every checkpoint)
// would grow with restarts forever. Beyond this many clients the one heard least recently goes.
// A client of ours resends a request for at most its call timeout (seconds); for its entry to
// go meanwhile, thousands of other clients would have to execute requests in that time, when a
// cluster has a handful of live clients per node. The value is part of the replicated state's
// definition: replicas with different bounds would keep different tables.
inline constexpr std::size_t default_client_table_max = 4096;

struct replica_state {
  // --- Figure 2 ---
  std::size_t configuration_size = 0; // the configuration: replicas 0..n-1, sorted by index
  replica_id replica_number = 0;
  std::uint64_t view_number = 0;
  replica_status status = replica_status::normal;
  std::uint64_t op_number = 0;     // == log_start + log.size(); op k lives at log[k-log_start-1]
  std::vector<log_entry> log;
  // --- checkpoints (protocol/checkpoint.hpp) ---
  // Ops up to log_start are no longer in `log`: a checkpoint covers them (they are committed and
  // executed, so log_start <= execute_number). 0 until the first checkpoint.
  std::uint64_t log_start = 0;
  std::uint64_t commit_number = 0; // highest op-number known committed
  std::map<std::uint64_t, client_record> client_table;
  std::size_t client_table_max = default_client_table_max;   // >= 1
  // --- §4.2 ---
  std::uint64_t last_normal_view = 0; // latest view in which status was normal with this log
  // --- implementation ---
  std::uint64_t execute_number = 0;  // ops applied to the service; trails commit_number briefly
  // True while the replica knows a newer view than its log belongs to and waits for NewState
  // (safe state transfer, docs/vr.md): the log is only merged with the view's by comparison
  // (merge_view_state) and still counts as last_normal_view's, so a DoViewChange sent meanwhile
  // is truthful.
  bool awaiting_state = false;
  // While awaiting_state: entries up to here are known to be the current view's (committed ones,
  // or compared with parts of its log that NewStates brought). The next part is asked from here.
  std::uint64_t state_verified_through = 0;
  // While awaiting_state: the primary's op_number in the first NewState of this transfer. The
  // view's log was at least this long when the view began (a primary's log only grows within
  // its view), so once our log is verified this far it holds everything a log labelled with the
  // view must hold; the rest is ordinary gap filling. Not "the primary's op_number now": under a
  // steady load that can grow by more than one part per round trip, and the transfer would never
  // end.
  std::optional<std::uint64_t> state_target;
  std::uint64_t state_request_point() const {
    return std::max(state_verified_through, commit_number);
  }
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
  // Entries up to `op` are durable now: an append-only save of them ended, and nothing was
  // removed or replaced since it began (log_epoch unchanged, checked by the caller).
  void mark_saved_through(std::uint64_t op) {
    if (dropped_unsaved)
      throw std::logic_error("invariant: append-only save completed over a replaced log");
    first_unsaved_op = std::max(first_unsaved_op, std::min(op, op_number) + 1);
  }
  // The highest op whose entry, as this log holds it, is durable.
  std::uint64_t saved_op() const {
    return log_saved() ? op_number : std::min(first_unsaved_op - 1, op_number);
  }

  replica_state() = default;
  replica_state(std::size_t n, replica_id me);

  std::size_t f() const { return (configuration_size - 1) / 2; }
  std::size_t quorum() const { return f() + 1; }
  replica_id primary_of(std::uint64_t view) const {
    return static_cast<replica_id>(view % configuration_size);
  }
  bool is_primary() const { return primary_of(view_number) == replica_number; }

  const log_entry& entry(std::uint64_t op) const; // op in log_start+1..op_number

  // Appends one entry as op_number+1.
  void append(log_entry e);
  // Drops every entry after op (used only where the paper replaces a log suffix).
  void truncate_after(std::uint64_t op);
  // Takes the log of another replica (StartView, DoViewChange winner, RecoveryResponse):
  // `entries` are its ops start+1 .. start+entries.size(). Our entries up to `start` are kept
  // where we have them (committed, so identical); the caller checks can_adopt(start) first.
  void adopt_log(std::uint64_t start, std::vector<log_entry> entries);
  // A log starting after `start` connects to ours only if everything up to `start` is committed
  // here (a checkpoint or our committed entries); otherwise we need a checkpoint first.
  bool can_adopt(std::uint64_t start) const { return start <= commit_number; }
  // Drops the entries up to `op` (a durable checkpoint covers them). op <= execute_number.
  void discard_prefix(std::uint64_t op);
  // The service now holds the state after op `op` (a checkpoint from another replica or from
  // the disk, op > commit_number or no log yet): commit and execution jump to it, entries up to
  // it are dropped, entries after it are kept (they still belong to last_normal_view, and are
  // replaced the usual way when the current view's log arrives).
  void install_checkpoint(std::uint64_t op);
  // We learned that the current view runs without us (§5.2): our log still belongs to
  // last_normal_view and changes only by merging the view's own log with it (merge_view_state).
  void begin_awaiting_state();
  // What a part of the current view's log (a NewState: its ops after_op+1 .. after_op+size, the
  // primary's log ending at view_op_number) did to a replica awaiting_state.
  enum class merge_result {
    needs_checkpoint,   // starts past what we have verified: the primary's log starts later
    no_progress,        // nothing we had not verified already (a late duplicate)
    progressed,         // verified further; more parts follow
    complete,           // our log is a prefix of the view's log that holds at least the log the
                        // view began with: awaiting_state is over, last_normal_view set
  };
  // Merges by comparison, one part at a time (parts are capped in size): entries that agree
  // are kept, ours are replaced from the first that differs. last_normal_view changes only
  // once the log is verified as far as state_target, because a log labelled with the new view
  // must hold everything the view's log held when it started (every op committed before it); a
  // shorter prefix could win a later view change over an older log holding committed ops. Until
  // then our log is a mix, safely labelled with the old view: what we replaced differed from the
  // view's log, so it was never committed in a view up to ours (docs/vr.md, "State transfer").
  merge_result merge_view_state(std::uint64_t after_op, const std::vector<log_entry>& entries,
                                std::uint64_t view_op_number);
  // Raises commit_number (never lowers it); clamps to op_number since ops we do not hold cannot
  // be executed yet. Returns the new commit_number.
  std::uint64_t advance_commit(std::uint64_t k);
  // Entries after `after` up to at most `max_count` of them.
  std::vector<log_entry> suffix(std::uint64_t after, std::size_t max_count) const;

  // The client_table after op `op` executed `request_number` of `client_id` with `result`
  // (§4.1 step 5; an older request number than the recorded one changes nothing), then
  // trim_client_table keeping that client. Returns the ids forgotten.
  std::vector<std::uint64_t> record_execution(std::uint64_t client_id,
                                              std::uint64_t request_number, std::string result,
                                              std::uint64_t op);
  // While the table holds more than client_table_max clients, forgets the one whose latest op
  // is oldest (ties: the lowest id), never `keep`. Every replica executes the same ops in the
  // same order, so every replica forgets the same clients. Returns the ids forgotten.
  std::vector<std::uint64_t> trim_client_table(std::optional<std::uint64_t> keep = std::nullopt);

  // Asserts the structural invariants (log_start <= execute_number <= commit_number <= op_number,
  // log.size() == op_number - log_start, ...).
  // Cheap; called after every handler.
  void check_invariants() const;
};

} // namespace vrdns::protocol
