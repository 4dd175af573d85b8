#include "actors/replica.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>

namespace vrdns::actors {

namespace {

using namespace vrdns::protocol;
using time_point = failure_detector::time_point;
using self_ptr = replica_actor*;

caf::behavior normal_behavior(self_ptr self);
caf::behavior view_change_behavior(self_ptr self);
caf::behavior recovering_behavior(self_ptr self);

time_point now(self_ptr self) { return self->clock().now(); }

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

// Keeps the failure detector actor in step with this replica, after every handler: a new view or
// role re-arms or stops it (fd_watch); a sign of life from the primary of the current view
// (`heard_primary`, set by the handlers) pushes its deadline out (fd_heard, at most one note per
// `heard_note_gap`). Doing it here, not in each handler, means no view or status change can
// forget to tell the detector.
void sync_detector(self_ptr self) {
  auto& st = self->state;
  const auto& vr = st.vr;
  bool watching = vr.status == replica_status::normal && !vr.is_primary();
  auto t = now(self);
  if (watching != st.watching || vr.view_number != st.watched_view) {
    st.watching = watching;
    st.watched_view = vr.view_number;
    self->send(st.detector, fd_watch_atom::value, vr.view_number, watching);
    st.last_heard_note = t;
  } else if (st.heard_primary && watching && t - st.last_heard_note >= st.opt.heard_note_gap) {
    self->send(st.detector, fd_heard_atom::value, vr.view_number);
    st.last_heard_note = t;
  }
  if (vr.view_number != st.silence_view) {   // a new view: its primary's silence starts now
    st.silence_view = vr.view_number;
    st.last_heard_primary = t;
    st.suspect_primary = false;
  }
  if (st.heard_primary) {
    st.last_heard_primary = t;
    st.suspect_primary = false;   // it spoke: our detector's verdict is outdated
  }
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

// Runs a handler body, then re-checks the structural invariants of the replica state.
template <class F>
void guarded(self_ptr self, F&& body) {
  if (self->state.violated)
    return; // a replica that broke an invariant takes part in nothing
  try {
    body();
    self->state.vr.check_invariants();
  } catch (const std::exception& e) {
    violation(self, e.what());
  }
  sync_detector(self);
  notify_change(self);
}

// The disk refused a write: say so once per distinct error; the caller sends nothing.
bool disk_failed(self_ptr self) {
  auto& st = self->state;
  auto e = st.opt.persistence->error();
  if (e.empty())
    e = "write failed";
  if (e != st.disk_error) {
    st.disk_error = e;
    if (st.opt.on_disk_error)
      st.opt.on_disk_error(e);
  }
  return false;
}

// Saves whatever changed in the log and the view promises (protocol/persistence.hpp). Every
// message to a peer goes through here first, so no PrepareOk, DoViewChange, StartView or
// RecoveryResponse ever rests on state a crash could take away: the PrepareOk rule of issue #5
// and "never go back to an older view" in one place. One fsync covers everything that changed
// since the last message, which is the group commit. false: the disk refused, send nothing.
bool make_durable_unguarded(self_ptr self);

bool make_durable(self_ptr self) {
  try {
    return make_durable_unguarded(self);
  } catch (const std::exception& e) {   // a broken promise (view going back): a bug, fail-stop
    violation(self, std::string("saving state: ") + e.what());
    return false;
  }
}

// The view promises as they should be on disk now. commit_number is only a hint: rewriting the
// view record (two fsyncs) for it alone is not worth it, so it does not count as a change.
durable_view view_to_save(const replica_actor_state& st) {
  auto view = durable_view_of(st.vr);
  view.commit_number = st.saved_view.commit_number;
  return view;
}

bool make_durable_unguarded(self_ptr self) {
  auto& st = self->state;
  if (!st.opt.persistence)
    return true;
  auto& vr = st.vr;
  auto view = view_to_save(st);
  const bool view_changed = !(view == st.saved_view);
  if (!vr.log_saved() && view_changed) {
    // The log and the view change together (StartView, NewState, a new primary's log): the two
    // files cannot be written atomically, and either half alone would restart this replica with
    // a log that does not belong to its view. So the view record first says "in flux"
    // (recovering): a crash before both are written makes the replica recover from its peers
    // (VR §4.3) instead of trusting a mixture.
    auto in_flux = view;
    in_flux.status = replica_status::recovering;
    if (!st.opt.persistence->save_view(in_flux))
      return disk_failed(self);
    st.saved_view = in_flux;
  }
  if (!vr.log_saved()) {
    if (!st.opt.persistence->save_log(vr.log, vr.first_unsaved_op))
      return disk_failed(self);
    vr.mark_saved();
  }
  if (view_changed) {
    view.commit_number = vr.commit_number;
    if (!st.opt.persistence->save_view(view))
      return disk_failed(self);
    st.saved_view = view;
  }
  if (!st.disk_error.empty()) {
    st.disk_error.clear();
    if (st.opt.on_disk_error)
      st.opt.on_disk_error("");
  }
  return true;
}

template <class Msg>
void send_to_every_peer(self_ptr self, const Msg& m) {
  auto& st = self->state;
  for (replica_id i = 0; i < st.peers.size(); ++i)
    if (i != st.vr.replica_number)
      self->send(st.peers[i], m);
}

template <class Msg>
void broadcast(self_ptr self, const Msg& m) {
  if (make_durable(self))   // else nothing: VR tolerates the loss, every sender retransmits
    send_to_every_peer(self, m);
}

// A primary's new Prepare may leave before its own copy of the entries is saved, so that its
// fsync runs while the backups do theirs: the Prepare promises nothing about the primary's
// disk, and try_commit counts the primary only for saved entries. Only the log may lag: a view
// the disk does not know yet is saved first (make_durable).
template <class Msg>
void broadcast_before_own_save(self_ptr self, const Msg& m) {
  auto& st = self->state;
  const bool view_saved = !st.opt.persistence || view_to_save(st) == st.saved_view;
  if (view_saved || make_durable(self))
    send_to_every_peer(self, m);
}

template <class Msg>
void send_to(self_ptr self, replica_id to, const Msg& m) {
  auto& st = self->state;
  if (to < st.peers.size() && to != st.vr.replica_number && make_durable(self))
    self->send(st.peers[to], m);
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
    auto& rec = vr.client_table[e.client_id];
    if (e.request_number >= rec.request_number)
      rec = client_record{e.request_number, result};
    if (vr.status == replica_status::normal && vr.is_primary()) {
      auto it = st.reply_to.find(e.client_id);
      if (it != st.reply_to.end())
        self->send(it->second, Reply{vr.view_number, e.client_id, e.request_number, result});
    }
  }
}

// ---------------------------------------------------------------- primary, normal case (§4.1)

void send_commit(self_ptr self) {
  auto& st = self->state;
  broadcast(self, Commit{st.vr.view_number, st.vr.commit_number});
  st.last_commit_sent = now(self);
}

bool flush_pending(self_ptr self);

void commit_up_to(self_ptr self, std::uint64_t k) {
  auto& st = self->state;
  st.vr.advance_commit(k);
  while (!st.inflight.empty() && st.inflight.front() <= st.vr.commit_number)
    st.inflight.pop_front();
  execute_committed(self);
  const bool prepared = flush_pending(self);
  // Backups learn commits from the next Prepare. When none follows (the pipeline drained), tell
  // them now instead of at the next heartbeat: a backup answers an UPDATE it forwarded only once
  // it serves the change, so this is its client's latency (one Commit per idle transition).
  if (!prepared && st.inflight.empty() && st.vr.status == replica_status::normal)
    send_commit(self);
}

// The primary commits op k once f backups (plus itself) hold it: k is the f-th largest ack.
void try_commit(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  std::vector<std::uint64_t> backups;
  for (replica_id i = 0; i < st.acked.size(); ++i)
    if (i != vr.replica_number)
      backups.push_back(std::min(st.acked[i], vr.op_number));
  std::sort(backups.begin(), backups.end(), std::greater<>());
  auto f = vr.f();
  std::uint64_t k = f == 0 ? vr.op_number : backups[f - 1];
  // The primary is one of the f+1 only for entries it has saved (its Prepare may have left
  // before its own fsync, see flush_pending).
  if (st.opt.persistence)
    k = std::min(k, vr.log_saved() ? vr.op_number : vr.first_unsaved_op - 1);
  if (k > vr.commit_number)
    commit_up_to(self, k);
}

// Packs waiting requests into Prepares while fewer than pipeline_max are in flight; true if it
// sent any.
bool flush_pending(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  bool sent = false;
  while (!st.pending.empty() && st.inflight.size() < st.opt.pipeline_max) {
    sent = true;
    Prepare p{vr.view_number, 0, vr.commit_number, {}};
    while (!st.pending.empty() && p.entries.size() < st.opt.batch_max) {
      p.entries.push_back(st.pending.front().entry);
      vr.append(st.pending.front().entry);
      st.pending.pop_front();
    }
    p.op_number = vr.op_number;
    st.inflight.push_back(vr.op_number);
    broadcast_before_own_save(self, p);
    st.last_prepare_sent = st.last_commit_sent = now(self);
    if (st.opt.unsafe_commit_without_quorum)
      commit_up_to(self, vr.op_number); // BUG ON PURPOSE (simulator self-test)
    if (st.opt.unsafe_reply_before_commit) // BUG ON PURPOSE: only the client history shows it
      for (const auto& e : p.entries)
        if (auto it = st.reply_to.find(e.client_id); it != st.reply_to.end())
          self->send(it->second, Reply{vr.view_number, e.client_id, e.request_number, {}});
  }
  if (sent)
    make_durable(self);   // the primary's own save, overlapping the backups' (try_commit waits)
  if (vr.f() == 0)
    try_commit(self);
  return sent;
}

bool request_in_progress(const replica_actor_state& st, const Request& r) {
  const auto& vr = st.vr;
  for (auto op = vr.commit_number + 1; op <= vr.op_number; ++op) {
    const auto& e = vr.entry(op);
    if (e.client_id == r.client_id && e.request_number >= r.request_number)
      return true;
  }
  for (const auto& p : st.pending)
    if (p.entry.client_id == r.client_id && p.entry.request_number >= r.request_number)
      return true;
  return false;
}

void on_request(self_ptr self, const Request& r) {
  auto& st = self->state;
  auto& vr = st.vr;
  // Backups and a primary still waiting for its state drop requests: the client resends to all.
  if (!vr.is_primary() || vr.awaiting_state)
    return;
  if (auto sender = caf::actor_cast<caf::actor>(self->current_sender()))
    st.reply_to[r.client_id] = sender;
  // client_table check (§4.1 step 2).
  if (auto it = vr.client_table.find(r.client_id); it != vr.client_table.end()) {
    if (r.request_number < it->second.request_number)
      return; // older than the latest: the client has moved on
    if (r.request_number == it->second.request_number) {
      if (auto to = st.reply_to.find(r.client_id); to != st.reply_to.end())
        self->send(to->second,
                   Reply{vr.view_number, r.client_id, r.request_number, it->second.result});
      return;
    }
  }
  if (request_in_progress(st, r))
    return; // already in the log or queued: the Reply follows the commit
  st.pending.push_back({log_entry{r.client_id, r.request_number, r.op}});
  flush_pending(self);
}

void on_prepare_ok(self_ptr self, const PrepareOk& m) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (m.view_number != vr.view_number || !vr.is_primary() || vr.awaiting_state
      || m.replica >= st.acked.size())
    return; // acknowledgement of another view: it says nothing about this view's log
  st.acked[m.replica] = std::max(st.acked[m.replica], std::min(m.op_number, vr.op_number));
  try_commit(self);
}

void on_get_state(self_ptr self, const GetState& g) {
  auto& st = self->state;
  auto& vr = st.vr;
  // Only a primary in normal status is sure to hold every committed op of its view.
  if (g.view_number != vr.view_number || !vr.is_primary() || vr.awaiting_state)
    return;
  send_to(self, g.replica,
          NewState{vr.view_number, g.op_number, vr.suffix(g.op_number, st.opt.transfer_max),
                   vr.op_number, vr.commit_number});
}

// ---------------------------------------------------------------- backup, normal case (§4.1)

void send_get_state(self_ptr self, std::uint64_t after) {
  auto& st = self->state;
  send_to(self, st.vr.primary_of(st.vr.view_number),
          GetState{st.vr.view_number, after, st.vr.replica_number});
  st.get_state_resend_at = now(self) + st.opt.resend;
}

void ack_primary(self_ptr self) {
  auto& vr = self->state.vr;
  send_to(self, vr.primary_of(vr.view_number),
          PrepareOk{vr.view_number, vr.op_number, vr.replica_number});
}

// Appends entries [first, first+entries.size()) of the current view that we do not hold yet.
// Returns false if there is a gap before `first`.
bool append_from(self_ptr self, std::uint64_t first, const std::vector<log_entry>& entries) {
  auto& vr = self->state.vr;
  if (first > vr.op_number + 1)
    return false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto op = first + i;
    if (op <= vr.op_number) {
      // Same view, same primary: what we hold must be what it sent.
      if (!(vr.entry(op) == entries[i]))
        throw std::logic_error("backup log diverges from primary at op " + std::to_string(op));
    } else {
      vr.append(entries[i]);
    }
  }
  return true;
}

