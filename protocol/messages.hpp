// VR messages of "Viewstamped Replication Revisited" (Liskov & Cowling 2012), §4 and §5.
//
// Plain structs plus CAF `inspect` overloads, nothing else: the replica actor, the client proxy and
// the simulator all speak these. Field names follow the paper. Operations and results are opaque
// byte strings so any deterministic service (the DNS zone store, the simulator's KV machine) plugs
// in. Every struct here that is sent as a top-level message MUST be registered in
// actors/vr_types.cpp, or it silently arrives empty on a remote node.
#pragma once

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vrdns::protocol {

using replica_id = std::uint32_t;

// One slot of the replicated log: the client request that was assigned this op-number.
struct log_entry {
  std::uint64_t client_id = 0;
  std::uint64_t request_number = 0;
  std::string op;
  friend bool operator==(const log_entry&, const log_entry&) = default;
};

// §4.1 step 1: client -> primary (or all replicas after a client timeout).
struct Request {
  std::string op;
  std::uint64_t client_id = 0;
  std::uint64_t request_number = 0;
};

// §4.1 step 3, batched: `entries` occupy op-numbers op_number-entries.size()+1 .. op_number.
// One Prepare carrying a batch stands for several consecutive Prepares of the paper.
struct Prepare {
  std::uint64_t view_number = 0;
  std::uint64_t op_number = 0;
  std::uint64_t commit_number = 0;
  std::vector<log_entry> entries;
};

// §4.1 step 4. Cumulative: "I hold every entry up to op_number of this view".
struct PrepareOk {
  std::uint64_t view_number = 0;
  std::uint64_t op_number = 0;
  replica_id replica = 0;
};

// §4.1 step 7 (also the primary's heartbeat).
struct Commit {
  std::uint64_t view_number = 0;
  std::uint64_t commit_number = 0;
};

// §4.1 step 6: primary -> client.
struct Reply {
  std::uint64_t view_number = 0;
  std::uint64_t client_id = 0;
  std::uint64_t request_number = 0;
  std::string result;
};

// Not in the paper: a pre-vote before §4.2 step 1. A backup whose failure detector gave up on
// the primary of `view_number` says so; a view change starts only once f+1 replicas doubt the
// primary (actors/replica_timers.cpp on_suspect). Without it one backup with a bad link to a healthy
// primary (or one that just reconnected) drags the whole group into a needless view change.
struct PrimarySuspected {
  std::uint64_t view_number = 0;
  replica_id replica = 0;
};

// §4.2 step 1.
struct StartViewChange {
  std::uint64_t view_number = 0;
  replica_id replica = 0;
};

// Logs in DoViewChange, StartView and RecoveryResponse hold ops log_start+1 .. op_number: the
// entries before log_start are covered by the sender's checkpoint (committed, hence the same on
// every replica) and were dropped (protocol/checkpoint.hpp). log_start <= commit_number.

// §4.2 step 2.
struct DoViewChange {
  std::uint64_t view_number = 0;
  std::uint64_t log_start = 0;
  std::vector<log_entry> log;
  std::uint64_t last_normal_view = 0;
  std::uint64_t op_number = 0;
  std::uint64_t commit_number = 0;
  replica_id replica = 0;
};

// §4.2 step 3.
struct StartView {
  std::uint64_t view_number = 0;
  std::uint64_t log_start = 0;
  std::vector<log_entry> log;
  std::uint64_t op_number = 0;
  std::uint64_t commit_number = 0;
};

// §4.3 step 1.
struct Recovery {
  replica_id replica = 0;
  std::uint64_t nonce = 0;
};

// §4.3 step 2. Only the primary fills log/op_number/commit_number (from_primary == true).
// `blank` (not in the paper): the sender has no state at all and is asking around itself (a new
// replica, or one whose disk was wiped: it cannot tell). A blank answer never counts toward the
// recovery quorum; see actors/replica_recovery.cpp on_recovery_response for how blank replicas decide
// that the whole cluster is new.
struct RecoveryResponse {
  std::uint64_t view_number = 0;
  std::uint64_t nonce = 0;
  bool from_primary = false;
  std::uint64_t log_start = 0;
  std::vector<log_entry> log;
  std::uint64_t op_number = 0;
  std::uint64_t commit_number = 0;
  replica_id replica = 0;
  bool blank = false;
  // The sender's birth state (the checkpoint at op 0 its cluster started from, or, while blank,
  // the one it would start from: its zone files), as a fingerprint; 0 = not known. A new
  // cluster starts only when every replica's agrees (not in the paper: the paper's replicas all
  // begin with the same empty state, ours with the operator's zone files).
  std::uint64_t seed_digest = 0;
};

// §5.2: "send me the log after op_number of view view_number".
struct GetState {
  std::uint64_t view_number = 0;
  std::uint64_t op_number = 0;
  replica_id replica = 0;
};

// §5.2 answer. `entries` occupy after_op+1 .. after_op+entries.size(); `op_number` is the sender's
// op_number (it may have sent fewer entries than it has, to bound the message size).
struct NewState {
  std::uint64_t view_number = 0;
  std::uint64_t after_op = 0;
  std::vector<log_entry> entries;
  std::uint64_t op_number = 0;
  std::uint64_t commit_number = 0;
};

// Not in the paper's message list (§5.3 leaves the transfer of application state open): a
// replica whose log does not reach back far enough (a NewState, StartView, DoViewChange or
// RecoveryResponse starts after its commit_number) fetches a checkpoint, one chunk per request,
// from any replica that has one: a checkpoint is committed state. op_number 0 = the latest.
struct GetCheckpoint {
  std::uint64_t op_number = 0;
  std::uint64_t offset = 0;
  replica_id replica = 0;
};

// Bytes [offset, offset + data.size()) of the checkpoint blob (encode_checkpoint) for
// op_number, whose whole size is total_size and whose CRC32C is checksum.
struct CheckpointChunk {
  std::uint64_t op_number = 0;
  std::uint64_t total_size = 0;
  std::uint32_t checksum = 0;
  std::uint64_t offset = 0;
  std::string data;
  replica_id replica = 0;
};

// --- CAF inspect overloads (0.17 style: f(meta::type_name(...), fields...)) ------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("log_entry"), x.client_id, x.request_number, x.op);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Request& x) {
  return f(caf::meta::type_name("Request"), x.op, x.client_id, x.request_number);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Prepare& x) {
  return f(caf::meta::type_name("Prepare"), x.view_number, x.op_number, x.commit_number, x.entries);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PrepareOk& x) {
  return f(caf::meta::type_name("PrepareOk"), x.view_number, x.op_number, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Commit& x) {
  return f(caf::meta::type_name("Commit"), x.view_number, x.commit_number);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Reply& x) {
  return f(caf::meta::type_name("Reply"), x.view_number, x.client_id, x.request_number, x.result);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, PrimarySuspected& x) {
  return f(caf::meta::type_name("PrimarySuspected"), x.view_number, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StartViewChange& x) {
  return f(caf::meta::type_name("StartViewChange"), x.view_number, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, DoViewChange& x) {
  return f(caf::meta::type_name("DoViewChange"), x.view_number, x.log_start, x.log,
           x.last_normal_view,
           x.op_number, x.commit_number, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, StartView& x) {
  return f(caf::meta::type_name("StartView"), x.view_number, x.log_start, x.log, x.op_number,
           x.commit_number);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Recovery& x) {
  return f(caf::meta::type_name("Recovery"), x.replica, x.nonce);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, RecoveryResponse& x) {
  return f(caf::meta::type_name("RecoveryResponse"), x.view_number, x.nonce, x.from_primary,
           x.log_start, x.log, x.op_number, x.commit_number, x.replica, x.blank,
           x.seed_digest);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GetState& x) {
  return f(caf::meta::type_name("GetState"), x.view_number, x.op_number, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, NewState& x) {
  return f(caf::meta::type_name("NewState"), x.view_number, x.after_op, x.entries, x.op_number,
           x.commit_number);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GetCheckpoint& x) {
  return f(caf::meta::type_name("GetCheckpoint"), x.op_number, x.offset, x.replica);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, CheckpointChunk& x) {
  return f(caf::meta::type_name("CheckpointChunk"), x.op_number, x.total_size, x.checksum,
           x.offset, x.data, x.replica);
}

} // namespace vrdns::protocol
