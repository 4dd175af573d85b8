// Checkpoints (§5.3) of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

// Serializes and saves a checkpoint: on the writer's thread, or inline in the simulator. Only
// reads the job, so it may run while the replica goes on.
checkpoint checkpoint_of(const checkpoint_job& job) {
  checkpoint c{job.op_number, job.view_number, job.state->parts()};
  c.parts.push_back(snapshot_part{std::string(client_table_part), job.client_table});
  return c;
}

checkpoint_saved write_checkpoint(const checkpoint_job& job, protocol::persistence* persistence) {
  const checkpoint c = checkpoint_of(job);
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
  if (st.opt.checkpoint_interval == 0 || st.checkpoint_in_progress
      || st.client_ops_since_checkpoint < st.opt.checkpoint_interval)
    return;
  take_checkpoint(self);
}

// The checkpoint of what the service has executed (committed state), now.
void take_checkpoint(self_ptr self) {
  auto& st = self->state;
  auto& vr = st.vr;
  if (st.checkpoint_in_progress || !st.has_base)
    throw std::logic_error("invariant: a checkpoint while one is taken, or of a state without base");
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

// The checkpoint at op 0: the state a new cluster starts from, which is whatever the service was
// seeded with (for DNS the operator's zone files). Equal seeds give equal bytes: a service's
// parts are the same for the same state (protocol/service.hpp), and dns::ZoneService keeps its
// zones in apex order whatever order a config lists them in.
checkpoint birth_checkpoint(const replica_actor_state& st) {
  return checkpoint_of(
    checkpoint_job{0, 0, st.service->freeze(), encode_client_table(st.vr.client_table)});
}

// Tells seeds apart (an operator's differing zone files), not an adversary: size and CRC32C.
std::uint64_t seed_digest_of(const std::string& blob) {
  return (std::uint64_t{blob.size()} << 32) | crc32c(blob);
}

// A replica that starts a new cluster keeps its birth state as the checkpoint at op 0, on disk
// and to serve: a restart then reads it instead of the zone files (which the operator may have
// edited since), and a replica that recovers without state of its own fetches it instead of
// replaying the log onto its own zone files. Called once the view record is durable: a crash
// before this save restarts from that record with no checkpoint, the way older data_dirs do.
void save_birth_checkpoint(self_ptr self) {
  auto& st = self->state;
  if (st.has_base) {
    // A blank replica that fetched the others' birth state (its own differed) and then found
    // the cluster new: that fetched checkpoint is its birth state, saved and served already.
    st.birth.reset();
    return;
  }
  if (!st.birth)
    st.birth = birth_checkpoint(st);
  // A failed save leaves the replica running on what it has (the log is complete from op 1),
  // and the operator told; a later checkpoint supersedes this one.
  if (st.opt.persistence && !st.opt.persistence->save_checkpoint(*st.birth) && st.opt.on_disk_error)
    st.opt.on_disk_error("checkpoint at op 0 (the cluster's birth state): "
                         + st.opt.persistence->error());
  // A lone replica has nobody to serve it to (nor to compare seeds with): the encoded copy
  // would only double its memory for a big zone.
  if (st.vr.configuration_size > 1) {
    auto blob = std::make_shared<const std::string>(encode_checkpoint(*st.birth));
    st.seed_digest = seed_digest_of(*blob);
    remember_checkpoint(st, 0, std::move(blob), now(self));
  }
  st.birth.reset();
  st.has_base = true;
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
  if (st.latest_checkpoint.blob && r.op_number <= st.latest_checkpoint.op_number)
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
  if (!c->blob) {
    // None yet: this replica restarted from a log without one (a crash before its birth
    // checkpoint was saved, or that save failed). The asker, which has no state of its own,
    // needs one: take it now; its resend gets it.
    if (!st.checkpoint_in_progress && st.has_base && st.vr.status == replica_status::normal)
      take_checkpoint(self);
    return;
  }
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

// Makes the fetched checkpoint the replica's state. It is durable before the log before it is
// dropped: a crash in between restarts from the old log or from the checkpoint, both committed.
void install_fetched_checkpoint(self_ptr self, const std::string& blob) {
  auto& st = self->state;
  auto& vr = st.vr;
  auto c = decode_checkpoint(blob);
  // A replica without a base takes any checkpoint, the birth state at op 0 too.
  if (!c || (st.has_base && c->op_number <= vr.commit_number))
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
  vr.trim_client_table();
  vr.install_checkpoint(c->op_number);
  if (st.opt.persistence) {
    finish_log_save(self);   // one thread at a time uses the persistence
    st.opt.persistence->discard_log_before(c->op_number + 1);
  }
  st.has_base = true;
  st.birth.reset();   // a blank replica's own seed: never to be used now
  if (c->op_number == 0)
    st.seed_digest = seed_digest_of(blob);
  remember_checkpoint(st, c->op_number, std::make_shared<const std::string>(blob), now(self));
  st.client_ops_since_checkpoint = 0;
  after_checkpoint_installed(self);
}

void on_checkpoint_chunk(self_ptr self, const CheckpointChunk& m) {
  auto& st = self->state;
  auto& f = st.fetch;
  if (!f.active || m.replica != f.from)
    return;
  if (m.offset == 0 && (!f.begun || m.op_number != f.op_number)) {
    // The first chunk, or the sender moved to a newer checkpoint: (re)start.
    if ((st.has_base && m.op_number <= st.vr.commit_number)
        || m.total_size > st.opt.max_checkpoint_bytes) {
      f.active = false;   // not ahead of us, or too big: give up, a later gap asks again
      return;
    }
    f.begun = true;
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

} // namespace vrdns::actors::replica_impl
