// The VR client proxy of §4.1: turns "execute this op" into Requests with increasing request
// numbers, finds the primary from the latest view it heard of, and on timeout resends to every
// replica (a backup drops it, the current primary answers). One request outstanding at a time;
// further calls queue behind it. With batch_max > 1 the calls that queued meanwhile leave
// together as one op batch (protocol/op_batch.hpp), which the service must accept.
//
// Caller interfaces:
// - a vr_submit_queue shared by a node's clients (options.submissions): each client takes its
//   next Request's calls from it when it has nothing of its own queued (see vr_submit_queue.hpp).
// - `request(client, timeout, vr_call_atom::value, std::string op)` answers with the result
//   bytes once the op is committed and executed, or with sec::request_timeout after
//   `call_timeout` (the op may still execute later: the caller cannot know).
// - `send(client, vr_submit_atom::value, std::string op, vr_completion done)` (same process
//   only) calls `done` instead, on the client's thread: no response promise, no timer, no
//   waiting actor per call, which is what the UPDATE path of a busy node wants. A client that
//   terminates with calls still held answers them nullptr (actors/vr_completion.hpp).
// `replicas[i]` may start null (not reachable yet): `(vr_peer_set_atom, i, handle)` replaces it
// (actors/peer_messages.hpp), and a Request sent to a null handle is lost and resent.
#pragma once

#include "actors/vr_completion.hpp"
#include "protocol/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::actors {

using vr_call_atom = caf::atom_constant<caf::atom("vr_call")>;
using vr_ctick_atom = caf::atom_constant<caf::atom("vr_ctick")>;
using vr_submit_atom = caf::atom_constant<caf::atom("vr_submit")>;

class vr_submit_queue;

/// Takes one Request's worth of calls off the front of `queue` (non-empty): the first call,
/// plus those behind it while there are at most `max_calls` and their ops add up to at most
/// `max_bytes`. Shared by a client's own queue and the node's vr_submit_queue.
template <class Call>
std::vector<Call> take_batch(std::deque<Call>& queue, std::size_t max_calls,
                             std::size_t max_bytes) {
  std::vector<Call> out;
  std::size_t bytes = 0;
  do {
    bytes += queue.front().op.size();
    out.push_back(std::move(queue.front()));
    queue.pop_front();
  } while (!queue.empty() && out.size() < max_calls
           && bytes + queue.front().op.size() <= max_bytes);
  return out;
}

struct vr_client_options {
  std::uint64_t client_id = 1;                 // unique per client in the configuration
  std::chrono::milliseconds tick{10};
  // Then resend to all replicas: after a failover the new primary hears the request at most
  // this long after its StartView.
  std::chrono::milliseconds resend{50};
  std::chrono::milliseconds call_timeout{2000}; // caller gets an error after this
  // Up to this many queued calls, of at most batch_max_bytes of ops together, go out as one
  // Request carrying an op batch. 1: every call is a Request of its own, its op sent as is.
  std::size_t batch_max = 1;
  std::size_t batch_max_bytes = 1 << 20;
  // Calls queued for all of a node's clients (optional): taken when this client's own queue
  // is empty, and timed out by its tick like its own.
  std::shared_ptr<vr_submit_queue> submissions;
};

struct vr_client_state {
  // A call waiting for its turn: answered through `promise` (vr_call) or `done` (vr_submit).
  // Its deadline counts from submission, so time spent queued behind other calls counts too:
  // callers are promised an answer within call_timeout.
  struct call {
    std::string op;
    caf::response_promise promise;
    vr_completion done;
    caf::actor_clock::time_point deadline;
    bool answered = false;   // every call is answered exactly once (vr_client.cpp answer)
  };
  struct outstanding {
    std::vector<call> calls;   // one, or the several packed into `op`
    std::string op;            // what the Request carries
    // The earliest deadline of the calls not answered yet (expire_outstanding).
    caf::actor_clock::time_point deadline;
    std::uint64_t request_number = 0;
    caf::actor_clock::time_point resend_at;
  };
  vr_client_options opt;
  std::vector<caf::actor> replicas; // index = replica number
  std::uint64_t view_number = 0;
  std::uint64_t request_number = 0;
  std::optional<outstanding> current;
  std::deque<call> queue;
  bool ticking = false; // a vr_ctick is scheduled
  std::size_t submit_index = 0; // ours in opt.submissions
  static inline const char* name = "vr_client";
};

using vr_client_actor = caf::stateful_actor<vr_client_state>;

caf::behavior vr_client(vr_client_actor* self, std::vector<caf::actor> replicas,
                        vr_client_options options);

} // namespace vrdns::actors
