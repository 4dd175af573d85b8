#include "storage/replica_store.hpp"

#include "common/little_endian.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace vrdns::storage {

namespace {

durable_status to_durable(protocol::replica_status s) {
  switch (s) {
    case protocol::replica_status::normal: return durable_status::normal;
    case protocol::replica_status::view_change: return durable_status::view_change;
    case protocol::replica_status::recovering: return durable_status::recovering;
  }
  return durable_status::recovering;
}

protocol::replica_status from_durable(durable_status s) {
  switch (s) {
    case durable_status::normal: return protocol::replica_status::normal;
    case durable_status::view_change: return protocol::replica_status::view_change;
    case durable_status::recovering: return protocol::replica_status::recovering;
  }
  return protocol::replica_status::recovering;
}

} // namespace

std::string encode_log_entry(const protocol::log_entry& e) {
  std::string out(16, '\0');
  put_le(out, 0, e.client_id, 8);
  put_le(out, 8, e.request_number, 8);
  out += e.op;
  return out;
}

std::optional<protocol::log_entry> decode_log_entry(std::string_view payload) {
  if (payload.size() < 16)
    return std::nullopt;
  protocol::log_entry e;
  e.client_id = get_le(payload, 0, 8);
  e.request_number = get_le(payload, 8, 8);
  e.op = std::string(payload.substr(16));
  return e;
}

io_result<std::unique_ptr<replica_store>> replica_store::open(
  directory& dir, std::uint32_t replica_number, std::uint64_t cluster_id,
  std::optional<protocol::restored_state>& restored, replica_store_report& report,
  wal_options options, checkpoint_options checkpoints) {
  using result = io_result<std::unique_ptr<replica_store>>;
  restored.reset();
  report = {};
  std::optional<view_state> view;
  auto views = view_state_store::open(dir, replica_number, cluster_id, view);
  if (!views.error.ok())
    return result::failure(views.error);
  std::optional<protocol::checkpoint> latest;
  checkpoint_load_report loaded;
  auto ckpts = checkpoint_store::open(dir, latest, loaded, checkpoints);
  if (!ckpts.ok())
    return result::failure(ckpts.error);
  report.corrupt_checkpoints = std::move(loaded.corrupt);
  report.checkpoint_leftovers_removed = loaded.leftovers_removed;
  if (latest)
    report.checkpoint_op = latest->op_number;
  wal_recovery recovered;
  auto log = wal::open(dir, options, recovered);
  if (!log.error.ok())
    return result::failure(log.error);
  auto& w = *log.value;
  report.torn_bytes = recovered.torn_bytes;
  report.corruption = recovered.corruption;
  report.found_state = view.has_value() || latest.has_value() || w.segment_count() > 0
                       || !recovered.entries.empty() || recovered.corruption;

  std::unique_ptr<replica_store> store(new replica_store(
    std::move(log.value), std::move(views.value), std::move(ckpts.value), replica_number,
    cluster_id));
  if (!report.found_state)
    return {std::move(store), {}};

  protocol::restored_state r;
  if (view) {
    r.view = {view->view_number, view->last_normal_view, from_durable(view->status),
              view->commit_number};
  } else {
    // A replica writes its view record before anything it acts on, so state without one was
    // saved by a blank replica that had not finished asking (a fetched checkpoint): it promised
    // nothing yet, but neither may it resume as a normal replica of view 0. Recover.
    r.view.status = protocol::replica_status::recovering;
  }
  // Everything up to the checkpoint is committed (a checkpoint holds committed state only).
  const std::uint64_t checkpoint_op = latest ? latest->op_number : 0;
  r.view.commit_number = std::max(r.view.commit_number, checkpoint_op);
  r.latest_checkpoint = std::move(latest);

  const std::uint64_t wal_start = w.first_op() - 1; // the op before the WAL's first entry
  bool usable = !recovered.corruption;
  for (const auto& e : recovered.entries) {
    auto entry = decode_log_entry(e.payload);
    if (!entry || e.op_number != wal_start + r.log.size() + 1) { // checksummed: a bug or rot
      report.corruption = wal_corruption{e.op_number, {}, 0, "undecodable log entry"};
      usable = false;
      break;
    }
    r.log.push_back(std::move(*entry));
  }
  if (usable && wal_start > checkpoint_op) {
    // Ops checkpoint_op+1 .. wal_start are neither in a checkpoint nor in the log: the
    // checkpoint that covered them was lost (corrupt) or never became durable.
    report.log_gap = std::make_pair(wal_start, checkpoint_op);
    usable = false;
  }

  if (usable) {
    if (wal_start + r.log.size() <= checkpoint_op) {
      r.log.clear(); // all of it committed and covered: the log resumes after the checkpoint
      r.log_start = checkpoint_op;
    } else {
      r.log_start = wal_start; // <= checkpoint_op: the entries between are a margin
    }
  } else {
    // Part of what this replica acknowledged is unreadable: recover it from the peers (§4.3).
    // The promise first, then the log: emptied after the checkpoint, so that recovery's log
    // follows it.
    r.view.status = protocol::replica_status::recovering;
    r.log.clear();
    r.log_start = checkpoint_op;
    if (io_error e = store->views_->write(store->record_of(r.view)); !e.ok())
      return result::failure(e);
    if (io_error e = store->wal_->reset(checkpoint_op); !e.ok())
      return result::failure(e);
  }
  restored = std::move(r);
  return {std::move(store), {}};
}

