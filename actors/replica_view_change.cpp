// View change (§4.2) of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

void reset_view_bookkeeping(self_ptr self) {
  auto& st = self->state;
  st.start_view_change_from.clear();
  st.do_view_change_from.clear();
  st.sent_do_view_change = false;
  st.pending.clear(); // accepted by a deposed primary: clients resend
  st.inflight.clear();
  st.acked.assign(st.vr.configuration_size, 0);
}

void start_view_change(self_ptr self, std::uint64_t view, const std::string& why) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view <= vr.view_number)
    throw std::logic_error("start_view_change must move to a newer view (view monotone)");
  if (vr.status != replica_status::view_change)
    notice_view(self, "view change from view " + std::to_string(vr.view_number) + " to "
                        + std::to_string(view) + ": " + why);
  vr.view_number = view;
  // While awaiting state our log still belongs to last_normal_view, exactly what DoViewChange
  // must report, so dropping the flag here is safe.
  vr.awaiting_state = false;
  reset_view_bookkeeping(self);
  auto t = now(self);
  st.view_change_deadline
    = t + random_timeout(st.rng, st.opt.view_change_timeout, st.opt.timeout_jitter);
  st.view_change_resend_at = t + st.opt.resend;
  set_status(self, replica_status::view_change);
  broadcast(self, StartViewChange{view, vr.replica_number});
}

DoViewChange make_do_view_change(const replica_state& vr) {
  return DoViewChange{vr.view_number,      vr.log_start, vr.log, vr.last_normal_view,
                      vr.op_number,        vr.commit_number, vr.replica_number};
}

StartView make_start_view(const replica_state& vr) {
  return StartView{vr.view_number, vr.log_start, vr.log, vr.op_number, vr.commit_number};
}

void maybe_send_do_view_change(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (st.sent_do_view_change || st.start_view_change_from.size() < vr.f())
    return;
  st.sent_do_view_change = true;
  auto d = make_do_view_change(vr);
  if (vr.primary_of(vr.view_number) == vr.replica_number)
    on_do_view_change(self, d);
  else
    send_to(self, vr.primary_of(vr.view_number), d);
}

void on_start_view_change(self_ptr self, const StartViewChange& m) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (m.replica >= vr.configuration_size || m.replica == vr.replica_number)
    return;
  if (m.view_number > vr.view_number)
    start_view_change(self, m.view_number,
                      "replica " + std::to_string(m.replica) + " started it");
  if (m.view_number == vr.view_number && vr.status == replica_status::view_change) {
    st.start_view_change_from.insert(m.replica);
    maybe_send_do_view_change(self);
  }
}

void start_new_view_as_primary(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  // The log with the largest (last_normal_view, op_number) holds every committed op (§4.2 step 3).
  const DoViewChange* best = nullptr;
  std::uint64_t commit = 0;
  for (const auto& [from, d] : st.do_view_change_from) {
    if (!best || std::tie(d.last_normal_view, d.op_number)
                     > std::tie(best->last_normal_view, best->op_number))
      best = &d;
    commit = std::max(commit, d.commit_number);
  }
  if (commit > best->op_number)
    throw std::logic_error("chosen log is shorter than a reported commit_number");
  if (vr.commit_number > best->op_number)
    return; // a checkpoint we fetched since went past it: let this view time out
  if (!vr.can_adopt(best->log_start)) {
    // The chosen log starts after our committed prefix: take its sender's checkpoint first
    // (after_checkpoint_installed comes back here). The view change may time out meanwhile;
    // then another replica leads the next view.
    fetch_checkpoint(self, best->replica);
    return;
  }
  vr.adopt_log(best->log_start, best->log);
  vr.advance_commit(commit);
  vr.last_normal_view = vr.view_number;
  reset_view_bookkeeping(self);
  if (vr.op_number > vr.commit_number)
    st.inflight.push_back(vr.op_number); // the inherited uncommitted suffix is one batch
  set_status(self, replica_status::normal);
  broadcast(self, make_start_view(vr));
  st.last_prepare_sent = st.last_commit_sent = now(self);
  execute_committed(self);
  if (vr.f() == 0)
    try_commit(self);
}

void on_do_view_change(self_ptr self, const DoViewChange& d) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (d.replica >= vr.configuration_size || d.log_start > d.commit_number
      || d.log.size() != d.op_number - d.log_start || d.commit_number > d.op_number
      || d.last_normal_view >= d.view_number)
    return; // malformed
  if (vr.primary_of(d.view_number) != vr.replica_number)
    return; // not addressed to the primary of that view
  if (d.view_number > vr.view_number)
    start_view_change(self, d.view_number,
                      "replica " + std::to_string(d.replica) + " sent DoViewChange");
  if (d.view_number != vr.view_number)
    return;
  if (vr.status == replica_status::normal) {
    // A replica still changing to the view we already lead missed StartView: resend it.
    if (!vr.awaiting_state)
      send_to(self, d.replica, make_start_view(vr));
    return;
  }
  if (vr.status != replica_status::view_change)
    return;
  st.do_view_change_from[d.replica] = d;
  if (d.replica != vr.replica_number) {
    st.start_view_change_from.insert(d.replica); // it started the view change too
    maybe_send_do_view_change(self);
  }
  if (st.do_view_change_from.size() >= vr.quorum()
      && st.do_view_change_from.count(vr.replica_number))
    start_new_view_as_primary(self);
}

void on_start_view(self_ptr self, const StartView& sv) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (sv.log_start > sv.commit_number || sv.commit_number > sv.op_number
      || sv.log.size() != sv.op_number - sv.log_start)
    return; // malformed
  if (vr.primary_of(sv.view_number) == vr.replica_number)
    return;
  if (sv.view_number < vr.view_number
      || (sv.view_number == vr.view_number && vr.status == replica_status::normal
          && !vr.awaiting_state))
    return; // old or duplicate
  if (vr.commit_number > sv.op_number)
    return; // stale: a checkpoint we installed since it was sent already covers more
  if (!vr.can_adopt(sv.log_start)) {
    // Its log starts after our committed prefix: join the view as a replica awaiting its state
    // (our log still belongs to last_normal_view) and fetch the primary's checkpoint.
    begin_state_transfer(self, sv.view_number);
    fetch_checkpoint(self, vr.primary_of(sv.view_number));
    return;
  }
  vr.view_number = sv.view_number;
  vr.adopt_log(sv.log_start, sv.log);
  vr.advance_commit(sv.commit_number);
  vr.last_normal_view = vr.view_number;
  vr.awaiting_state = false;
  reset_view_bookkeeping(self);
  set_status(self, replica_status::normal);
  st.heard_primary = true;
  execute_committed(self);
  if (vr.op_number > vr.commit_number)
    ack_primary(self);
}

// We learned that `view` runs in normal status without us (§5.2).
void begin_state_transfer(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view < vr.view_number)
    throw std::logic_error("view_number must be monotone");
  vr.view_number = view;
  reset_view_bookkeeping(self);
  if (st.opt.unsafe_paper_state_transfer) {
    // BUG ON PURPOSE: the paper's literal §5.2 drops the uncommitted suffix now and claims the
    // new view for the shortened log. Ops this replica acknowledged can then vanish.
    vr.truncate_after(vr.commit_number);
    st.unsaved_unchecked_drop = true;
    vr.last_normal_view = view;
  }
  vr.begin_awaiting_state();
  if (vr.status != replica_status::normal)
    set_status(self, replica_status::normal);
  st.heard_primary = true;
  send_get_state(self, vr.state_request_point());
}

} // namespace vrdns::actors::replica_impl