void begin_state_transfer(self_ptr self, std::uint64_t view);

// Common entry for Prepare/Commit: returns true if the message belongs to our current normal view.
bool from_current_primary(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view < vr.view_number)
    return false; // old view: rejected (its primary has been replaced)
  if (vr.primary_of(view) == vr.replica_number)
    return false; // only we may lead that view: a stray message, ignore
  if (view > vr.view_number
      || (view == vr.view_number && vr.status == replica_status::view_change)) {
    // Someone leads a view we have not joined (we missed StartView): fetch its state (§5.2).
    begin_state_transfer(self, view);
    return false;
  }
  st.heard_primary = true;
  if (vr.awaiting_state) {
    if (now(self) >= st.get_state_resend_at)
      send_get_state(self, vr.commit_number);
    return false; // our log still belongs to an older view: do not ack anything yet
  }
  return true;
}

void on_prepare(self_ptr self, const Prepare& p) {
  auto& vr = self->state.vr;
  // Untrusted sizes: a Prepare must describe a non-empty run of entries ending at op_number.
  if (p.entries.empty() || p.entries.size() > p.op_number)
    return;
  if (!from_current_primary(self, p.view_number) || vr.is_primary())
    return;
  auto first = p.op_number - p.entries.size() + 1;
  if (!append_from(self, first, p.entries)) {
    // Prepares are accepted strictly in op order: fetch the gap instead of buffering.
    if (now(self) >= self->state.get_state_resend_at)
      send_get_state(self, vr.op_number);
    return;
  }
  vr.advance_commit(p.commit_number);
  execute_committed(self);
  ack_primary(self);
}

