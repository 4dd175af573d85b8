#include "actors/replica.hpp"

#include "actors/peer_messages.hpp"
#include "common/crc32c.hpp"
#include "protocol/op_batch.hpp"

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

// A replica fetching a checkpoint asks for the next chunk as soon as one arrives (and resends
// after `resend`): this long without a request for it means the fetch has ended or stopped.
constexpr std::chrono::milliseconds checkpoint_transfer_pause{1000};

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
    st.paused_in_silence = {};
    st.suspect_primary = false;
  }
  if (st.heard_primary) {
    st.last_heard_primary = t;
    st.paused_in_silence = {};
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

bool make_durable(self_ptr self);
bool view_saved(const replica_actor_state& st);

// Runs a handler body, then re-checks the structural invariants of the replica state. A new
// view or status is saved now, even when the handler sent nothing: a replica that completed
// recovery or joined a view by StartView with nothing left to acknowledge would otherwise keep
// "recovering" or an older view on disk until its next message, and a crash meanwhile (with
// another replica down) restarts it recovering for no reason: two recovering replicas of three
// cannot recover (seed 5101707 of a crash-all simulator run).
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
  if (!self->state.violated && !view_saved(self->state))
    make_durable(self);   // false: the disk refused; the next event retries
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

// Saving works (again): clear what disk_failed reported.
void disk_works(self_ptr self) {
  auto& st = self->state;
  if (!st.disk_error.empty()) {
    st.disk_error.clear();
    if (st.opt.on_disk_error)
      st.opt.on_disk_error("");
  }
}

bool finish_log_save(self_ptr self);

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

// Whether the view record on disk is the one this replica should have now (or it keeps none).
bool view_saved(const replica_actor_state& st) {
  return !st.opt.persistence || st.blank || view_to_save(st) == st.saved_view;
}

bool make_durable_unguarded(self_ptr self) {
  auto& st = self->state;
  if (!st.opt.persistence || st.blank)
    return true;   // a blank replica has nothing to save and promises nothing (options.blank)
  // One thread at a time uses the persistence: a save running in the background ends first.
  finish_log_save(self);
  auto& vr = st.vr;
  auto view = view_to_save(st);
  const bool view_changed = !(view == st.saved_view);
  if (!vr.log_saved() && view_changed) {
    // The log and the view change together (StartView, NewState, a new primary's log): the two
    // files cannot be written atomically, and either half alone would restart this replica with
    // a log that does not belong to its view. So the view record first says "in flux", and a
    // crash before both are written restarts the replica in a state that is safe whatever part
    // of the log made it to disk (protocol/persistence.hpp, in_flux_view).
    auto in_flux = in_flux_view(st.saved_view, view, !st.unsaved_unchecked_drop);
    if (!st.opt.persistence->save_view(in_flux))
      return disk_failed(self);
    st.saved_view = in_flux;
  }
  if (!vr.log_saved()) {
    if (!st.opt.persistence->save_log(vr.log_start, vr.log, vr.first_unsaved_op))
      return disk_failed(self);
    vr.mark_saved();
    st.unsaved_unchecked_drop = false;
  }
  if (view_changed) {
    view.commit_number = vr.commit_number;
    if (!st.opt.persistence->save_view(view))
      return disk_failed(self);
    st.saved_view = view;
  }
  disk_works(self);
  return true;
}

// ---------------------------------------------------------------- saving in the background

// Only appended entries, with the view record already as it must be, are saved in the
// background (actors/log_saver.hpp). Anything else (a view change replaced entries, a checkpoint
// was installed past the log, the view record must change) is saved at once by make_durable.
// The very first entries are saved at once too: a primary restarted with an empty log then
// knows it never prepared anything it forgot, and resumes (see replica(), restart).
bool appends_only(const replica_actor_state& st) {
  return st.opt.persistence && !st.blank && !st.vr.dropped_unsaved && st.vr.saved_op() > 0
         && view_to_save(st) == st.saved_view;
}

// The highest op this replica holds durably (what a PrepareOk may name, what the primary counts
// itself for in try_commit).
std::uint64_t durable_op(const replica_actor_state& st) {
  return st.opt.persistence && !st.blank ? st.vr.saved_op() : st.vr.op_number;
}

// Starts saving the entries appended since the last save. While a save runs, new entries wait:
// its completion (on_log_saved) starts the next save with all of them (group commit).
void start_log_save(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (vr.log_saved() || (st.saver && st.saver->busy()))
    return;
  if (!appends_only(st) || (st.opt.backup_saves_inline && !vr.is_primary())) {
    make_durable(self);
    return;
  }
  if (!st.saver) {
    std::function<void(std::uint64_t)> notify;
    if (st.opt.log_save_in_background)   // from the saver's thread: a weak address, no cycle
      notify = [addr = self->address()](std::uint64_t seq) {
        if (auto me = caf::actor_cast<caf::actor>(addr))
          caf::anon_send(me, vr_log_saved_atom::value, seq);
      };
    else   // the simulator: the save "takes" log_save_latency of its virtual time
      notify = [self, latency = st.opt.log_save_latency](std::uint64_t seq) {
        if (latency.count() > 0)
          self->delayed_send(self, latency, vr_log_saved_atom::value, seq);
        else
          self->send(self, vr_log_saved_atom::value, seq);
      };
    st.saver = std::make_unique<log_saver>(st.opt.log_save_in_background, std::move(notify));
  }
  const std::uint64_t after = vr.first_unsaved_op - 1;
  if (after < vr.log_start)
    throw std::logic_error("invariant: unsaved entries before log_start");
  // A copy: the replica goes on appending to its log (and may reallocate it) meanwhile.
  std::vector<log_entry> entries(vr.log.begin() + static_cast<std::ptrdiff_t>(after - vr.log_start),
                                 vr.log.end());
  st.log_save_to = vr.op_number;
  st.log_save_epoch = vr.log_epoch;
  st.saver->start([persistence = st.opt.persistence, after, entries = std::move(entries)] {
    return persistence->save_log(after, entries, after + 1);
  });
}

// Waits for the running save, if any (at once when it has completed), and takes its result. Its
// entries count as saved only if the log still holds them as they were: a view change or an
// installed checkpoint meanwhile bumped log_epoch, and make_durable rewrites from there anyway.
// false: the save failed (disk_failed reported it).
bool finish_log_save(self_ptr self) {
  auto& st = self->state;
  if (!st.saver || !st.saver->busy())
    return true;
  if (!st.saver->finish())
    return disk_failed(self);
  if (st.vr.log_epoch == st.log_save_epoch)
    st.vr.mark_saved_through(st.log_save_to);
  disk_works(self);
  return true;
}

void try_commit(self_ptr self);
void send_prepare_ok(self_ptr self);

// A save completed (or make_durable already waited for it: then only the follow-ups, which are
// harmless to repeat). The primary may now count itself for more ops; a backup acknowledges
// what is saved; entries appended meanwhile are saved next. After a failed save the next
// attempt waits for the next event (a new request or the primary's tick, a backup's resent
// Prepare) instead of spinning on a full disk.
void on_log_saved(self_ptr self, std::uint64_t seq) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (st.saver && st.saver->busy() && st.saver->seq() == seq && !finish_log_save(self))
    return;
  if (vr.status != replica_status::normal || vr.awaiting_state)
    return;
  if (vr.is_primary())
    try_commit(self);
  else
    send_prepare_ok(self);   // first, so a steady stream of Prepares does not hold it back
  start_log_save(self);
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
// disk, and try_commit counts the primary only for saved entries. So does a Commit, and a
// PrepareOk names only saved entries. Only the log may lag: a view the disk does not know yet
// is saved first (make_durable).
bool view_durable(self_ptr self) {
  auto& st = self->state;
  return view_saved(st) || make_durable(self);
}

template <class Msg>
void broadcast_before_own_save(self_ptr self, const Msg& m) {
  if (view_durable(self))
    send_to_every_peer(self, m);
}

template <class Msg>
void send_to(self_ptr self, replica_id to, const Msg& m) {
  auto& st = self->state;
  if (to < st.peers.size() && to != st.vr.replica_number && make_durable(self))
    self->send(st.peers[to], m);
}

void set_status(self_ptr self, replica_status s) {
  auto& st = self->state;
  auto& vr = st.vr;
  // The operator's log gets one line per view this replica takes part in (view changes are
  // rare and say where the primary went); a replica cut off in a view change that escalates
  // every view_change_timeout logs only its first attempt (start_view_change).
  if (s == replica_status::normal && st.opt.on_notice && vr.view_number != st.noticed_view) {
    st.noticed_view = vr.view_number;
    st.opt.on_notice("normal in view " + std::to_string(vr.view_number) + ", primary "
                     + std::to_string(vr.primary_of(vr.view_number)));
  }
  vr.status = s;
  switch (s) {
    case replica_status::normal: self->become(normal_behavior(self)); break;
    case replica_status::view_change: self->become(view_change_behavior(self)); break;
    case replica_status::recovering: self->become(recovering_behavior(self)); break;
  }
}

void maybe_take_checkpoint(self_ptr self);

// Applies committed-but-unexecuted ops in op order; the primary answers the clients (§4.1 step 5).
void execute_committed(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  while (vr.execute_number < vr.commit_number) {
    const auto& e = vr.entry(vr.execute_number + 1);
    auto result = st.service->execute(e.op);
    ++vr.execute_number;
    st.client_ops_since_checkpoint += op_batch_parts(e.op);
    auto& rec = vr.client_table[e.client_id];
    if (e.request_number >= rec.request_number)
      rec = client_record{e.request_number, result};
    if (vr.status == replica_status::normal && vr.is_primary()) {
      auto it = st.reply_to.find(e.client_id);
      if (it != st.reply_to.end())
        self->send(it->second, Reply{vr.view_number, e.client_id, e.request_number, result});
    }
  }
  maybe_take_checkpoint(self);
}

// ---------------------------------------------------------------- checkpoints (§5.3)

// Serializes and saves a checkpoint: on the writer's thread, or inline in the simulator. Only
// reads the job, so it may run while the replica goes on.
checkpoint_saved write_checkpoint(const checkpoint_job& job, protocol::persistence* persistence) {
  checkpoint c{job.op_number, job.view_number, job.state->parts()};
  c.parts.push_back(snapshot_part{std::string(client_table_part), job.client_table});
  if (persistence && !persistence->save_checkpoint(c))
    return {job.op_number, nullptr, persistence->error()};
  return {job.op_number, std::make_shared<const std::string>(encode_checkpoint(c)), {}};
}

caf::behavior checkpoint_writer_behavior(caf::event_based_actor*,
                                         std::shared_ptr<protocol::persistence> persistence) {
  return {
    [=](const checkpoint_job& job) -> checkpoint_saved {
      return write_checkpoint(job, persistence.get());
    },
  };
}

// Every checkpoint_interval executed client ops, one at a time. The service is frozen here, on
// the replica's thread, so the checkpoint is exactly the state after op execute_number.
void maybe_take_checkpoint(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (st.opt.checkpoint_interval == 0 || st.checkpoint_in_progress
      || st.client_ops_since_checkpoint < st.opt.checkpoint_interval)
    return;
  st.checkpoint_in_progress = true;
  st.client_ops_since_checkpoint = 0;
  checkpoint_job job{vr.execute_number, vr.view_number, st.service->freeze(),
                     encode_client_table(vr.client_table)};
  if (!st.opt.checkpoint_in_background) {
    self->send(self, write_checkpoint(job, st.opt.persistence.get()));
    return;
  }
  if (!st.checkpoint_writer)
    st.checkpoint_writer = self->spawn<caf::detached + caf::linked>(checkpoint_writer_behavior,
                                                                    st.opt.persistence);
  self->request(st.checkpoint_writer, caf::infinite, std::move(job))
    .then([=](const checkpoint_saved& r) { self->send(self, r); });
}

bool in_transfer(const served_checkpoint& c, time_point t) {
  return c.blob && t < c.in_transfer_until;
}

// The checkpoint this replica now hands to others. The one before stays servable too, for a
// transfer in progress; if the one before that is being transferred (and the one before not),
// that one stays instead: a fetch slower than two checkpoint intervals must still end, or a
// replica that lags under a steady load would restart its fetch forever.
void remember_checkpoint(replica_actor_state& st, std::uint64_t op,
                         std::shared_ptr<const std::string> blob, time_point t) {
  const auto checksum = crc32c(*blob);
  if (!in_transfer(st.previous_checkpoint, t) || in_transfer(st.latest_checkpoint, t))
    st.previous_checkpoint = std::move(st.latest_checkpoint);
  st.latest_checkpoint = served_checkpoint{op, std::move(blob), checksum, {}};
}

// A checkpoint's parts: the service's, and our client_table (nullopt if missing or malformed).
struct checkpoint_contents {
  std::vector<snapshot_part> service_parts;
  std::optional<std::map<std::uint64_t, client_record>> client_table;
};

checkpoint_contents split_checkpoint(const checkpoint& c) {
  checkpoint_contents out;
  for (const auto& p : c.parts) {
    if (p.name == client_table_part)
      out.client_table = decode_client_table(p.bytes);
    else
      out.service_parts.push_back(p);
  }
  return out;
}

// A checkpoint is durable: serve it, and cut the log before it (keeping log_margin entries).
void on_checkpoint_saved(self_ptr self, const checkpoint_saved& r) {
  auto& st = self->state;
  auto& vr = st.vr;
  st.checkpoint_in_progress = false;
  if (!r.blob) {
    // Nothing was cut, so nothing is lost: the log still holds everything. Retry at the next
    // execution.
    st.client_ops_since_checkpoint = st.opt.checkpoint_interval;
    if (st.opt.on_disk_error)
      st.opt.on_disk_error("checkpoint at op " + std::to_string(r.op_number) + ": " + r.error);
    return;
  }
  if (r.op_number <= st.latest_checkpoint.op_number)
    return;   // an installed transfer overtook it
  const auto t = now(self);
  remember_checkpoint(st, r.op_number, r.blob, t);
  // Keep the newest entries before the checkpoint that together hold up to log_margin client
  // ops (at least one more entry would exceed it).
  std::uint64_t keep_from = r.op_number, kept = 0;
  while (keep_from > vr.log_start) {
    kept += op_batch_parts(vr.entry(keep_from).op);
    if (kept > st.opt.log_margin) break;
    --keep_from;
  }
  // A replica installing an older checkpoint needs the log after it.
  for (const served_checkpoint* c : {&st.latest_checkpoint, &st.previous_checkpoint})
    if (in_transfer(*c, t)) keep_from = std::min(keep_from, c->op_number);
  if (keep_from > vr.log_start) {
    vr.discard_prefix(keep_from);
    if (st.opt.persistence) {
      finish_log_save(self);   // one thread at a time uses the persistence
      st.opt.persistence->discard_log_before(keep_from + 1);
    }
  }
}

// GetCheckpoint: any replica with a checkpoint answers, whatever its view: it is committed state.
void on_get_checkpoint(self_ptr self, const GetCheckpoint& g) {
  auto& st = self->state;
  if (g.replica >= st.peers.size() || g.replica == st.vr.replica_number)
    return;
  served_checkpoint* c = &st.latest_checkpoint;
  if (g.op_number != 0 && g.op_number == st.previous_checkpoint.op_number
      && st.previous_checkpoint.blob)
    c = &st.previous_checkpoint;
  if (!c->blob)
    return;
  c->in_transfer_until = now(self) + checkpoint_transfer_pause;
  // A request for a checkpoint we no longer have restarts at 0 with the latest.
  const auto offset = c->op_number == g.op_number ? g.offset : 0;
  if (offset > c->blob->size())
    return;
  const auto length = std::min<std::uint64_t>(st.opt.checkpoint_chunk, c->blob->size() - offset);
  self->send(st.peers[g.replica],
             CheckpointChunk{c->op_number, c->blob->size(), c->checksum, offset,
                             c->blob->substr(offset, length), st.vr.replica_number});
}

void request_next_chunk(self_ptr self) {
  auto& st = self->state;
  auto& f = st.fetch;
  self->send(st.peers[f.from], GetCheckpoint{f.op_number, f.data.size(), st.vr.replica_number});
  f.resend_at = now(self) + st.opt.resend;
}

// Our log does not reach back to where `from`'s starts: fetch its checkpoint (one at a time).
void fetch_checkpoint(self_ptr self, replica_id from) {
  auto& st = self->state;
  if (from >= st.peers.size() || from == st.vr.replica_number
      || (st.fetch.active && st.fetch.from == from))
    return;
  // A fetch from another replica (perhaps one that has gone away) gives way: whoever asks now
  // needs this sender's checkpoint, e.g. a new primary the chosen DoViewChange's.
  st.fetch = {};
  st.fetch.active = true;
  st.fetch.from = from;
  request_next_chunk(self);
}

void after_checkpoint_installed(self_ptr self);

// Makes the fetched checkpoint the replica's state. It is durable before the log before it is
// dropped: a crash in between restarts from the old log or from the checkpoint, both committed.
void install_fetched_checkpoint(self_ptr self, const std::string& blob) {
  auto& st = self->state;
  auto& vr = st.vr;
  auto c = decode_checkpoint(blob);
  if (!c || c->op_number <= vr.commit_number)
    return;   // malformed, or no longer ahead of us: nothing to do
  auto contents = split_checkpoint(*c);
  if (!contents.client_table)
    return;
  // Durable first: if the disk refuses, nothing has changed and a later gap fetches it again.
  if (st.opt.persistence && !st.opt.persistence->save_checkpoint(*c)) {
    disk_failed(self);
    return;
  }
  try {
    st.service->restore(contents.service_parts);
  } catch (const std::invalid_argument& e) {
    // It passed the sender's checksum, so the sender's service produced parts ours rejects: a
    // bug, not a transmission error. Stop rather than run on a state nobody can vouch for.
    throw std::logic_error(std::string("fetched checkpoint rejected by the service: ") + e.what());
  }
  vr.client_table = std::move(*contents.client_table);
  vr.install_checkpoint(c->op_number);
  if (st.opt.persistence) {
    finish_log_save(self);   // one thread at a time uses the persistence
    st.opt.persistence->discard_log_before(c->op_number + 1);
  }
  remember_checkpoint(st, c->op_number, std::make_shared<const std::string>(blob), now(self));
  st.client_ops_since_checkpoint = 0;
  after_checkpoint_installed(self);
}

void on_checkpoint_chunk(self_ptr self, const CheckpointChunk& m) {
  auto& st = self->state;
  auto& f = st.fetch;
  if (!f.active || m.replica != f.from)
    return;
  if (m.offset == 0 && m.op_number != f.op_number) {
    // The first chunk, or the sender moved to a newer checkpoint: (re)start.
    if (m.op_number <= st.vr.commit_number || m.total_size > st.opt.max_checkpoint_bytes) {
      f.active = false;   // not ahead of us, or too big: give up, a later gap asks again
      return;
    }
    f.op_number = m.op_number;
    f.total_size = m.total_size;
    f.checksum = m.checksum;
    f.data.clear();
    f.data.reserve(m.total_size);
  }
  if (m.op_number != f.op_number || m.offset != f.data.size() || m.total_size != f.total_size
      || m.data.size() > f.total_size - f.data.size() || (m.data.empty() && f.total_size > 0))
    return;   // a duplicate or stale chunk: the resend timer asks again
  f.data += m.data;
  f.resends = 0;
  if (f.data.size() < f.total_size) {
    request_next_chunk(self);
    return;
  }
  f.active = false;
  if (crc32c(f.data) == f.checksum)
    install_fetched_checkpoint(self, f.data);
  std::string().swap(f.data);
}

void on_fetch_tick(self_ptr self) {
  auto& f = self->state.fetch;
  if (!f.active || now(self) < f.resend_at)
    return;
  if (++f.resends > 20) {   // the sender is gone: give up; the next gap picks a sender again
    f.active = false;
    std::string().swap(f.data);
    return;
  }
  request_next_chunk(self);
}

// ---------------------------------------------------------------- primary, normal case (§4.1)

void send_commit(self_ptr self) {
  auto& st = self->state;
  broadcast_before_own_save(self, Commit{st.vr.view_number, st.vr.commit_number});
  st.last_commit_sent = now(self);
}

bool flush_pending(self_ptr self);
void ack_primary(self_ptr self);

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

// ---------------------------------------------------------------- backup, normal case (§4.1)

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

void start_view_change(self_ptr self, std::uint64_t view, const std::string& why) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (view <= vr.view_number)
    throw std::logic_error("start_view_change must move to a newer view (view monotone)");
  if (vr.status != replica_status::view_change && st.opt.on_notice)
    st.opt.on_notice("view change from view " + std::to_string(vr.view_number) + " to "
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

// ---------------------------------------------------------------- recovery (§4.3)

// §4.3 step 1, and its retransmission until f+1 answers arrive.
void send_recovery(self_ptr self) {
  auto& st = self->state;
  broadcast(self, Recovery{st.vr.replica_number, st.nonce});
  st.recovery_resend_at = now(self) + st.opt.resend;
}

void on_recovery(self_ptr self, const Recovery& m) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (st.blank) {
    // Not an answer the paper knows: "I have nothing either" lets blank replicas find out that
    // the whole cluster is new (on_recovery_response).
    send_to(self, m.replica, RecoveryResponse{0, m.nonce, false, 0, {}, 0, 0, vr.replica_number,
                                              true});
    return;
  }
  if (vr.status != replica_status::normal || vr.awaiting_state)
    return; // only replicas in normal status answer (§4.3 step 2)
  // Backups report their op and commit numbers too (not in the paper): a blank replica needs
  // them to tell a new cluster from one it belonged to (new_cluster).
  RecoveryResponse r{vr.view_number, m.nonce, vr.is_primary(), 0, {},
                     vr.op_number, vr.commit_number, vr.replica_number};
  if (vr.is_primary()) {
    r.log_start = vr.log_start;
    r.log = vr.log;
  }
  send_to(self, m.replica, r);
}

// A blank replica's question "is this a new cluster?" is settled once every other replica has
// answered, each blank itself or in view 0 with an empty log. If any replica has history (a
// view change happened, or any entry) it says so, and the blank one recovers instead: it may be
// a wiped disk that promised things. Waiting for all n
// (not a quorum) is what makes this safe: f+1 wiped replicas alone cannot agree to start over
// while one that kept its state is merely slow.
bool new_cluster(const replica_actor_state& st) {
  if (st.recovery_responses.size() + 1 < st.vr.configuration_size)
    return false;
  // Any entry anywhere may have been acknowledged by an earlier incarnation of ours: a primary's
  // commit_number cannot vouch against that (a restart resets it, and our old PrepareOk may
  // still be on its way). So only a cluster without a single entry is new.
  for (const auto& [from, r] : st.recovery_responses)
    if (!r.blank && (r.view_number != 0 || r.op_number != 0))
      return false;
  return true;
}

// Fresh cluster: everybody starts in view 0, normal status, empty log. The view record is
// written now, not at the first message: a backup of an idle cluster sends nothing, and without
// a record a restart could not tell it from a replica whose disk was wiped.
void start_fresh(self_ptr self) {
  auto& st = self->state;
  st.blank = false;
  st.recovery_responses.clear();
  if (st.vr.status != replica_status::normal)
    set_status(self, replica_status::normal);
  make_durable(self);
  st.last_prepare_sent = st.last_commit_sent = now(self);
  if (st.opt.on_notice && st.vr.configuration_size > 1)
    st.opt.on_notice("every replica is new: starting a new cluster in view 0");
}

void on_recovery_response(self_ptr self, const RecoveryResponse& r) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (r.nonce != st.nonce || r.replica >= vr.configuration_size
      || r.replica == vr.replica_number)
    return; // answer to an older incarnation's Recovery, or malformed
  if (r.commit_number > r.op_number
      || (r.from_primary
          && (r.log_start > r.commit_number || r.log.size() != r.op_number - r.log_start)))
    return;
  st.recovery_responses[r.replica] = r;
  if (st.blank && new_cluster(st)) {
    start_fresh(self);
    return;
  }
  std::size_t with_state = 0;
  std::uint64_t latest = 0;
  for (const auto& [from, resp] : st.recovery_responses) {
    if (resp.blank)
      continue;   // knows nothing: cannot vouch for any promise (§4.3 needs f+1 that can)
    ++with_state;
    latest = std::max(latest, resp.view_number);
  }
  if (with_state < vr.quorum())
    return;
  auto it = st.recovery_responses.find(vr.primary_of(latest));
  if (it == st.recovery_responses.end() || !it->second.from_primary
      || it->second.view_number != latest)
    return; // need the primary of the latest view among the answers
  const auto& p = it->second;
  if (p.op_number < vr.commit_number)
    return; // older than a checkpoint we installed since it was sent: wait for a fresh one
  if (!vr.can_adopt(p.log_start)) {
    // The primary's log starts after what we hold (nothing, or our disk's checkpoint): fetch
    // its checkpoint, then ask again (after_checkpoint_installed).
    fetch_checkpoint(self, p.replica);
    return;
  }
  st.blank = false;   // from here on it has state, saved before its first message
  vr.view_number = latest;
  vr.adopt_log(p.log_start, p.log);
  st.unsaved_unchecked_drop = true;   // its log was not trusted (or not there): see in_flux_view
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

// A recovery that has not completed for a while: tell the operator what it waits for.
void explain_recovery(self_ptr self) {
  auto& st = self->state;
  st.recovery_notice_at = now(self);
  if (!st.opt.on_notice)
    return;
  std::size_t with_state = 0, blank = 0;
  for (const auto& [from, r] : st.recovery_responses)
    (r.blank ? blank : with_state) += 1;
  const auto n = st.vr.configuration_size;
  std::string msg = "still recovering: " + std::to_string(with_state) + " of the "
                    + std::to_string(n - 1) + " other replicas answered with state and "
                    + std::to_string(blank) + " are blank; recovery needs "
                    + std::to_string(st.vr.quorum()) + " with state, the primary among them";
  if (st.blank)
    msg += ", and a new cluster needs all " + std::to_string(n - 1) + " to answer blank";
  if (with_state + blank + 1 == n && with_state < st.vr.quorum())
    msg += ". More than f replicas have no state: if their data_dirs were lost, this cluster"
           " cannot recover by itself and must not be restarted empty (data would be lost)";
  st.opt.on_notice(msg);
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
  st.watching = false;   // sync_detector sends fd_watch: a new deadline from now
  if (st.opt.on_notice
      && (st.pauses_excused == 1 || t - st.pause_noticed_at >= std::chrono::seconds(10))) {
    st.pause_noticed_at = t;
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

void on_tick(self_ptr self, std::uint64_t generation) {
  auto& st = self->state;
  if (generation != st.tick_generation)
    return; // a superseded timer chain
  self->delayed_send(self, st.opt.tick, vr_tick_atom::value, generation);
  auto& vr = st.vr;
  auto t = now(self);
  note_pause(self, t - st.tick_due);
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
                       || primary_silence(st, t)
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
    start_view_change(self, view + 1,
                      "the primary (replica " + std::to_string(vr.primary_of(view))
                        + ") is doubted by this replica and " + std::to_string(others)
                        + " other(s)");
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
  if (timed && excused_by_pause(self))
    return;
  if (!st.opt.pre_vote) {
    start_view_change(self, vr.view_number + 1, "the primary is silent (no pre-vote)");
    return;
  }
  st.suspect_primary = true;
  // Re-arm the detector (sync_detector sends fd_watch again): while the primary stays silent it
  // fires once per timeout, which also repeats our PrimarySuspected to peers that missed it.
  st.watching = false;
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

// A fetched checkpoint is in place: go on with whatever needed it.
void after_checkpoint_installed(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  switch (vr.status) {
    case replica_status::normal:
      if (!vr.is_primary())   // the log after the checkpoint (awaiting_state: the new view's)
        send_get_state(self, vr.awaiting_state ? vr.state_request_point() : vr.op_number);
      execute_committed(self);
      break;
    case replica_status::view_change:
      if (vr.primary_of(vr.view_number) == vr.replica_number
          && st.do_view_change_from.size() >= vr.quorum()
          && st.do_view_change_from.count(vr.replica_number))
        start_new_view_as_primary(self);
      break;
    case replica_status::recovering:
      // The answers we have describe logs we could not take; ask again with the same nonce.
      st.recovery_responses.clear();
      send_recovery(self);
      break;
  }
}

// ---------------------------------------------------------------- behaviors

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
  st.vr.install_checkpoint(c.op_number);
  st.vr.mark_saved();
  remember_checkpoint(st, c.op_number, std::make_shared<const std::string>(encode_checkpoint(c)),
                      now(self));
  st.client_ops_since_checkpoint = 0;
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
  st.tick_due = t + st.opt.tick;
  // Nothing saved yet: the first message writes the view record (and so the cluster identity).
  st.saved_view.view_number = ~std::uint64_t{0};
  // A checkpoint on our own disk is committed state: usable even by a replica that must recover.
  if (st.opt.restored && st.opt.restored->latest_checkpoint)
    restore_own_checkpoint(self, *st.opt.restored->latest_checkpoint);
  if (st.opt.restored && st.opt.restored->view.status == protocol::replica_status::recovering)
    st.opt.start_recovering = true;
  else if (st.opt.restored) {
    // Restarted on its own disk: everything it ever acknowledged or promised is here, so it is
    // the same replica as before the crash, just late (like one behind a partition). A backup
    // resumes in its view; commits are learned again from the primary. A primary starts a view
    // change (below).
    auto& r = *st.opt.restored;
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
