// A VR replica as a CAF 0.17 stateful actor (VR Revisited §4: normal case, view change, recovery;
// §5.2: state transfer). Each status of the paper is one CAF behavior, switched with `become`:
//   normal       (§4.1)  Request/Prepare/PrepareOk/Commit/GetState/NewState + view change entry
//   view_change  (§4.2)  StartViewChange/DoViewChange/StartView
//   recovering   (§4.3)  RecoveryResponse only
// Replicas talk to each other only by one-way sends to `peers[i]` (so a simulator can interpose
// its network), never by request/response; `(vr_peer_set_atom, i, handle)` replaces peers[i]
// (actors/peer_messages.hpp). Each replica spawns its own failure detector actor
// (actors/failure_detector_actor.hpp, linked), whose fd_suspect starts the pre-vote
// (PrimarySuspected) that precedes a view change.
#pragma once

#include "actors/failure_detector_actor.hpp"
#include "actors/log_saver.hpp"
#include "actors/notice_budget.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/messages.hpp"
#include "protocol/persistence.hpp"
#include "protocol/replica_state.hpp"
#include "protocol/service.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace vrdns::actors {

// Periodic timer of a replica; the payload is the timer generation (stack-notes §2.4).
using vr_tick_atom = caf::atom_constant<caf::atom("vr_tick")>;
// Sent by the replica to itself: "the messages queued before this one are handled, now save and
// send" (group commit, see replica_normal.cpp schedule_flush).
using vr_flush_atom = caf::atom_constant<caf::atom("vr_flush")>;
// From the replica's log saver (actors/log_saver.hpp): save number `seq` has completed.
using vr_log_saved_atom = caf::atom_constant<caf::atom("vr_logsavd")>;

