// Timers and failure suspicion of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

// A Prepare or PrepareOk was lost. Only backups that have not acknowledged everything get the
// entries again, starting after what they acknowledged (not the whole uncommitted suffix to
// everybody): with 5 replicas the blanket resend multiplied the load on a lossy network. Backups
// that hold everything get a Commit instead, which is also their heartbeat: without it they
// would hear nothing while the commit waits for slower backups, and would suspect the primary.
void resend_prepares(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  for (replica_id i = 0; i < st.peers.size(); ++i) {
    if (i == vr.replica_number)
      continue;
    if (st.acked[i] >= vr.op_number) {
      send_to(self, i, Commit{vr.view_number, vr.commit_number});
      continue;
    }
    // Entries it acknowledged are not resent. A backup that lags behind commit_number gets the
    // uncommitted suffix as before and fetches its gap with GetState (bounded message size).
    auto after = std::max(st.acked[i], vr.commit_number);
    auto entries = vr.suffix(after, st.opt.transfer_max);
    send_to(self, i, Prepare{vr.view_number, after + entries.size(), vr.commit_number,
                             std::move(entries)});
  }
}

// Our tick was handled `overdue` after it was due: at least pause_threshold means this replica
// was not running (see replica_options::pause_threshold), and the primary's silence meanwhile
// is not its fault.
void note_pause(self_ptr self, failure_detector::duration overdue) {
  auto& st = self->state;
  if (st.opt.pause_threshold.count() <= 0 || overdue < st.opt.pause_threshold)
    return;
  st.paused_in_silence = std::min<failure_detector::duration>(st.paused_in_silence + overdue,
                                                              st.opt.pause_allowance);
}

// How long the primary of our view has been silent, not counting our own pauses.
failure_detector::duration primary_silence(const replica_actor_state& st, time_point t) {
  return std::max<failure_detector::duration>(t - st.last_heard_primary - st.paused_in_silence,
                                              failure_detector::duration::zero());
}

// A timed suspicion (our detector gave up) that our own pauses explain: the primary has not been
// silent for primary_timeout of the time we were running. Re-arms the detector instead, so the
// primary gets a fresh timeout from now; the allowance bounds how often that can happen.
bool excused_by_pause(self_ptr self) {
  auto& st = self->state;
  if (st.paused_in_silence == failure_detector::duration::zero())
    return false;
  auto t = now(self);
  if (primary_silence(st, t) >= st.opt.primary_timeout)
    return false;
  ++st.pauses_excused;
  st.rearm_detector = true;   // sync_detector sends fd_watch: a new deadline from now
  if (st.opt.on_notice && st.pause_notices.admit(t)) {
    st.pause_notices.left_out = 0;   // the line counts every excuse anyway
    using ms = std::chrono::milliseconds;
    st.opt.on_notice(
      "this replica was not running for "
      + std::to_string(std::chrono::duration_cast<ms>(st.paused_in_silence).count())
      + " ms of the primary's " + std::to_string(std::chrono::duration_cast<ms>(
                                      t - st.last_heard_primary).count())
      + " ms of silence (host overloaded?), so it does not doubt the primary yet; suspicions"
      + " excused so far: " + std::to_string(st.pauses_excused));
  }
  return true;
}

// A backup of a brand-new cluster that has not heard the primary of view 0 yet, within
// replica_options::first_contact_timeout of following it.
bool awaiting_first_contact(const replica_actor_state& st, time_point t) {
  return st.first_contact_pending && t - st.last_heard_primary < st.opt.first_contact_timeout;
}

// A timed suspicion of a new cluster's primary that may simply not have started yet: re-arms
// the detector instead, and tells the operator once.
bool excused_by_first_contact(self_ptr self) {
  auto& st = self->state;
  if (!awaiting_first_contact(st, now(self)))
    return false;
  st.rearm_detector = true;
  if (st.opt.on_notice && !st.first_contact_noted) {
    st.first_contact_noted = true;
    st.opt.on_notice(
      "the primary of the new cluster (replica " + std::to_string(st.vr.primary_of(0))
      + ") has not been heard yet; it has "
      + std::to_string(st.opt.first_contact_timeout.count())
      + " ms to start before this replica doubts it");
  }
  return true;
}

void on_tick(self_ptr self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.tick_generation)
    return; // a superseded timer chain
  self->delayed_send(self, st.opt.tick, vr_tick_atom::value, generation);
  auto& vr = st.vr;
  auto t = now(self);
  // Only the part of the stall after the primary was last heard is silence it could excuse
  // (a handler that heard the primary and then blocked in fsync made the tick late too).
  note_pause(self, t - std::max(st.tick_due, st.last_heard_primary));
  st.tick_due = t + st.opt.tick;
  on_fetch_tick(self);
  switch (vr.status) {
    case replica_status::normal:
      if (vr.is_primary() && !vr.awaiting_state) {
        start_log_save(self);   // after a failed save: retry (nothing to do otherwise)
        if (vr.commit_number < vr.op_number && t - st.last_prepare_sent >= st.opt.resend) {
          resend_prepares(self);
          st.last_prepare_sent = st.last_commit_sent = t;
        } else if (t - st.last_commit_sent >= st.opt.heartbeat) {
          send_commit(self);
        }
      } else if (vr.awaiting_state && t >= st.get_state_resend_at) {
        send_get_state(self, vr.state_request_point()); // primary silence: see on_suspect
      }
      break;
    case replica_status::view_change:
      if (t >= st.view_change_deadline) {
        start_view_change(self, vr.view_number + 1, "stalled"); // try the next primary
      } else if (t >= st.view_change_resend_at) {
        st.view_change_resend_at = t + st.opt.resend;
        broadcast(self, StartViewChange{vr.view_number, vr.replica_number});
        if (st.sent_do_view_change && vr.primary_of(vr.view_number) != vr.replica_number)
          send_to(self, vr.primary_of(vr.view_number), make_do_view_change(vr));
      }
      break;
    case replica_status::recovering:
      if (t >= st.recovery_resend_at)
        send_recovery(self);
      if (t >= st.recovery_notice_at + std::chrono::seconds(10))
        explain_recovery(self);
      break;
  }
}