view_state replica_store::record_of(const protocol::durable_view& v) const {
  view_state s;
  s.replica_number = replica_number_;
  s.cluster_id = cluster_id_;
  s.view_number = v.view_number;
  s.last_normal_view = v.last_normal_view;
  // A recovering replica (VR §4.3) holds placeholders (view 0) until the others tell it the
  // current view; the record keeps the highest view it ever promised. Its last_normal_view
  // cannot truly go back either: recovery waits for f+1 answers, which include a replica of
  // every view that became normal, so the view it learns is at least the one on record.
  if (const auto& cur = views_->current()) {
    s.view_number = std::max(s.view_number, cur->view_number);
    s.last_normal_view = std::max(s.last_normal_view, cur->last_normal_view);
  }
  s.status = to_durable(v.status);
  s.commit_number = v.commit_number;
  return s;
}

bool replica_store::fail(const io_error& e) {
  std::lock_guard lock(error_mutex_);
  log_error_ = e.message.empty() ? "I/O error " + std::to_string(e.code) : e.message;
  return false;
}

bool replica_store::fail_checkpoint(const io_error& e) {
  std::lock_guard lock(error_mutex_);
  checkpoint_error_ = "checkpoint: "
                      + (e.message.empty() ? "I/O error " + std::to_string(e.code) : e.message);
  return false;
}

void replica_store::clear_error(bool checkpoint) {
  std::lock_guard lock(error_mutex_);
  (checkpoint ? checkpoint_error_ : log_error_).clear();
}

std::string replica_store::error() const {
  std::lock_guard lock(error_mutex_);
  return log_error_.empty() ? checkpoint_error_ : log_error_;
}

bool replica_store::save_log(std::uint64_t log_start, const std::vector<protocol::log_entry>& log,
                             std::uint64_t first_changed) {
  auto& w = *wal_;
  const std::uint64_t end = log_start + log.size();
  // Whatever the WAL holds past the in-memory log goes too, and nothing before log_start can
  // have changed.
  first_changed = std::clamp(first_changed, log_start + 1, end + 1);
  if (w.last_op() < log_start || first_changed < w.first_op()) {
    // The WAL cannot be cut back to first_changed - 1: it ends before log_start (a checkpoint
    // was installed past it), or the change starts before its first entry (recovery replaced
    // the whole log). Restart it after log_start and write the whole log.
    if (io_error e = w.reset(log_start); !e.ok())
      return fail(e);
    first_changed = log_start + 1;
  } else if (w.last_op() >= first_changed) {
    // A view change replaced the suffix from first_changed on.
    if (io_error e = w.truncate_after(first_changed - 1); !e.ok())
      return fail(e);
  }
  // Invariant: the WAL now ends inside the log (at or after log_start), so it connects.
  if (w.last_op() < log_start || w.last_op() > end)
    throw std::logic_error("replica_store: WAL ends at " + std::to_string(w.last_op())
                           + ", outside the log " + std::to_string(log_start) + ".."
                           + std::to_string(end));
  for (std::uint64_t op = w.last_op() + 1; op <= end; ++op)
    w.append(op, 0, encode_log_entry(log[op - log_start - 1]));
  auto synced = w.sync();
  if (!synced.error.ok())
    return fail(synced.error);
  clear_error(false);
  return true;
}

bool replica_store::save_view(const protocol::durable_view& v) {
  if (io_error e = views_->write(record_of(v)); !e.ok())
    return fail(e);
  clear_error(false);
  return true;
}

bool replica_store::save_checkpoint(const protocol::checkpoint& c) {
  if (io_error e = checkpoints_->write(c); !e.ok())
    return fail_checkpoint(e);
  clear_error(true);
  return true;
}

bool replica_store::discard_log_before(std::uint64_t op) {
  // Never past what a durable checkpoint covers, whatever the caller asks: the WAL is then the
  // only copy of those ops.
  const auto covered = checkpoints_->latest_op();
  if (!covered)
    return true;
  op = std::min(op, *covered + 1);
  if (io_error e = wal_->truncate_before(op); !e.ok())
    return fail(e);
  return true;
}

} // namespace vrdns::storage
