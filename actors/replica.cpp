// The replica actor of VR Revisited: its three behaviors (normal, view change, recovering: one
// per status, swapped by set_status), the wrapper every handler runs in (invariants, saving,
// the failure detector, the app's view of the state), and spawning. The protocol's parts live
// in the files listed in actors/replica_impl.hpp.
#include "actors/replica_impl.hpp"
#include "actors/fail_stop.hpp"

namespace vrdns::actors::replica_impl {

// A broken invariant means this replica can no longer be trusted: stop it (fail-stop), or hand
// the report to the simulator.
void violation(self_ptr self, const std::string& what) {
  auto& st = self->state;
  st.violated = true;
  auto msg = "replica " + std::to_string(st.vr.replica_number) + ": " + what;
  if (st.opt.on_violation) {
    st.opt.on_violation(msg);
    return;
  }
  std::fprintf(stderr, "vrdns: VR invariant violated: %s\n", msg.c_str());
  std::abort();
}

// A line about views for the operator's log, within st.view_notices; the next line let through
// says how many were left out.
void notice_view(self_ptr self, const std::string& line) {
  auto& st = self->state;
  if (!st.opt.on_notice || !st.view_notices.admit(now(self)))
    return;
  if (st.view_notices.left_out == 0) {
    st.opt.on_notice(line);
    return;
  }
  st.opt.on_notice(line + " (" + std::to_string(st.view_notices.left_out)
                   + " earlier lines about views left out)");
  st.view_notices.left_out = 0;
}

// Keeps the failure detector actor in step with this replica, after every handler: a new view or
// role re-arms or stops it (fd_watch); a sign of life from the primary of the current view
// (`heard_primary`, set by the handlers) pushes its deadline out (fd_heard, at most one note per
// `heard_note_gap`). Doing it here, not in each handler, means no view or status change can
// forget to tell the detector.
void sync_detector(self_ptr self) {
  auto& st = self->state;
  const auto& vr = st.vr;
  // The operator's log gets one line per view this replica is normal in (view changes are rare
  // and this says where the primary went), however it got there: a view change, StartView,
  // recovery, a restart.
  if (vr.status == replica_status::normal && vr.view_number != st.noticed_view) {
    st.noticed_view = vr.view_number;
    notice_view(self, "normal in view " + std::to_string(vr.view_number) + ", primary "
                        + std::to_string(vr.primary_of(vr.view_number)));
  }
  bool watching = vr.status == replica_status::normal && !vr.is_primary();
  // Following a primary from now on (having been recovering, in a view change or its primary):
  // its silence counts from now, not from before, when there was nothing to hear from it.
  const bool starts_watching = watching && !st.watching;
  auto t = now(self);
  if (watching != st.watching || vr.view_number != st.watched_view || st.rearm_detector) {
    st.watching = watching;
    st.watched_view = vr.view_number;
    st.rearm_detector = false;
    self->send(st.detector, fd_watch_atom::value, vr.view_number, watching);
    st.last_heard_note = t;
  } else if (st.heard_primary && watching && t - st.last_heard_note >= st.opt.heard_note_gap) {
    self->send(st.detector, fd_heard_atom::value, vr.view_number);
    st.last_heard_note = t;
  }
  // A new view's primary, or ours that just spoke: its silence starts over, and our doubt (the
  // detector's verdict) is outdated.
  if (vr.view_number != st.silence_view || st.heard_primary || starts_watching) {
    st.silence_view = vr.view_number;
    st.last_heard_primary = t;
    st.paused_in_silence = {};
    st.suspect_primary = false;
  }
  if (st.heard_primary || vr.view_number != 0)
    st.first_contact_pending = false;
  st.heard_primary = false;
}

// Tells options.on_change about a new view, status, op, commit or execution (see replica.hpp).
void notify_change(self_ptr self) {
  auto& st = self->state;
  if (!st.opt.on_change)
    return;
  const auto& vr = st.vr;
  auto now_seen = std::make_tuple(vr.view_number, int(vr.status), vr.op_number, vr.commit_number,
                                  vr.execute_number);
  if (now_seen == st.observed)
    return;
  st.observed = now_seen;
  st.opt.on_change(vr);
}

void set_status(self_ptr self, replica_status s) {
  self->state.vr.status = s;
  switch (s) {
    case replica_status::normal: self->become(normal_behavior(self)); break;
    case replica_status::view_change: self->become(view_change_behavior(self)); break;
    case replica_status::recovering: self->become(recovering_behavior(self)); break;
  }
}

// Applies committed-but-unexecuted ops in op order; the primary answers the clients (§4.1 step 5).
void execute_committed(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  while (vr.execute_number < vr.commit_number) {
    const auto& e = vr.entry(vr.execute_number + 1);
    auto result = st.service->execute(e.op);
    ++vr.execute_number;
    st.client_ops_since_checkpoint += op_batch_parts(e.op);
    for (auto gone : vr.record_execution(e.client_id, e.request_number, result, vr.execute_number))
      st.reply_to.erase(gone);
    if (vr.status == replica_status::normal && vr.is_primary()) {
      auto it = st.reply_to.find(e.client_id);
      if (it != st.reply_to.end())
        self->send(it->second, Reply{vr.view_number, e.client_id, e.request_number, result});
    }
  }
  maybe_take_checkpoint(self);
}

// Where replica `i` is reachable now (a null handle: nowhere, sends are dropped). Taken in
// every status: it changes no VR state.
void on_peer_set(self_ptr self, std::uint32_t i, caf::actor& handle) {
  auto& st = self->state;
  if (i < st.peers.size() && i != st.vr.replica_number)
    st.peers[i] = std::move(handle);
}

// Each behavior lists exactly the messages its sub-protocol takes part in. Anything else is
// dropped by the default handler on purpose: VR tolerates lost messages, and every message the
// paper expects a replica to "wait for" is retransmitted by its sender (Prepare, SVC, DVC,
// Recovery, GetState) or answered by a later one (StartView, Commit).

caf::behavior normal_behavior(self_ptr self) {
  return {
    [=](const Request& m) { guarded(self, [&] { on_request(self, m); }); },
    [=](const Prepare& m) { guarded(self, [&] { on_prepare(self, m); }); },
    [=](const PrepareOk& m) { guarded(self, [&] { on_prepare_ok(self, m); }); },
    [=](const Commit& m) { guarded(self, [&] { on_commit(self, m); }); },
    [=](const GetState& m) { guarded(self, [&] { on_get_state(self, m); }); },
    [=](const NewState& m) { guarded(self, [&] { on_new_state(self, m); }); },
    [=](const PrimarySuspected& m) { guarded(self, [&] { on_primary_suspected(self, m); }); },
    [=](const StartViewChange& m) { guarded(self, [&] { on_start_view_change(self, m); }); },
    [=](const DoViewChange& m) { guarded(self, [&] { on_do_view_change(self, m); }); },
    [=](const StartView& m) { guarded(self, [&] { on_start_view(self, m); }); },
    [=](const Recovery& m) { guarded(self, [&] { on_recovery(self, m); }); },
    [=](vr_tick_atom, std::uint64_t g) { guarded(self, [&] { on_tick(self, g); }); },
    [=](fd_suspect_atom, std::uint64_t v) { guarded(self, [&] { on_suspect(self, v, true); }); },
    [=](vr_peer_lost_atom, protocol::replica_id who) {
      guarded(self, [&] { on_peer_lost(self, who); });
    },
    [=](const GetCheckpoint& m) { guarded(self, [&] { on_get_checkpoint(self, m); }); },
    [=](const CheckpointChunk& m) { guarded(self, [&] { on_checkpoint_chunk(self, m); }); },
    [=](const checkpoint_saved& m) { guarded(self, [&] { on_checkpoint_saved(self, m); }); },
    [=](vr_flush_atom) { guarded(self, [&] { on_flush(self); }); },
    [=](vr_peer_set_atom, std::uint32_t i, caf::actor& a) { on_peer_set(self, i, a); },
    [=](vr_log_saved_atom, std::uint64_t seq) { guarded(self, [&] { on_log_saved(self, seq); }); },
  };
}

// Requests, PrepareOks, GetState/NewState, Recovery and fd_suspect are dropped: no view is
// running, so nobody can act on them; senders retry once a view is established.
caf::behavior view_change_behavior(self_ptr self) {
  return {
    [=](const Prepare& m) { guarded(self, [&] { on_prepare(self, m); }); },
    [=](const Commit& m) { guarded(self, [&] { on_commit(self, m); }); },
    [=](const StartViewChange& m) { guarded(self, [&] { on_start_view_change(self, m); }); },
    [=](const DoViewChange& m) { guarded(self, [&] { on_do_view_change(self, m); }); },
    [=](const StartView& m) { guarded(self, [&] { on_start_view(self, m); }); },
    [=](vr_tick_atom, std::uint64_t g) { guarded(self, [&] { on_tick(self, g); }); },
    [=](vr_flush_atom) { guarded(self, [&] { on_flush(self); }); },
    [=](vr_peer_set_atom, std::uint32_t i, caf::actor& a) { on_peer_set(self, i, a); },
    [=](vr_log_saved_atom, std::uint64_t seq) { guarded(self, [&] { on_log_saved(self, seq); }); },
    [=](const GetCheckpoint& m) { guarded(self, [&] { on_get_checkpoint(self, m); }); },
    [=](const CheckpointChunk& m) { guarded(self, [&] { on_checkpoint_chunk(self, m); }); },
    [=](const checkpoint_saved& m) { guarded(self, [&] { on_checkpoint_saved(self, m); }); },
  };
}

// A recovering replica lost its state and must not take part in anything (§4.3): it might
// otherwise acknowledge or vote with a log that forgot what it promised before the crash.
caf::behavior recovering_behavior(self_ptr self) {
  return {
    [=](const RecoveryResponse& m) { guarded(self, [&] { on_recovery_response(self, m); }); },
    [=](vr_tick_atom, std::uint64_t g) { guarded(self, [&] { on_tick(self, g); }); },
    [=](vr_flush_atom) { guarded(self, [&] { on_flush(self); }); },
    [=](vr_peer_set_atom, std::uint32_t i, caf::actor& a) { on_peer_set(self, i, a); },
    [=](vr_log_saved_atom, std::uint64_t seq) { guarded(self, [&] { on_log_saved(self, seq); }); },
    // Answered only while blank (on_recovery): lets blank replicas find each other.
    [=](const Recovery& m) { guarded(self, [&] { on_recovery(self, m); }); },
    // Only checkpoints: committed state, which a recovering replica may take (it promises
    // nothing by taking it).
    [=](const CheckpointChunk& m) { guarded(self, [&] { on_checkpoint_chunk(self, m); }); },
    [=](const checkpoint_saved& m) { guarded(self, [&] { on_checkpoint_saved(self, m); }); },
  };
}

// Restart on our own disk with a checkpoint: the service and client_table as they were at its
// op, which is committed and executed. A checkpoint the service rejects although its checksums
// matched cannot be repaired here: stop with the reason (fail-stop).
void restore_own_checkpoint(self_ptr self, const checkpoint& c) {
  auto& st = self->state;
  auto contents = split_checkpoint(c);
  try {
    if (!contents.client_table)
      throw std::invalid_argument("no valid client table part");
    st.service->restore(contents.service_parts);
  } catch (const std::invalid_argument& e) {
    violation(self, "checkpoint at op " + std::to_string(c.op_number) + " on disk is unusable: "
                      + e.what());
    return;
  }
  st.vr.client_table = std::move(*contents.client_table);
  st.vr.trim_client_table();
  st.vr.install_checkpoint(c.op_number);
  st.vr.mark_saved();
  auto blob = std::make_shared<const std::string>(encode_checkpoint(c));
  if (c.op_number == 0)
    st.seed_digest = seed_digest_of(*blob);
  remember_checkpoint(st, c.op_number, std::move(blob), now(self));
  st.client_ops_since_checkpoint = 0;
  st.has_base = true;
}

} // namespace vrdns::actors::replica_impl

