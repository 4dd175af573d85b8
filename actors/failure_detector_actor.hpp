// The failure detector of one replica as a CAF 0.17 actor (VR §4.2: a backup that does not hear
// from its primary in time starts a view change).
//
// Protocol (all one-way sends, atoms in this namespace, stack-notes §2.1):
//   replica  -> detector  (fd_watch, view, watching)  on every change of view or role. watching =
//                         "backup in normal status": (re)start the randomized timeout now for the
//                         primary of `view`. watching = false stops it (primary, view change,
//                         recovery). Each watch bumps a generation, so timers of older watches
//                         die out (0.17 cannot cancel a delayed_send, stack-notes §2.4).
//   replica  -> detector  (fd_heard, view)            a sign of life from the primary of `view`
//                         (Prepare, Commit, NewState, StartView); ignored for another view.
//   detector -> replica   (fd_suspect, view)          the primary of `view` was silent past the
//                         deadline. Sent at most once per watch; the replica decides (it starts a
//                         view change only if `view` is still its view and it is a normal backup).
// The detector keeps one timer chain: it sleeps until the current deadline, and if notes pushed
// the deadline out meanwhile it sleeps again until the new one. So a healthy primary costs one
// timer per timeout period, not one per note.
//
// The replica spawns its detector linked (`spawn<caf::linked>`): a crash of either kills both,
// so a restarted replica always starts with a fresh detector.
#pragma once

#include "actors/failure_detector.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>

namespace vrdns::actors {

using fd_watch_atom = caf::atom_constant<caf::atom("fd_watch")>;
using fd_heard_atom = caf::atom_constant<caf::atom("fd_heard")>;
using fd_suspect_atom = caf::atom_constant<caf::atom("fd_suspect")>;
using fd_tick_atom = caf::atom_constant<caf::atom("fd_tick")>;

struct failure_detector_options {
  std::chrono::milliseconds timeout{200}; // silence tolerated from the primary...
  std::chrono::milliseconds jitter{100};  // ...plus uniform[0, jitter), drawn per arming
  std::uint64_t seed = 0;                 // of the jitter; differ per replica
};

struct failure_detector_state {
  failure_detector deadline;      // the timeout logic (value type)
  caf::actor_addr replica;        // weak: the detector must not keep its replica alive
  std::uint64_t view = 0;         // view whose primary is watched
  bool watching = false;          // false: nothing to suspect (or already suspected)
  std::uint64_t generation = 0;   // of the current timer chain

  static inline const char* name = "vr_failure_detector";
};

using failure_detector_actor = caf::stateful_actor<failure_detector_state>;

// Spawn with `self->spawn<caf::linked>(failure_detector_behavior, replica_handle, options)`.
// It watches nothing until the first fd_watch.
caf::behavior failure_detector_behavior(failure_detector_actor* self, caf::actor replica,
                                        failure_detector_options options);

} // namespace vrdns::actors