// Pre-vote. A view change away from `view` starts only when f+1 replicas doubt its primary:
// this one, and f others whose PrimarySuspected for `view` is fresh. This one doubts when its
// detector gave up or it has not heard the primary for doubt_after_heartbeats; and when it is
// still in an older view, since it cannot vouch for a primary it has never followed (else a
// replica left behind in an old view could block the majority forever). A backup alone with a
// bad link to a healthy primary then stays in its view, takes Prepares again once the link is
// back, and costs the group nothing; when the primary is really gone every backup doubts it
// within a heartbeat or two of the first detector firing, so failover is barely slower.
void maybe_start_view_change_after_suspicion(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (vr.status != replica_status::normal || view < vr.view_number)
    return;
  auto t = now(self);
  if (view == vr.view_number) {
    if (vr.is_primary())
      return;
    const bool doubt = st.suspect_primary
                       || (primary_silence(st, t)
                             >= st.opt.heartbeat * st.opt.doubt_after_heartbeats
                           && !awaiting_first_contact(st, t));
    if (!doubt)
      return;
  }
  // We doubt it too: say so, so that the others can count us (at most once per timeout).
  const auto fresh_for = st.opt.primary_timeout + st.opt.timeout_jitter;
  if (st.said_suspected.first != view || t - st.said_suspected.second >= st.opt.primary_timeout) {
    st.said_suspected = {view, t};
    broadcast(self, PrimarySuspected{view, vr.replica_number});
  }
  std::size_t others = 0;
  for (const auto& [from, seen] : st.suspected_by)
    if (seen.first == view && t - seen.second <= fresh_for)
      ++others;
  if (others >= vr.f())
    start_view_change(self, view + 1,
                      view == vr.view_number
                        ? "the primary (replica " + std::to_string(vr.primary_of(view))
                            + ") is doubted by this replica and " + std::to_string(others)
                            + " other(s)"
                        : std::to_string(others) + " other(s) doubt the primary of view "
                            + std::to_string(view) + ", which this replica never followed");
}

// The failure detector gave up on the primary of `view` (§4.2). It may have sent this just before
// it learned of a newer view or role (the replica's fd_watch crossed it): act only if `view` is
// still ours and we are a backup in normal status.
// `timed`: the detector's verdict, which our own pauses may explain; false: a hint that is not
// about timing (the connection to the primary closed).
void on_suspect(self_ptr self, std::uint64_t view, bool timed) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view != vr.view_number || vr.status != replica_status::normal || vr.is_primary())
    return;
  if (timed && !st.suspect_primary && (excused_by_first_contact(self) || excused_by_pause(self)))
    return;   // once it doubts, each re-fire repeats PrimarySuspected (below)
  if (!st.opt.pre_vote) {
    start_view_change(self, vr.view_number + 1, "the primary is silent (no pre-vote)");
    return;
  }
  st.suspect_primary = true;
  // Re-arm the detector (sync_detector sends fd_watch again): while the primary stays silent it
  // fires once per timeout, which also repeats our PrimarySuspected to peers that missed it.
  st.rearm_detector = true;
  st.said_suspected = {};   // say it now, even if an echo went out recently
  maybe_start_view_change_after_suspicion(self, vr.view_number);
}

// A peer connector lost its connection to replica `who` (actors/peer_connector.hpp). When `who`
// is our primary this is nearly always its process dying: the kernel closes a dead process's
// sockets at once, while its silence takes our detector primary_timeout (+ jitter) to notice.
// So we doubt it now, exactly as if our detector had given up; the pre-vote still needs f other
// replicas to doubt it too, so a primary that is alive behind one broken link keeps its view
// (the others still hear it), and being wrong costs at most a view change, never safety. A
// primary that hangs or a host that vanishes closes nothing at once: the detector covers those
// (the middleman closes such a connection later, after its connection-timeout).
void on_peer_lost(self_ptr self, protocol::replica_id who) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (who >= vr.configuration_size || vr.status != replica_status::normal || vr.is_primary()
      || who != vr.primary_of(vr.view_number))
    return;
  // A connection that closed while the primary was already silent for a timeout is most likely
  // the middleman's connection-timeout, i.e. timing like our detector's verdict (and as open to
  // our own pauses); only a fresh loss is the kernel closing a dead process's sockets.
  const bool timed = now(self) - st.last_heard_primary >= st.opt.primary_timeout;
  on_suspect(self, vr.view_number, timed);
}

void on_primary_suspected(self_ptr self, const PrimarySuspected& m) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (m.replica >= vr.configuration_size || m.replica == vr.replica_number
      || m.view_number < vr.view_number)
    return;   // about a view we have left: its primary is replaced already
  st.suspected_by[m.replica] = {m.view_number, now(self)};
  maybe_start_view_change_after_suspicion(self, m.view_number);
}

} // namespace vrdns::actors::replica_impl