namespace vrdns::actors {

using namespace replica_impl;

caf::behavior replica(replica_actor* self, protocol::replica_id replica_number,
                      std::vector<caf::actor> peers, std::shared_ptr<protocol::service> service,
                      replica_options options) {
  auto& st = self->state;
  st.vr = protocol::replica_state(peers.size(), replica_number);
  st.opt = std::move(options);
  if (st.opt.client_table_max == 0)
    throw std::invalid_argument("replica: client_table_max must be at least 1");
  st.vr.client_table_max = st.opt.client_table_max;
  st.peers = std::move(peers);
  st.service = std::move(service);
  st.rng.seed(st.opt.seed ^ (0x9E3779B97F4A7C15ull * (replica_number + 1)));
  // Linked: a crash of the replica (the simulator kills it) takes its detector along, and a
  // detector that dies takes the replica along (fail-stop) instead of leaving it blind.
  st.detector = self->spawn<caf::linked>(
    failure_detector_behavior, caf::actor_cast<caf::actor>(self),
    failure_detector_options{st.opt.primary_timeout, st.opt.timeout_jitter, st.rng()});
  st.acked.assign(st.vr.configuration_size, 0);
  // An invariant check that throws ends the replica with the reason (actors/fail_stop.hpp).
  self->set_exception_handler(exception_to_error);
  // Not caf::drop: in CAF 0.17 that answers an *asynchronous* message with an unexpected_message
  // error, which is sent back to the sender and, by default, terminates a sender that has no
  // error handler. An empty message as result is suppressed for asynchronous messages.
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  self->delayed_send(self, st.opt.tick, vr_tick_atom::value, st.tick_generation);
  auto t = self->clock().now();
  st.tick_due = t + st.opt.tick;
  // Nothing saved yet: the first message writes the view record (and so the cluster identity).
  st.saved_view.view_number = ~std::uint64_t{0};
  // A checkpoint on our own disk is committed state: usable even by a replica that must recover.
  if (st.opt.restored && st.opt.restored->latest_checkpoint)
    restore_own_checkpoint(self, *st.opt.restored->latest_checkpoint);
  if (st.opt.restored && st.opt.restored->view.status == protocol::replica_status::recovering) {
    st.opt.start_recovering = true;
  } else if (st.opt.restored && !st.has_base && !st.opt.restored->log.empty()) {
    // A log but no checkpoint to replay it onto: the only checkpoint was corrupt, or the
    // data_dir is from a vrdns that kept none. Replaying onto the service as the caller seeded
    // it (the zone files as they are today) could build another state than the cluster's, so
    // recover it from the others (§4.3), like a corrupt log: it fetches a checkpoint first.
    if (st.opt.on_notice)
      st.opt.on_notice("log without a checkpoint to replay it onto: recovering from the other"
                       " replicas");
    st.opt.start_recovering = true;
  } else if (st.opt.restored) {
    // Restarted on its own disk: everything it ever acknowledged or promised is here, so it is
    // the same replica as before the crash, just late (like one behind a partition). A backup
    // resumes in its view; commits are learned again from the primary. A primary starts a view
    // change (below).
    auto& r = *st.opt.restored;
    // No checkpoint and no log: a crash (or a failed save) right after the view record of a
    // new cluster, before its birth checkpoint and its first entry. The caller seeded the
    // service as at the birth: save that now.
    const bool birth_unsaved = !st.has_base;
    st.vr.adopt_log(r.log_start, std::move(r.log));
    st.vr.mark_saved();
    st.vr.view_number = r.view.view_number;
    st.vr.last_normal_view = r.view.last_normal_view;
    // It had learned of a newer view than its log belongs to and was fetching that view's state
    // (begin_state_transfer): it still must, before it acknowledges anything.
    if (r.view.status == protocol::replica_status::normal
        && r.view.last_normal_view < r.view.view_number)
      st.vr.begin_awaiting_state();
    st.saved_view = r.view;
    st.opt.restored.reset();
    if (birth_unsaved)
      save_birth_checkpoint(self);
    st.last_prepare_sent = st.last_commit_sent = t;
    if (st.saved_view.status == protocol::replica_status::view_change) {
      // It may have sent a DoViewChange for this view: only its durable log could be in it.
      st.view_change_deadline
        = t + random_timeout(st.rng, st.opt.view_change_timeout, st.opt.timeout_jitter);
      st.view_change_resend_at = t;
      set_status(self, replica_status::view_change);
      notify_change(self);
      return view_change_behavior(self);
    }
    if (st.vr.is_primary() && st.vr.configuration_size > 1 && st.vr.op_number > 0) {
      // A primary's Prepare leaves before its own copy is saved, and that save runs in the
      // background (start_log_save): a crash in between forgot entries that backups may hold
      // under op numbers of this view. Resuming as primary would give those numbers to other
      // requests (two logs in one view). So a restarted primary hands the view on: the view
      // change collects the backups' logs, which hold whatever it prepared. (With an empty log
      // it resumes: its first entries are saved before it goes on, see appends_only. A new
      // cluster whose other replicas are still blank needs it as primary to start.)
      start_view_change(self, st.vr.view_number + 1,
                        "restarted as the primary, it hands the view on");
      notify_change(self);
      return view_change_behavior(self);
    }
    sync_detector(self);
    notify_change(self);
    return normal_behavior(self);
  }
  st.opt.restored.reset();
  st.blank = st.opt.blank && st.vr.configuration_size > 1;
  if (st.opt.start_recovering || st.blank) {
    st.recovery_started = st.recovery_notice_at = t;
    st.nonce = st.rng();
    if (!st.opt.deterministic_nonce)
      st.nonce ^= (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    st.vr.status = protocol::replica_status::recovering;
    send_recovery(self);
    notify_change(self);
    return recovering_behavior(self);
  }
  start_fresh(self);
  sync_detector(self); // a backup starts watching the primary of view 0 now
  notify_change(self);
  return normal_behavior(self);
}

} // namespace vrdns::actors