void on_commit(self_ptr self, const Commit& c) {
  auto& vr = self->state.vr;
  if (!from_current_primary(self, c.view_number) || vr.is_primary())
    return;
  if (c.commit_number > vr.op_number && now(self) >= self->state.get_state_resend_at)
    send_get_state(self, vr.op_number);
  vr.advance_commit(c.commit_number);
  execute_committed(self);
}

void on_new_state(self_ptr self, const NewState& ns) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (ns.view_number != vr.view_number || vr.status != replica_status::normal || vr.is_primary())
    return;
  if (ns.entries.size() > ns.op_number || ns.after_op > ns.op_number - ns.entries.size())
    return; // inconsistent lengths: untrusted input
  if (vr.awaiting_state) {
    // Safe state transfer: entries up to our commit_number are committed, hence identical in
    // every view; everything after it is replaced by the new view's log, but only now that we
    // actually have that log (never truncated ahead of time).
    if (ns.after_op > vr.commit_number || ns.after_op + ns.entries.size() < vr.commit_number)
      return; // does not connect to our committed prefix: wait for the resend
    std::vector<log_entry> tail(ns.entries.begin()
                                    + static_cast<std::ptrdiff_t>(vr.commit_number - ns.after_op),
                                ns.entries.end());
    vr.truncate_after(vr.commit_number);
    for (auto& e : tail)
      vr.append(std::move(e));
    vr.awaiting_state = false;
    vr.last_normal_view = vr.view_number;
  } else if (!append_from(self, ns.after_op + 1, ns.entries)) {
    return;
  }
  st.heard_primary = true;
  vr.advance_commit(ns.commit_number);
  execute_committed(self);
  ack_primary(self);
}

