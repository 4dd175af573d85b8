#include "protocol/replica_state.hpp"

#include <algorithm>
#include <stdexcept>

namespace vrdns::protocol {

const char* to_string(replica_status s) {
  switch (s) {
    case replica_status::normal: return "normal";
    case replica_status::view_change: return "view_change";
    case replica_status::recovering: return "recovering";
  }
  return "?";
}

replica_state::replica_state(std::size_t n, replica_id me)
  : configuration_size(n), replica_number(me) {
  if (n == 0 || me >= n)
    throw std::invalid_argument("replica_state: replica_number outside configuration");
}

const log_entry& replica_state::entry(std::uint64_t op) const {
  // A throw, not assert(): Release builds define NDEBUG, and an out-of-range op here means the
  // replica's bookkeeping is broken, which must stop it (fail-stop) rather than read garbage.
  if (op <= log_start || op > op_number || op - log_start > log.size())
    throw std::logic_error("invariant: entry " + std::to_string(op) + " outside log "
                           + std::to_string(log_start + 1) + ".." + std::to_string(op_number));
  return log[op - log_start - 1];
}

void replica_state::append(log_entry e) {
  log.push_back(std::move(e));
  ++op_number;
  first_unsaved_op = std::min(first_unsaved_op, op_number);
}

void replica_state::truncate_after(std::uint64_t op) {
  // Committed entries are permanent: dropping one would lose an op the client was told about.
  // Checked in every build (not assert()), so the replica's guard turns it into fail-stop.
  if (op < commit_number)
    throw std::logic_error("invariant: truncating committed op " + std::to_string(op + 1)
                           + " (commit_number " + std::to_string(commit_number) + ")");
  if (op >= op_number)
    return;
  log.resize(op - log_start);
  op_number = op;
  ++log_epoch;
  first_unsaved_op = std::min(first_unsaved_op, op + 1);
  dropped_unsaved = true;
}

void replica_state::adopt_log(std::uint64_t start, std::vector<log_entry> entries) {
  const std::uint64_t new_op = start + entries.size();
  // The callers check that the new log covers commit_number (they know which message to blame);
  // this is the last line of defence for "committed entries are never dropped".
  if (new_op < commit_number)
    throw std::logic_error("invariant: replacement log shorter than commit_number");
  if (!can_adopt(start))
    throw std::logic_error("invariant: adopting a log that starts after commit_number");
  // Entries up to `start` are committed here, so ours are as good as the sender's: keep ours,
  // take the sender's from where ours may differ. Entries before our log_start are not kept by
  // either (a checkpoint covers them).
  const std::uint64_t from = std::max(start, log_start);   // first op taken is from + 1
  std::vector<log_entry> merged;
  merged.reserve(new_op - log_start);
  for (std::uint64_t op = log_start + 1; op <= from && op <= op_number; ++op)
    merged.push_back(std::move(log[op - log_start - 1]));
  // Our own entries up to `from` cover every op up to it: from <= commit_number <= op_number.
  for (std::uint64_t op = from + 1; op <= new_op; ++op)
    merged.push_back(std::move(entries[op - start - 1]));
  // Only the entries that differ need rewriting: a StartView usually extends our log.
  std::uint64_t same = from;
  while (same < op_number && same < new_op
         && log[same - log_start] == merged[same - log_start])
    ++same;
  if (same < op_number)
    dropped_unsaved = true;
  first_unsaved_op = std::min(first_unsaved_op, same + 1);
  log = std::move(merged);
  op_number = new_op;
  ++log_epoch;
}

void replica_state::discard_prefix(std::uint64_t op) {
  if (op > execute_number)
    throw std::logic_error("invariant: discarding unexecuted op " + std::to_string(op));
  if (op <= log_start)
    return;
  log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(op - log_start));
  log_start = op;
  // Entries never saved and now dropped are covered by the checkpoint: the durable log restarts
  // after log_start (persistence::save_log).
  first_unsaved_op = std::max(first_unsaved_op, op + 1);
}

void replica_state::install_checkpoint(std::uint64_t op) {
  if (op < execute_number)
    throw std::logic_error("invariant: checkpoint " + std::to_string(op) + " older than executed "
                           + std::to_string(execute_number));
  if (op >= op_number) {
    log.clear();
    op_number = op;
    first_unsaved_op = op + 1;
    dropped_unsaved = true;   // the durable log no longer connects: it restarts after op
  } else {
    log.erase(log.begin(), log.begin() + static_cast<std::ptrdiff_t>(op - log_start));
    first_unsaved_op = std::max(first_unsaved_op, op + 1);
  }
  log_start = op;
  commit_number = std::max(commit_number, op);
  execute_number = op;
  ++log_epoch;
}

