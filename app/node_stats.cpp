#include "app/node_stats.hpp"

namespace vrdns::app {

void ReplicaGauges::record(const protocol::replica_state& vr, bool has_state,
                           bool disk_error) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  const int status = int(vr.status);
  // A view change that fails and starts again for a higher view is another one.
  if (vr.status == protocol::replica_status::view_change &&
      (status_.load(relaxed) != status || view_number_.load(relaxed) != vr.view_number))
    view_changes_.store(view_changes_.load(relaxed) + 1, relaxed);   // the only writer
  view_number_.store(vr.view_number, relaxed);
  op_number_.store(vr.op_number, relaxed);
  commit_number_.store(vr.commit_number, relaxed);
  primary_.store(uint32_t(vr.primary_of(vr.view_number)), relaxed);
  status_.store(status, relaxed);
  has_state_.store(has_state, relaxed);
  disk_error_.store(disk_error, relaxed);
}

ReplicaReading ReplicaGauges::read() const noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  ReplicaReading r;
  r.replica = replica_;
  r.view_number = view_number_.load(relaxed);
  r.op_number = op_number_.load(relaxed);
  r.commit_number = commit_number_.load(relaxed);
  r.primary = primary_.load(relaxed);
  r.status = protocol::replica_status(status_.load(relaxed));
  r.has_state = has_state_.load(relaxed);
  r.disk_error = disk_error_.load(relaxed);
  r.view_changes = view_changes_.load(relaxed);
  return r;
}

}  // namespace vrdns::app