// ---------------------------------------------------------------- view change (§4.2)

void reset_view_bookkeeping(self_ptr self) {
  auto& st = self->state;
  st.start_view_change_from.clear();
  st.do_view_change_from.clear();
  st.sent_do_view_change = false;
  st.pending.clear(); // accepted by a deposed primary: clients resend
  st.inflight.clear();
  st.acked.assign(st.vr.configuration_size, 0);
}

void start_view_change(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view <= vr.view_number)
    throw std::logic_error("start_view_change must move to a newer view (view monotone)");
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
  return DoViewChange{vr.view_number, vr.log, vr.last_normal_view, vr.op_number, vr.commit_number,
                      vr.replica_number};
}

void on_do_view_change(self_ptr self, const DoViewChange& d);

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
    start_view_change(self, m.view_number);
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
    throw std::logic_error("chosen log is shorter than our own commit_number");
  vr.replace_log(best->log);
  vr.advance_commit(commit);
  vr.last_normal_view = vr.view_number;
  reset_view_bookkeeping(self);
  if (vr.op_number > vr.commit_number)
    st.inflight.push_back(vr.op_number); // the inherited uncommitted suffix is one batch
  set_status(self, replica_status::normal);
  broadcast(self, StartView{vr.view_number, vr.log, vr.op_number, vr.commit_number});
  st.last_prepare_sent = st.last_commit_sent = now(self);
  execute_committed(self);
  if (vr.f() == 0)
    try_commit(self);
}