struct replica_options {
  std::size_t pipeline_max = 8;    // Prepares in flight before requests wait in `pending`
  std::size_t batch_max = 32;      // requests per Prepare
  std::size_t transfer_max = 256;  // log entries per NewState / resent Prepare
  // Clients the client_table remembers (protocol/replica_state.hpp); must be the same on every
  // replica. Only tests set another value.
  std::size_t client_table_max = protocol::default_client_table_max;
  std::chrono::milliseconds tick{10};
  std::chrono::milliseconds heartbeat{50};       // primary sends Commit when idle this long
  std::chrono::milliseconds primary_timeout{200}; // backup suspects the primary after this...
  std::chrono::milliseconds timeout_jitter{100};  // ...plus uniform[0, jitter)
  // At most one fd_heard note per this much time: a busy primary's Prepares need not each cost
  // an actor message; the deadline is then at most this much early.
  std::chrono::milliseconds heard_note_gap{5};
  std::chrono::milliseconds view_change_timeout{300}; // stalled view change -> try view+1
  // A backup that hears a PrimarySuspected agrees when it has not heard the primary itself for
  // this many heartbeats (a live primary is heard at least once per heartbeat).
  int doubt_after_heartbeats = 2;
  // Pause detection. A replica that was not scheduled for a while (a starved host, a VM stall,
  // a disk that blocked its thread) cannot tell a silent primary from its own deafness: the
  // primary's messages sat in its mailbox or socket meanwhile. A tick of ours handled at least
  // pause_threshold after it was due counts as a pause, and the time it was overdue (since the
  // primary was last heard) is not held against the primary: a timed suspicion (our detector,
  // doubt_after_heartbeats, a connection that closed after primary_timeout of silence) counts
  // only silence minus pauses, up to pause_allowance per silence so that a dead primary is
  // still replaced (after at most primary_timeout + jitter + pause_allowance, plus one re-armed
  // timeout, while this replica keeps stalling). A stall longer than that is held against the
  // primary like silence. A connection that closes while the primary was heard recently is not
  // timing and is never excused. pause_threshold 0 = off.
  std::chrono::milliseconds pause_threshold{50};
  std::chrono::milliseconds pause_allowance{2000};
  // A backup of a brand-new cluster (it started blank, and the primary of view 0 answered its
  // Recovery blank too) gives that primary this long, from when it began to follow it, to be
  // heard for the first time before it doubts it: the replicas settle that the cluster is new
  // at different times, and the primary may be the last. A dead primary of a new cluster is
  // replaced that much later. Not above primary_timeout: no grace.
  std::chrono::milliseconds first_contact_timeout{2000};
  // Pre-vote before a view change (PrimarySuspected, see replica_timers.cpp). false: the paper's rule,
  // a backup whose detector gives up starts the view change alone (scripted simulator traces).
  bool pre_vote = true;
  std::chrono::milliseconds resend{50}; // Prepare / SVC / DVC / GetState / Recovery retransmission
  std::uint64_t seed = 0;               // jitter and recovery nonce
  bool start_recovering = false;        // true when restarted after a crash (§4.3)
  // No state on disk and no sign of an earlier run: a replica of a brand-new cluster, or one
  // whose disk was wiped (it cannot tell which). It saves nothing and promises nothing until it
  // knows: it starts afresh only if every other replica answers its Recovery as blank too (or
  // as a normal replica of view 0 that has committed nothing); otherwise it recovers (§4.3).
  bool blank = false;
  // Human-readable notes for the operator's log (a recovery that cannot complete, and why).
  std::function<void(const std::string&)> on_notice;
  // The recovery nonce must differ between incarnations (§4.3), else answers to the previous
  // incarnation's Recovery are accepted. By default it mixes in std::random_device, since a node
  // typically restarts with the same configured seed. Only a simulator that passes a fresh seed
  // per incarnation (and needs replayable runs) sets this.
  bool deterministic_nonce = false;
  // Fault injection so the simulator can prove its checker catches bugs. Never set in production.
  bool unsafe_commit_without_quorum = false;   // primary commits as soon as it appends
  bool unsafe_reply_before_commit = false;     // primary answers "" as soon as it appends
  bool unsafe_paper_state_transfer = false;    // §5.2 literally: truncate log to commit_number
  // Called on a violated invariant instead of abort() (the simulator records it).
  std::function<void(const std::string&)> on_violation;
  // Called on the replica's thread, once at spawn and after every handler that changed the
  // view, status, op_number, commit_number or executed ops: the app publishes a new serving
  // state (zones + status line) from it. Must not block.
  std::function<void(const protocol::replica_state&)> on_change;
  // Durable state (issue #5): when set, every message to a peer waits until the log and the
  // view promises are saved. `restored`: what an earlier incarnation saved (a restart on its
  // own disk); a status of recovering there means it had not finished recovering: recover.
  std::shared_ptr<protocol::persistence> persistence;
  std::optional<protocol::restored_state> restored;
  // Called on the replica's thread when saving starts failing (with the error) and when it
  // works again (with ""). Must not block.
  std::function<void(const std::string&)> on_disk_error;
  // Checkpoints (protocol/checkpoint.hpp): every checkpoint_interval executed client ops (an op
  // batch counts as its parts) the replica freezes the service and saves a checkpoint (0 =
  // never); once it is durable the log is cut, keeping entries before it that hold up to
  // log_margin client ops, for replicas that lag a little (they catch up from the log; those
  // further behind fetch the checkpoint).
  std::uint64_t checkpoint_interval = 0;
  std::uint64_t log_margin = 0;
  // true: serializing and saving run on a writer actor with its own thread (a big zone takes
  // seconds); false: inline on the replica's thread (the simulator, to stay deterministic).
  bool checkpoint_in_background = true;
  // true: appended log entries are saved (written and fsync'ed) on a thread of their own while
  // the replica goes on (actors/log_saver.hpp); false: inline, with the completion still
  // arriving as a message (the simulator, to stay deterministic).
  bool log_save_in_background = true;
  // Inline only: the completion arrives this much later (the simulator's time), so messages and
  // crashes fall between a save's start and its completion as they do with a real disk.
  std::chrono::milliseconds log_save_latency{0};
  // true: a backup saves its appended entries at once on its own thread (make_durable) and
  // acknowledges right after, instead of handing them to the log saver and waiting for its
  // completion message; a primary keeps the saver, so its Prepares leave while it syncs.
  bool backup_saves_inline = false;
  std::size_t checkpoint_chunk = 1u << 20;                // bytes per CheckpointChunk
  std::uint64_t max_checkpoint_bytes = std::uint64_t{4} << 30; // larger total_size: refused
};

// Handed to the checkpoint writer: everything it needs, immutable, so it can run on its own
// thread while the replica goes on executing.
struct checkpoint_job {
  std::uint64_t op_number = 0;
  std::uint64_t view_number = 0;
  std::shared_ptr<const protocol::frozen_service> state;
  std::string client_table;   // encode_client_table, taken at op_number
};

