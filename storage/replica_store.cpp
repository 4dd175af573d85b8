#include "storage/replica_store.hpp"

#include "storage/little_endian.hpp"

#include <algorithm>
#include <cerrno>

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
  wal_options options) {
  using result = io_result<std::unique_ptr<replica_store>>;
  restored.reset();
  report = {};
  std::optional<view_state> view;
  auto views = view_state_store::open(dir, replica_number, cluster_id, view);
  if (!views.error.ok())
    return result::failure(views.error);
  wal_recovery recovered;
  auto log = wal::open(dir, options, recovered);
  if (!log.error.ok())
    return result::failure(log.error);
  report.torn_bytes = recovered.torn_bytes;
  report.corruption = recovered.corruption;
  report.found_state = view.has_value() || !recovered.entries.empty() || recovered.corruption;

  protocol::restored_state r;
  if (view) {
    r.view = {view->view_number, view->last_normal_view, from_durable(view->status),
              view->commit_number};
  }
  bool usable = !recovered.corruption;
  for (const auto& e : recovered.entries) {
    auto entry = decode_log_entry(e.payload);
    if (!entry || e.op_number != r.log.size() + 1) {   // checksummed, so this is a bug or rot
      usable = false;
      break;
    }
    r.log.push_back(std::move(*entry));
  }
  if (!usable) {
    // Part of what this replica acknowledged is unreadable: recover it from the peers (§4.3).
    // The log is emptied so that recovery's replacement log is written from op 1 on.
    auto& w = *log.value;
    auto e = w.truncate_after(w.first_op() - 1);
    if (!e.ok())
      return result::failure(e);
    r.log.clear();
    r.view.status = protocol::replica_status::recovering;
  }
  if (report.found_state)
    restored = std::move(r);
  return result{std::unique_ptr<replica_store>(new replica_store(
                  std::move(log.value), std::move(views.value), replica_number, cluster_id)),
                {}};
}

bool replica_store::fail(const io_error& e) {
  error_ = e.message.empty() ? "I/O error " + std::to_string(e.code) : e.message;
  return false;
}

bool replica_store::save_log(const std::vector<protocol::log_entry>& log,
                             std::uint64_t first_changed) {
  auto& w = *wal_;
  if (first_changed == 0)
    first_changed = 1;
  // Drop whatever the WAL holds from first_changed on (a view change replaced that suffix).
  if (w.last_op() >= first_changed) {
    auto e = w.truncate_after(first_changed - 1);
    if (!e.ok())
      return fail(e);
  }
  for (std::uint64_t op = w.last_op() + 1; op <= log.size(); ++op)
    w.append(op, 0, encode_log_entry(log[op - 1]));
  auto synced = w.sync();
  if (!synced.error.ok())
    return fail(synced.error);
  error_.clear();
  return true;
}

bool replica_store::save_view(const protocol::durable_view& v) {
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
  auto e = views_->write(s);
  if (!e.ok())
    return fail(e);
  error_.clear();
  return true;
}

} // namespace vrdns::storage
