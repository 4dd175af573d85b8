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
  if (op < 1 || op > op_number || op > log.size())
    throw std::logic_error("invariant: entry " + std::to_string(op) + " outside log of "
                           + std::to_string(op_number));
  return log[op - 1];
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
  log.resize(op);
  op_number = op;
  ++log_epoch;
  first_unsaved_op = std::min(first_unsaved_op, op + 1);
  dropped_unsaved = true;
}

void replica_state::replace_log(std::vector<log_entry> new_log) {
  // The callers check that the new log covers commit_number (they know which message to blame);
  // this is the last line of defence for "committed entries are never dropped".
  if (new_log.size() < commit_number)
    throw std::logic_error("invariant: replacement log shorter than commit_number");
  // Only the entries that differ need rewriting: a StartView usually extends our log.
  std::uint64_t same = 0;
  while (same < log.size() && same < new_log.size() && log[same] == new_log[same])
    ++same;
  if (same < log.size())
    dropped_unsaved = true;
  first_unsaved_op = std::min(first_unsaved_op, same + 1);
  log = std::move(new_log);
  op_number = log.size();
  ++log_epoch;
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
  out.assign(log.begin() + static_cast<std::ptrdiff_t>(after),
             log.begin() + static_cast<std::ptrdiff_t>(after + count));
  return out;
}

void replica_state::check_invariants() const {
  if (log.size() != op_number)
    throw std::logic_error("invariant: log.size() != op_number");
  if (commit_number > op_number)
    throw std::logic_error("invariant: commit_number > op_number");
  if (execute_number > commit_number)
    throw std::logic_error("invariant: execute_number > commit_number");
  if (last_normal_view > view_number)
    throw std::logic_error("invariant: last_normal_view > view_number");
  if (replica_number >= configuration_size)
    throw std::logic_error("invariant: replica_number outside configuration");
}

} // namespace vrdns::protocol