void on_do_view_change(self_ptr self, const DoViewChange& d) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (d.replica >= vr.configuration_size || d.log.size() != d.op_number
      || d.commit_number > d.op_number || d.last_normal_view >= d.view_number)
    return; // malformed
  if (vr.primary_of(d.view_number) != vr.replica_number)
    return; // not addressed to the primary of that view
  if (d.view_number > vr.view_number)
    start_view_change(self, d.view_number);
  if (d.view_number != vr.view_number)
    return;
  if (vr.status == replica_status::normal) {
    // A replica still changing to the view we already lead missed StartView: resend it.
    if (!vr.awaiting_state)
      send_to(self, d.replica, StartView{vr.view_number, vr.log, vr.op_number, vr.commit_number});
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
  if (sv.log.size() != sv.op_number || sv.commit_number > sv.op_number)
    return; // malformed
  if (vr.primary_of(sv.view_number) == vr.replica_number)
    return;
  if (sv.view_number < vr.view_number
      || (sv.view_number == vr.view_number && vr.status == replica_status::normal
          && !vr.awaiting_state))
    return; // old or duplicate
  if (vr.commit_number > sv.op_number)
    throw std::logic_error("StartView log is shorter than our commit_number");
  vr.view_number = sv.view_number;
  vr.replace_log(sv.log);
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
    vr.last_normal_view = view;
  }
  vr.awaiting_state = true;
  if (vr.status != replica_status::normal)
    set_status(self, replica_status::normal);
  st.heard_primary = true;
  send_get_state(self, vr.commit_number);
}

// ---------------------------------------------------------------- recovery (§4.3)

void on_recovery(self_ptr self, const Recovery& m) {
  auto& vr = self->state.vr;
  if (vr.status != replica_status::normal || vr.awaiting_state)
    return; // only replicas in normal status answer (§4.3 step 2)
  RecoveryResponse r{vr.view_number, m.nonce, vr.is_primary(), {}, 0, 0, vr.replica_number};
  if (vr.is_primary()) {
    r.log = vr.log;
    r.op_number = vr.op_number;
    r.commit_number = vr.commit_number;
  }
  send_to(self, m.replica, r);
}