// The writer's answer (a local message only, never sent to another node). `blob` is the
// checkpoint as it travels in CheckpointChunk; null when saving failed.
struct checkpoint_saved {
  std::uint64_t op_number = 0;
  std::shared_ptr<const std::string> blob;
  std::string error;
};

// A checkpoint this replica can hand to others: its op and blob.
struct served_checkpoint {
  std::uint64_t op_number = 0;
  std::shared_ptr<const std::string> blob;
  std::uint32_t checksum = 0;
  // A replica is fetching it (a chunk was served) until about then: the checkpoint is kept,
  // and the log after it too, so a transfer slower than the checkpoint interval still ends.
  failure_detector::time_point in_transfer_until{};
};

// A request the primary accepted but has not yet put into a Prepare (pipeline full).
struct pending_request {
  protocol::log_entry entry;
};

struct replica_actor_state {
  protocol::replica_state vr;
  replica_options opt;
  std::vector<caf::actor> peers;
  std::shared_ptr<protocol::service> service;
  caf::actor detector;                  // failure_detector_actor.hpp, linked
  // What the detector was last told (fd_watch), and whether the primary was heard since the last
  // note; synced after every handler (sync_detector).
  std::uint64_t watched_view = 0;
  bool watching = false;
  bool rearm_detector = false;   // a fresh deadline from now although the watch is unchanged
  bool heard_primary = false;
  failure_detector::time_point last_heard_note{};
  // Pre-vote (on_suspect): when the primary of `silence_view` was last heard (or that view
  // began), whether our own detector gave up on it since, and who else said so, when.
  std::uint64_t silence_view = ~std::uint64_t{0};
  failure_detector::time_point last_heard_primary{};
  bool suspect_primary = false;
  std::map<protocol::replica_id, std::pair<std::uint64_t, failure_detector::time_point>>
    suspected_by;   // replica -> (view, when its PrimarySuspected arrived)
  std::pair<std::uint64_t, failure_detector::time_point> said_suspected{~std::uint64_t{0}, {}};
  // A backup of a new cluster that has not heard the primary of view 0 yet
  // (replica_options::first_contact_timeout); the operator was told about the wait.
  bool first_contact_pending = false;
  bool first_contact_noted = false;
  // Pause detection (replica_options::pause_threshold): when our tick chain's current tick is
  // due, and how long we were paused since the primary was last heard (capped by the allowance).
  failure_detector::time_point tick_due{};
  failure_detector::duration paused_in_silence{};
  std::uint64_t pauses_excused = 0;                  // timed suspicions not acted on
  // The operator's log: one line about pauses per 10 s, and 10 lines about views per minute, so
  // that a group churning through views (one replica partitioned one way keeps starting them)
  // does not flood it; noticed_view is the last view logged as normal.
  notice_budget pause_notices{1, std::chrono::seconds(10)};
  notice_budget view_notices{10, std::chrono::minutes(1)};
  std::uint64_t noticed_view = ~std::uint64_t{0};
  std::mt19937_64 rng{0};
  std::uint64_t tick_generation = 0;
  bool flush_scheduled = false;   // a vr_flush_atom is in our mailbox
  bool ack_owed = false;          // a backup appended entries it has not acknowledged yet
  bool violated = false;
  protocol::durable_view saved_view;   // what make_durable last saved
  std::string disk_error;              // non-empty while the disk refuses writes
  // What on_change last saw (view, status, op, commit, executed), to call it only on a change.
  std::tuple<std::uint64_t, int, std::uint64_t, std::uint64_t, std::uint64_t> observed{
    ~std::uint64_t{0}, -1, 0, 0, 0};

  // --- saving appended entries in the background (replica_durability.cpp start_log_save) ---
  std::unique_ptr<log_saver> saver;
  std::uint64_t log_save_to = 0;      // the running save ends at this op...
  std::uint64_t log_save_epoch = 0;   // ...of the log as it was then (replica_state::log_epoch)

  // --- primary (normal status) ---
  std::vector<std::uint64_t> acked;        // per replica: highest op it holds in this view
  std::deque<pending_request> pending;     // accepted, waiting for pipeline room
  std::deque<std::uint64_t> inflight;      // last op-number of each uncommitted Prepare batch
  std::map<std::uint64_t, caf::actor> reply_to; // client_id -> where to send its Reply
  failure_detector::time_point last_prepare_sent{};
  failure_detector::time_point last_commit_sent{};

