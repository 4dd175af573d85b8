// Normal case (§4.1) of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

void send_commit(self_ptr self) {
  auto& st = self->state;
  broadcast_before_own_save(self, Commit{st.vr.view_number, st.vr.commit_number});
  st.last_commit_sent = now(self);
}

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
  // The primary is one of the f+1 only for entries it has saved (its Prepare leaves before its
  // own save, see flush_pending).
  k = std::min(k, durable_op(st));
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
    start_log_save(self);   // the primary's own save, overlapping the backups' (try_commit waits)
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

// Group commit across messages. Saving (an fsync) blocks the replica for about a millisecond,
// during which Requests and Prepares queue up in its mailbox; handled one by one, each would
// pay its own fsync and its own Prepare or PrepareOk. Instead the handlers only append, and a
// message to ourselves, queued behind everything that arrived meanwhile, saves once and sends
// once: one Prepare carries every request that arrived during the last fsync, one PrepareOk
// acknowledges every Prepare.
void schedule_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  self->send(self, vr_flush_atom::value);
}

void on_flush(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  st.flush_scheduled = false;
  if (vr.status != replica_status::normal || vr.awaiting_state) {
    st.ack_owed = false;
    return;   // a view change or state transfer began meanwhile: nothing of this view to send
  }
  if (vr.is_primary())
    flush_pending(self);
  else if (st.ack_owed)
    ack_primary(self);
  st.ack_owed = false;
}

// A durable cluster that has never had an entry: replicas with empty disks may still be
// deciding whether it is new (new_cluster). Without disks there are no blank replicas.
bool new_cluster_not_started(const replica_actor_state& st) {
  return st.opt.persistence && st.vr.view_number == 0 && st.vr.op_number == 0;
}

void on_request(self_ptr self, const Request& r) {
  auto& st = self->state;
  auto& vr = st.vr;
  // Backups and a primary still waiting for its state drop requests: the client resends to all.
  if (!vr.is_primary() || vr.awaiting_state)
    return;
  // A brand-new cluster: the first entry makes replicas that are still blank recover instead of
  // start (new_cluster), and recovery needs f+1 replicas with state besides the asker. So the
  // first entry waits until f backups have said that they started too (a PrepareOk for op 0,
  // on_commit); until then the blank ones can still see an empty log and start.
  if (new_cluster_not_started(st) && st.backups_started.size() < vr.f())
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
  schedule_flush(self);
}

void on_prepare_ok(self_ptr self, const PrepareOk& m) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (m.view_number != vr.view_number || !vr.is_primary() || vr.awaiting_state
      || m.replica >= st.acked.size())
    return; // acknowledgement of another view: it says nothing about this view's log
  st.acked[m.replica] = std::max(st.acked[m.replica], std::min(m.op_number, vr.op_number));
  if (m.replica != vr.replica_number)
    st.backups_started.insert(m.replica);
  try_commit(self);
}

void on_get_state(self_ptr self, const GetState& g) {
  auto& st = self->state;
  auto& vr = st.vr;
  // Only a primary in normal status is sure to hold every committed op of its view.
  if (g.view_number != vr.view_number || !vr.is_primary() || vr.awaiting_state)
    return;
  // From before our log_start the requester gets a NewState that does not connect to its log:
  // the sign to fetch our checkpoint first.
  const auto after = std::max(g.op_number, vr.log_start);
  send_to(self, g.replica,
          NewState{vr.view_number, after, vr.suffix(after, st.opt.transfer_max), vr.op_number,
                   vr.commit_number});
}

void send_get_state(self_ptr self, std::uint64_t after) {
  auto& st = self->state;
  send_to(self, st.vr.primary_of(st.vr.view_number),
          GetState{st.vr.view_number, after, st.vr.replica_number});
  st.get_state_resend_at = now(self) + st.opt.resend;
}

// A PrepareOk names only saved entries, and the view record must be durable too.
void send_prepare_ok(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  const auto to = vr.primary_of(vr.view_number);
  if (to < st.peers.size() && to != vr.replica_number && view_durable(self))
    self->send(st.peers[to], PrepareOk{vr.view_number, durable_op(st), vr.replica_number});
}

// Acknowledges the log: at once when it is saved (or saved now by make_durable, when more than
// entries were appended), else when the background save of the appended ones completes
// (on_log_saved).
void ack_primary(self_ptr self) {
  auto& st = self->state;
  start_log_save(self);
  if (!st.saver || !st.saver->busy())
    send_prepare_ok(self);
}

// Appends entries [first, first+entries.size()) of the current view that we do not hold yet.
// Returns false if there is a gap before `first`.
bool append_from(self_ptr self, std::uint64_t first, const std::vector<log_entry>& entries) {
  auto& vr = self->state.vr;
  if (first > vr.op_number + 1)
    return false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto op = first + i;
    if (op <= vr.log_start)
      continue;   // a late message: a checkpoint of ours already covers it
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
      send_get_state(self, vr.state_request_point());
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
  self->state.ack_owed = true;   // one save and one PrepareOk for every Prepare queued now
  schedule_flush(self);
}

void on_commit(self_ptr self, const Commit& c) {
  auto& vr = self->state.vr;
  if (!from_current_primary(self, c.view_number) || vr.is_primary())
    return;
  if (c.commit_number > vr.op_number && now(self) >= self->state.get_state_resend_at)
    send_get_state(self, vr.op_number);
  vr.advance_commit(c.commit_number);
  execute_committed(self);
  // A new cluster's primary takes no request before f backups have started (on_request): tell
  // it, with an acknowledgement of nothing, at each heartbeat until the first entry arrives.
  if (new_cluster_not_started(self->state))
    ack_primary(self);
}

void on_new_state(self_ptr self, const NewState& ns) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (ns.view_number != vr.view_number || vr.status != replica_status::normal || vr.is_primary())
    return;
  if (ns.entries.size() > ns.op_number || ns.after_op > ns.op_number - ns.entries.size())
    return; // inconsistent lengths: untrusted input
  if (vr.awaiting_state) {
    // Safe state transfer (docs/vr.md): our log is compared with the view's, part by part, and
    // belongs to the view once it holds at least the log the view began with.
    using merge_result = protocol::replica_state::merge_result;
    switch (vr.merge_view_state(ns.after_op, ns.entries, ns.op_number)) {
      case merge_result::needs_checkpoint:
        fetch_checkpoint(self, vr.primary_of(vr.view_number));   // its log starts past ours
        return;
      case merge_result::no_progress:
        return;   // a late duplicate: the resend timer asks again if a part went missing
      case merge_result::progressed:
        st.heard_primary = true;
        send_get_state(self, vr.state_request_point());   // the next part, now
        return;
      case merge_result::complete:
        break;
    }
  } else if (!append_from(self, ns.after_op + 1, ns.entries)) {
    fetch_checkpoint(self, vr.primary_of(vr.view_number));   // its log starts past ours
    return;
  }
  st.heard_primary = true;
  vr.advance_commit(ns.commit_number);
  execute_committed(self);
  ack_primary(self);
  // The primary has more than fit in one NewState: ask for the next part now, not at the next
  // heartbeat (catching up 20,000 entries took 80 heartbeats, 4 s, that way).
  if (ns.op_number > vr.op_number)
    send_get_state(self, vr.op_number);
}

} // namespace vrdns::actors::replica_impl
