// Recovery (§4.3) of the replica actor (see actors/replica_impl.hpp).
#include "actors/replica_impl.hpp"

namespace vrdns::actors::replica_impl {

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
    prepare_birth(self);
    send_to(self, m.replica, RecoveryResponse{0, m.nonce, false, 0, {}, 0, 0, vr.replica_number,
                                              true, st.seed_digest});
    return;
  }
  if (vr.status != replica_status::normal || vr.awaiting_state)
    return; // only replicas in normal status answer (§4.3 step 2)
  // Backups report their op and commit numbers too (not in the paper): a blank replica needs
  // them to tell a new cluster from one it belonged to (new_cluster).
  RecoveryResponse r{vr.view_number, m.nonce, vr.is_primary(), 0, {},
                     vr.op_number, vr.commit_number, vr.replica_number, false, st.seed_digest};
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
  // Every replica executes the same log on its birth state: from different ones (zone files
  // that differ between nodes) the same serial would name different zones on different nodes.
  return everybody_new(st) && st.seed_digest != 0 && seed_mismatches(st).empty();
}

// Every other replica has answered, and none has history.
bool everybody_new(const replica_actor_state& st) {
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

// A blank replica's birth state, built when it is first needed: to answer another blank
// replica, or to start a new cluster. Not at start: a new host joining a cluster with history
// never needs it, and for a big zone it costs seconds (every zone written as a master file).
void prepare_birth(self_ptr self) {
  auto& st = self->state;
  if (!st.blank || st.birth)
    return;
  st.birth = birth_checkpoint(st);
  st.seed_digest = seed_digest_of(encode_checkpoint(*st.birth));
}

// The replicas whose answers name a birth state other than ours (known on both sides).
std::vector<replica_id> seed_mismatches(const replica_actor_state& st) {
  std::vector<replica_id> out;
  for (const auto& [from, r] : st.recovery_responses)
    if (r.seed_digest != 0 && st.seed_digest != 0 && r.seed_digest != st.seed_digest)
      out.push_back(from);
  return out;
}

// Once per replica: which seeds differ, and what the operator can do about it.
void note_seed_mismatches(self_ptr self) {
  auto& st = self->state;
  for (replica_id r : seed_mismatches(st)) {
    if (!st.seed_mismatch_noted.insert(r).second || !st.opt.on_notice)
      continue;
    st.opt.on_notice("replica " + std::to_string(r)
                     + " would start from other data than this replica (its zones or zone files"
                       " differ from this node's): a new cluster starts only when every node has"
                       " the same [[zone]] names and files; waiting for them to agree");
  }
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
  save_birth_checkpoint(self);
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
  if (st.blank && everybody_new(st)) {
    prepare_birth(self);
    note_seed_mismatches(self);
  }
  if (st.blank && new_cluster(st)) {
    // Blank replicas learn that the cluster is new at different times, and the primary of view
    // 0 may be the last (a peer connection still in its retry backoff, a slow start): its
    // silence until then is not a failure yet (replica_options::first_contact_timeout). A
    // primary that answered as a normal replica has started already and sends heartbeats.
    const auto primary = st.recovery_responses.find(vr.primary_of(0));
    const bool primary_blank =
      primary != st.recovery_responses.end() && primary->second.blank;
    start_fresh(self);
    st.first_contact_pending = !vr.is_primary() && primary_blank
                               && st.opt.first_contact_timeout > st.opt.primary_timeout;
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
  if (!st.has_base || !vr.can_adopt(p.log_start)) {
    // The primary's log starts after what we hold (nothing, or our disk's checkpoint), or we
    // hold no state the cluster agreed on (only our own zone files): fetch its checkpoint
    // (at op 0 its birth state, if it has none later), then ask again
    // (after_checkpoint_installed).
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
  if (st.blank && !seed_mismatches(st).empty()) {
    msg += ", with the same zones: replicas";
    for (replica_id r : seed_mismatches(st))
      msg += " " + std::to_string(r);
    msg += " would start from other zone data";
  }
  if (with_state + blank + 1 == n && with_state < st.vr.quorum())
    msg += ". More than f replicas have no state: if their data_dirs were lost, this cluster"
           " cannot recover by itself and must not be restarted empty (data would be lost)";
  st.opt.on_notice(msg);
}

} // namespace vrdns::actors::replica_impl