void on_recovery_response(self_ptr self, const RecoveryResponse& r) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (r.nonce != st.nonce || r.replica >= vr.configuration_size
      || r.replica == vr.replica_number)
    return; // answer to an older incarnation's Recovery, or malformed
  if (r.from_primary && (r.log.size() != r.op_number || r.commit_number > r.op_number))
    return;
  st.recovery_responses[r.replica] = r;
  if (st.recovery_responses.size() < vr.quorum())
    return;
  std::uint64_t latest = 0;
  for (const auto& [from, resp] : st.recovery_responses)
    latest = std::max(latest, resp.view_number);
  auto it = st.recovery_responses.find(vr.primary_of(latest));
  if (it == st.recovery_responses.end() || !it->second.from_primary
      || it->second.view_number != latest)
    return; // need the primary of the latest view among the answers
  const auto& p = it->second;
  vr.view_number = latest;
  vr.replace_log(p.log);
  vr.advance_commit(p.commit_number);
  vr.last_normal_view = latest;
  reset_view_bookkeeping(self);
  set_status(self, replica_status::normal);
  st.heard_primary = true;
  execute_committed(self); // the service is fresh: this rebuilds it and the client_table
  if (vr.op_number > vr.commit_number)
    ack_primary(self);
}

// ---------------------------------------------------------------- timers

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

void on_tick(self_ptr self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.tick_generation)
    return; // a superseded timer chain
  self->delayed_send(self, st.opt.tick, vr_tick_atom::value, generation);
  auto& vr = st.vr;
  auto t = now(self);
  switch (vr.status) {
    case replica_status::normal:
      if (vr.is_primary() && !vr.awaiting_state) {
        if (vr.commit_number < vr.op_number && t - st.last_prepare_sent >= st.opt.resend) {
          resend_prepares(self);
          st.last_prepare_sent = st.last_commit_sent = t;
        } else if (t - st.last_commit_sent >= st.opt.heartbeat) {
          send_commit(self);
        }
      } else if (vr.awaiting_state && t >= st.get_state_resend_at) {
        send_get_state(self, vr.commit_number); // primary silence: see on_suspect
      }
      break;
    case replica_status::view_change:
      if (t >= st.view_change_deadline) {
        start_view_change(self, vr.view_number + 1); // stalled: try the next primary
      } else if (t >= st.view_change_resend_at) {
        st.view_change_resend_at = t + st.opt.resend;
        broadcast(self, StartViewChange{vr.view_number, vr.replica_number});
        if (st.sent_do_view_change && vr.primary_of(vr.view_number) != vr.replica_number)
          send_to(self, vr.primary_of(vr.view_number), make_do_view_change(vr));
      }
      break;
    case replica_status::recovering:
      if (t >= st.recovery_resend_at) {
        broadcast(self, Recovery{vr.replica_number, st.nonce});
        st.recovery_resend_at = t + st.opt.resend;
      }
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
                       || t - st.last_heard_primary
                            >= st.opt.heartbeat * st.opt.doubt_after_heartbeats;
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
    start_view_change(self, view + 1);
}

// The failure detector gave up on the primary of `view` (§4.2). It may have sent this just before
// it learned of a newer view or role (the replica's fd_watch crossed it): act only if `view` is
// still ours and we are a backup in normal status.
void on_suspect(self_ptr self, std::uint64_t view) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view != vr.view_number || vr.status != replica_status::normal || vr.is_primary())
    return;
  if (!st.opt.pre_vote) {
    start_view_change(self, vr.view_number + 1);
    return;
  }
  st.suspect_primary = true;
  // Re-arm the detector (sync_detector sends fd_watch again): while the primary stays silent it
  // fires once per timeout, which also repeats our PrimarySuspected to peers that missed it.
  st.watching = false;
  st.said_suspected = {};   // say it now, even if an echo went out recently
  maybe_start_view_change_after_suspicion(self, vr.view_number);
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