  // --- view change ---
  std::set<protocol::replica_id> start_view_change_from;
  bool sent_do_view_change = false;
  std::map<protocol::replica_id, protocol::DoViewChange> do_view_change_from;
  failure_detector::time_point view_change_deadline{};
  failure_detector::time_point view_change_resend_at{};

  // The unsaved change of the log dropped entries without comparing them with the log that
  // replaces them (NewState after a view this replica missed, the end of recovery), unlike
  // adopt_log (StartView, a new primary). A crash while it is saved must then restart the
  // replica recovering: protocol::in_flux_view.
  bool unsaved_unchecked_drop = false;

  // --- recovery ---
  bool blank = false;                   // options.blank, until it has decided (see there)
  // The service holds state the whole cluster agreed on: the birth state (start_fresh) or a
  // checkpoint, its own or fetched. Without it (blank, or recovering with no checkpoint on its
  // disk) the service holds only what this node was seeded with (for DNS: its own zone files,
  // which may differ from those the cluster started from), so a recovering replica takes a
  // checkpoint before it executes anything (on_recovery_response).
  bool has_base = false;
  // Fingerprint of the birth state (RecoveryResponse::seed_digest); 0 = not known.
  std::uint64_t seed_digest = 0;
  // While blank: the checkpoint at op 0 it would start a new cluster from (prepare_birth).
  std::optional<protocol::checkpoint> birth;
  std::set<protocol::replica_id> seed_mismatch_noted;   // told the operator, once each
  failure_detector::time_point recovery_started{};
  failure_detector::time_point recovery_notice_at{};
  // A primary of a cluster without entries: the backups that said they started (on_request
  // waits for f of them before the first entry).
  std::set<protocol::replica_id> backups_started;
  std::uint64_t nonce = 0;
  std::map<protocol::replica_id, protocol::RecoveryResponse> recovery_responses;
  failure_detector::time_point recovery_resend_at{};

  // --- state transfer ---
  failure_detector::time_point get_state_resend_at{};

  // --- checkpoints ---
  served_checkpoint latest_checkpoint;     // the newest durable one (what GetCheckpoint gets)
  served_checkpoint previous_checkpoint;   // the one before: a transfer in progress may need it
  bool checkpoint_in_progress = false;
  // Client ops executed since the last checkpoint was taken or installed, counting each part
  // of an op batch (protocol/op_batch.hpp): what checkpoint_interval counts, so a checkpoint
  // (and with it the log's length in bytes) does not drift with the batch size.
  std::uint64_t client_ops_since_checkpoint = 0;
  caf::actor checkpoint_writer;            // when checkpoint_in_background
  // A checkpoint being fetched from `from` (one chunk per request).
  struct fetch_state {
    bool active = false;
    bool begun = false;   // its first chunk arrived (op_number, total_size, checksum are set)
    protocol::replica_id from = 0;
    std::uint64_t op_number = 0;
    std::uint64_t total_size = 0;
    std::uint32_t checksum = 0;
    std::string data;
    failure_detector::time_point resend_at{};
    int resends = 0;
  } fetch;

  static inline const char* name = "vr_replica";
};

using replica_actor = caf::stateful_actor<replica_actor_state>;

// Spawns with `sys.spawn(replica, n_index, peers, service, options)`. `peers.size()` is the
// configuration size; peers[replica_number] is never used, and a null peers[i] (not reachable
// yet) drops what is sent to it until a vr_peer_set_atom names its handle. `service` must be
// fresh (empty state) when `options.start_recovering` is set: recovery rebuilds it from a
// checkpoint (its own in options.restored, or one fetched from a peer) and the log after it.
caf::behavior replica(replica_actor* self, protocol::replica_id replica_number,
                      std::vector<caf::actor> peers, std::shared_ptr<protocol::service> service,
                      replica_options options);

} // namespace vrdns::actors

// Local-only messages (replica <-> its checkpoint writer, never across nodes): CAF 0.17 refuses
// at compile time to put a type without inspect() into a message unless it is whitelisted.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::actors::checkpoint_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::actors::checkpoint_saved)
