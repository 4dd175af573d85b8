// The VR client proxy of §4.1: turns "execute this op" into Requests with increasing request
// numbers, finds the primary from the latest view it heard of, and on timeout resends to every
// replica (a backup drops it, the current primary answers). One request outstanding at a time;
// further calls queue behind it.
//
// Caller interface: `request(client, timeout, vr_call_atom::value, std::string op)` answers with
// the result bytes once the op is committed and executed, or with sec::request_timeout after
// `call_timeout` (the op may still execute later: the caller cannot know).
#pragma once

#include "protocol/messages.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace vrdns::actors {

using vr_call_atom = caf::atom_constant<caf::atom("vr_call")>;
using vr_ctick_atom = caf::atom_constant<caf::atom("vr_ctick")>;

struct vr_client_options {
  std::uint64_t client_id = 1;                 // unique per client in the configuration
  std::chrono::milliseconds tick{10};
  std::chrono::milliseconds resend{100};       // then resend to all replicas
  std::chrono::milliseconds call_timeout{2000}; // caller gets an error after this
};

struct vr_client_state {
  struct outstanding {
    std::string op;
    std::uint64_t request_number = 0;
    caf::response_promise promise;
    caf::actor_clock::time_point deadline;
    caf::actor_clock::time_point resend_at;
  };
  vr_client_options opt;
  std::vector<caf::actor> replicas; // index = replica number
  std::uint64_t view_number = 0;
  std::uint64_t request_number = 0;
  std::optional<outstanding> current;
  std::deque<std::pair<std::string, caf::response_promise>> queue;
  std::uint64_t tick_generation = 0;
  static inline const char* name = "vr_client";
};

using vr_client_actor = caf::stateful_actor<vr_client_state>;

caf::behavior vr_client(vr_client_actor* self, std::vector<caf::actor> replicas,
                        vr_client_options options);

} // namespace vrdns::actors