// ---------------------------------------------------------------- behaviors

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
    [=](fd_suspect_atom, std::uint64_t v) { guarded(self, [&] { on_suspect(self, v); }); },
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
  };
}

// A recovering replica lost its state and must not take part in anything (§4.3): it might
// otherwise acknowledge or vote with a log that forgot what it promised before the crash.
caf::behavior recovering_behavior(self_ptr self) {
  return {
    [=](const RecoveryResponse& m) { guarded(self, [&] { on_recovery_response(self, m); }); },
    [=](vr_tick_atom, std::uint64_t g) { guarded(self, [&] { on_tick(self, g); }); },
  };
}

} // namespace

caf::behavior replica(replica_actor* self, protocol::replica_id replica_number,
                      std::vector<caf::actor> peers, std::shared_ptr<protocol::service> service,
                      replica_options options) {
  auto& st = self->state;
  st.vr = protocol::replica_state(peers.size(), replica_number);
  st.opt = std::move(options);
  st.peers = std::move(peers);
  st.service = std::move(service);
  st.rng.seed(st.opt.seed ^ (0x9E3779B97F4A7C15ull * (replica_number + 1)));
  // Linked: a crash of the replica (the simulator kills it) takes its detector along, and a
  // detector that dies takes the replica along (fail-stop) instead of leaving it blind.
  st.detector = self->spawn<caf::linked>(
    failure_detector_behavior, caf::actor_cast<caf::actor>(self),
    failure_detector_options{st.opt.primary_timeout, st.opt.timeout_jitter, st.rng()});
  st.acked.assign(st.vr.configuration_size, 0);
  // Not caf::drop: in CAF 0.17 that answers an *asynchronous* message with an unexpected_message
  // error, which is sent back to the sender and, by default, terminates a sender that has no
  // error handler. An empty message as result is suppressed for asynchronous messages.
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::message{};
    });
  self->delayed_send(self, st.opt.tick, vr_tick_atom::value, st.tick_generation);
  auto t = self->clock().now();
  // Nothing saved yet: the first message writes the view record (and so the cluster identity).
  st.saved_view.view_number = ~std::uint64_t{0};
  if (st.opt.restored && st.opt.restored->view.status != protocol::replica_status::recovering) {
    // Restarted on its own disk: everything it ever acknowledged or promised is here, so it is
    // the same replica as before the crash, just late (like one behind a partition). It
    // resumes in its view; commits are learned again from the primary (a restarted primary
    // re-replicates its uncommitted suffix, which is all of it).
    auto& r = *st.opt.restored;
    st.vr.replace_log(std::move(r.log));
    st.vr.mark_saved();
    st.vr.view_number = r.view.view_number;
    st.vr.last_normal_view = r.view.last_normal_view;
    // It had learned of a newer view than its log belongs to and was fetching that view's state
    // (begin_state_transfer): it still must, before it acknowledges anything.
    st.vr.awaiting_state = r.view.status == protocol::replica_status::normal
                           && r.view.last_normal_view < r.view.view_number;
    st.saved_view = r.view;
    st.opt.restored.reset();
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
    sync_detector(self);
    notify_change(self);
    return normal_behavior(self);
  }
  if (st.opt.start_recovering) {
    st.nonce = st.rng();
    if (!st.opt.deterministic_nonce)
      st.nonce ^= (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    st.vr.status = protocol::replica_status::recovering;
    broadcast(self, protocol::Recovery{replica_number, st.nonce});
    st.recovery_resend_at = t + st.opt.resend;
    notify_change(self);
    return recovering_behavior(self);
  }
  // Fresh cluster: everybody starts in view 0, normal status, empty log. The view record is
  // written now, not at the first message: a backup of an idle cluster sends nothing, and
  // without a record a restart could not tell it from a replica whose disk was wiped.
  make_durable(self);
  st.last_prepare_sent = st.last_commit_sent = t;
  sync_detector(self); // a backup starts watching the primary of view 0 now
  notify_change(self);
  return normal_behavior(self);
}

} // namespace vrdns::actors
