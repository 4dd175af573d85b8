// The replica actor's internals, shared by its files (private to actors/; include only from
// actors/replica*.cpp). actors/replica.hpp is the public face: options, state, spawn function.
//
// One file per part of the protocol, named as in VR Revisited:
//   replica_impl.hpp         (this file) the handler wrapper `guarded` and sending to peers
//   replica.cpp              the behaviors (one per status), what runs after every handler
//                            (detector, operator's log, app), executing committed ops, spawning
//   replica_normal.cpp       normal case (§4.1): the primary's Requests/PrepareOks/commits and
//                            the backups' Prepares/Commits, and GetState/NewState (§5.2)
//   replica_view_change.cpp  view change (§4.2), and starting a state transfer for a newer view
//   replica_recovery.cpp     recovery (§4.3) and the start of a brand-new cluster
//   replica_timers.cpp       the tick, failure suspicion with pre-vote and pause detection
//   replica_durability.cpp   saving the log and view before anything leaves (issue #5)
//   replica_checkpoints.cpp  checkpoints, their transfer in chunks, log truncation (§5.3)
#pragma once

#include "actors/replica.hpp"

#include "actors/peer_messages.hpp"
#include "common/crc32c.hpp"
#include "protocol/op_batch.hpp"
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

namespace vrdns::actors::replica_impl {

using namespace vrdns::protocol;

using time_point = failure_detector::time_point;

using self_ptr = replica_actor*;

inline time_point now(self_ptr self) { return self->clock().now(); }

// A replica fetching a checkpoint asks for the next chunk as soon as one arrives (and resends
// after `resend`): this long without a request for it means the fetch has ended or stopped.
inline constexpr std::chrono::milliseconds checkpoint_transfer_pause{1000};

// A checkpoint's parts: the service's, and our client_table (nullopt if missing or malformed).
struct checkpoint_contents {
  std::vector<snapshot_part> service_parts;
  std::optional<std::map<std::uint64_t, client_record>> client_table;
};

// --- replica.cpp: behaviors and the handler wrapper
void violation(self_ptr self, const std::string& what);
void notice_view(self_ptr self, const std::string& line);
void sync_detector(self_ptr self);
void notify_change(self_ptr self);
void set_status(self_ptr self, replica_status s);
void execute_committed(self_ptr self);
void on_peer_set(self_ptr self, std::uint32_t i, caf::actor& handle);
caf::behavior normal_behavior(self_ptr self);
caf::behavior view_change_behavior(self_ptr self);
caf::behavior recovering_behavior(self_ptr self);
void restore_own_checkpoint(self_ptr self, const checkpoint& c);

// --- replica_durability.cpp: durability
bool disk_failed(self_ptr self);
void disk_works(self_ptr self);
bool make_durable(self_ptr self);
durable_view view_to_save(const replica_actor_state& st);
bool view_saved(const replica_actor_state& st);
bool make_durable_unguarded(self_ptr self);
bool appends_only(const replica_actor_state& st);
std::uint64_t durable_op(const replica_actor_state& st);
void start_log_save(self_ptr self);
bool finish_log_save(self_ptr self);
void on_log_saved(self_ptr self, std::uint64_t seq);
bool view_durable(self_ptr self);

// --- replica_checkpoints.cpp: checkpoints (§5.3)
checkpoint checkpoint_of(const checkpoint_job& job);
checkpoint_saved write_checkpoint(const checkpoint_job& job, protocol::persistence* persistence);
caf::behavior checkpoint_writer_behavior(caf::event_based_actor*,
                                         std::shared_ptr<protocol::persistence> persistence);
void maybe_take_checkpoint(self_ptr self);
void take_checkpoint(self_ptr self);
bool in_transfer(const served_checkpoint& c, time_point t);
void remember_checkpoint(replica_actor_state& st, std::uint64_t op,
                         std::shared_ptr<const std::string> blob, time_point t);
checkpoint_contents split_checkpoint(const checkpoint& c);
checkpoint birth_checkpoint(const replica_actor_state& st);
std::uint64_t seed_digest_of(const std::string& blob);
void save_birth_checkpoint(self_ptr self);
void on_checkpoint_saved(self_ptr self, const checkpoint_saved& r);
void on_get_checkpoint(self_ptr self, const GetCheckpoint& g);
void request_next_chunk(self_ptr self);
void fetch_checkpoint(self_ptr self, replica_id from);
void install_fetched_checkpoint(self_ptr self, const std::string& blob);
void on_checkpoint_chunk(self_ptr self, const CheckpointChunk& m);
void on_fetch_tick(self_ptr self);
void after_checkpoint_installed(self_ptr self);

// --- replica_normal.cpp: normal case (§4.1)
void send_commit(self_ptr self);
void commit_up_to(self_ptr self, std::uint64_t k);
void try_commit(self_ptr self);
bool flush_pending(self_ptr self);
bool request_in_progress(const replica_actor_state& st, const Request& r);
void schedule_flush(self_ptr self);
void on_flush(self_ptr self);
bool new_cluster_not_started(const replica_actor_state& st);
void on_request(self_ptr self, const Request& r);
void on_prepare_ok(self_ptr self, const PrepareOk& m);
void on_get_state(self_ptr self, const GetState& g);
void send_get_state(self_ptr self, std::uint64_t after);
void send_prepare_ok(self_ptr self);
void ack_primary(self_ptr self);
bool append_from(self_ptr self, std::uint64_t first, const std::vector<log_entry>& entries);
bool from_current_primary(self_ptr self, std::uint64_t view);
void on_prepare(self_ptr self, const Prepare& p);
void on_commit(self_ptr self, const Commit& c);
void on_new_state(self_ptr self, const NewState& ns);

// --- replica_view_change.cpp: view change (§4.2)
void reset_view_bookkeeping(self_ptr self);
void start_view_change(self_ptr self, std::uint64_t view, const std::string& why);
DoViewChange make_do_view_change(const replica_state& vr);
StartView make_start_view(const replica_state& vr);
void maybe_send_do_view_change(self_ptr self);
void on_start_view_change(self_ptr self, const StartViewChange& m);
void start_new_view_as_primary(self_ptr self);
void on_do_view_change(self_ptr self, const DoViewChange& d);
void on_start_view(self_ptr self, const StartView& sv);
void begin_state_transfer(self_ptr self, std::uint64_t view);

// --- replica_recovery.cpp: recovery (§4.3)
void send_recovery(self_ptr self);
void on_recovery(self_ptr self, const Recovery& m);
bool new_cluster(const replica_actor_state& st);
bool everybody_new(const replica_actor_state& st);
void prepare_birth(self_ptr self);
std::vector<replica_id> seed_mismatches(const replica_actor_state& st);
void note_seed_mismatches(self_ptr self);
void start_fresh(self_ptr self);
void on_recovery_response(self_ptr self, const RecoveryResponse& r);
void explain_recovery(self_ptr self);

// --- replica_timers.cpp: timers and failure suspicion
void resend_prepares(self_ptr self);
void note_pause(self_ptr self, failure_detector::duration overdue);
failure_detector::duration primary_silence(const replica_actor_state& st, time_point t);
bool excused_by_pause(self_ptr self);
bool awaiting_first_contact(const replica_actor_state& st, time_point t);
bool excused_by_first_contact(self_ptr self);
void on_tick(self_ptr self, std::uint64_t generation);
void maybe_start_view_change_after_suspicion(self_ptr self, std::uint64_t view);
void on_suspect(self_ptr self, std::uint64_t view, bool timed);
void on_peer_lost(self_ptr self, protocol::replica_id who);
void on_primary_suspected(self_ptr self, const PrimarySuspected& m);

// --- templates (messages to peers, the handler wrapper)

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

} // namespace vrdns::actors::replica_impl
