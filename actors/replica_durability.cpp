// Durability of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

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

// Saves whatever changed in the log and the view promises (protocol/persistence.hpp). Every
// message to a peer goes through here first, so no PrepareOk, DoViewChange, StartView or
// RecoveryResponse ever rests on state a crash could take away: the PrepareOk rule of issue #5
// and "never go back to an older view" in one place. One fsync covers everything that changed
// since the last message, which is the group commit. false: the disk refused, send nothing.
// (make_durable_unguarded, below, does the work; this turns a broken promise into fail-stop.)
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

// A primary's new Prepare may leave before its own copy of the entries is saved, so that its
// fsync runs while the backups do theirs: the Prepare promises nothing about the primary's
// disk, and try_commit counts the primary only for saved entries. So does a Commit, and a
// PrepareOk names only saved entries. Only the log may lag: a view the disk does not know yet
// is saved first (make_durable).
bool view_durable(self_ptr self) {
  auto& st = self->state;
  return view_saved(st) || make_durable(self);
}

} // namespace vrdns::actors::replica_impl