void replica_state::begin_awaiting_state() {
  awaiting_state = true;
  state_verified_through = commit_number;   // committed entries are the same in every view
  state_target.reset();
}

replica_state::merge_result replica_state::merge_view_state(
    std::uint64_t after_op, const std::vector<log_entry>& entries,
    std::uint64_t view_op_number) {
  if (!awaiting_state)
    throw std::logic_error("merge_view_state: not awaiting state");
  if (entries.size() > view_op_number || after_op > view_op_number - entries.size())
    throw std::invalid_argument("merge_view_state: part reaches past the view's log");
  if (!state_target)
    state_target = view_op_number;
  const std::uint64_t verified = state_request_point();
  if (after_op > verified)
    return merge_result::needs_checkpoint;   // a gap between what we verified and the part
  const std::uint64_t end = after_op + entries.size();
  for (std::uint64_t op = std::max(verified, log_start) + 1; op <= end; ++op) {
    const auto& e = entries[op - after_op - 1];
    if (op <= op_number) {
      if (log[op - log_start - 1] == e)
        continue;
      truncate_after(op - 1);   // op > verified >= commit_number: never a committed entry
    }
    append(e);
  }
  state_verified_through = std::max(verified, end);
  if (state_verified_through < *state_target)
    return end > verified ? merge_result::progressed : merge_result::no_progress;
  // Enough: our entries past the verified ones may differ from the view's log (the primary's
  // later parts, asked for as ordinary gaps, replace them).
  truncate_after(state_verified_through);
  awaiting_state = false;
  last_normal_view = view_number;
  return merge_result::complete;
}

std::uint64_t replica_state::advance_commit(std::uint64_t k) {
  commit_number = std::max(commit_number, std::min(k, op_number));
  return commit_number;
}

std::vector<log_entry> replica_state::suffix(std::uint64_t after, std::size_t max_count) const {
  std::vector<log_entry> out;
  if (after >= op_number)
    return out;
  auto count = std::min<std::uint64_t>(op_number - after, max_count);
  if (after < log_start)
    throw std::logic_error("invariant: suffix after " + std::to_string(after)
                           + " reaches before log_start " + std::to_string(log_start));
  out.assign(log.begin() + static_cast<std::ptrdiff_t>(after - log_start),
             log.begin() + static_cast<std::ptrdiff_t>(after - log_start + count));
  return out;
}

std::vector<std::uint64_t> replica_state::record_execution(std::uint64_t client_id,
                                                           std::uint64_t request_number,
                                                           std::string result,
                                                           std::uint64_t op) {
  auto& rec = client_table[client_id];
  if (request_number >= rec.request_number)
    rec = client_record{request_number, std::move(result), op};
  return trim_client_table(client_id);
}

std::vector<std::uint64_t> replica_state::trim_client_table(std::optional<std::uint64_t> keep) {
  std::vector<std::uint64_t> gone;
  if (client_table.size() <= client_table_max)
    return gone;
  // One pass however many go (a table restored from an older version may be far too big):
  // order the candidates by (op, id) just enough to split off the excess.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> candidates;   // (op_number, client id)
  candidates.reserve(client_table.size());
  for (const auto& [id, rec] : client_table)
    if (!keep || id != *keep)
      candidates.emplace_back(rec.op_number, id);
  const std::size_t excess = std::min(client_table.size() - client_table_max, candidates.size());
  std::nth_element(candidates.begin(), candidates.begin() + std::ptrdiff_t(excess),
                   candidates.end());
  candidates.resize(excess);
  std::sort(candidates.begin(), candidates.end());   // the ids returned oldest first
  for (const auto& [op, id] : candidates) {
    client_table.erase(id);
    gone.push_back(id);
  }
  return gone;
}

void replica_state::check_invariants() const {
  if (log_start > op_number || log.size() != op_number - log_start)
    throw std::logic_error("invariant: log.size() != op_number - log_start");
  if (log_start > execute_number)
    throw std::logic_error("invariant: log_start > execute_number");
  if (commit_number > op_number)
    throw std::logic_error("invariant: commit_number > op_number");
  if (execute_number > commit_number)
    throw std::logic_error("invariant: execute_number > commit_number");
  if (last_normal_view > view_number)
    throw std::logic_error("invariant: last_normal_view > view_number");
  if (replica_number >= configuration_size)
    throw std::logic_error("invariant: replica_number outside configuration");
  if (client_table_max == 0 || client_table.size() > client_table_max)
    throw std::logic_error("invariant: client_table larger than client_table_max");
}

} // namespace vrdns::protocol
