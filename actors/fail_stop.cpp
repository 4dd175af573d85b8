#include "actors/fail_stop.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include <utility>

namespace vrdns::actors {

caf::error exception_to_error(caf::scheduled_actor*, std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return caf::make_error(caf::sec::runtime_error, std::string(x.what()));
  } catch (...) {
    return caf::make_error(caf::sec::runtime_error, std::string("an exception of unknown type"));
  }
}

bool expected_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown;
}

void watch_for_failure(caf::actor_system& system, const caf::actor& actor, std::string name,
                       std::function<void(const std::string&)> on_failure) {
  if (!actor)
    return;
  // The system outlives every actor it runs, so the pointer is valid whenever this runs.
  actor->attach_functor([sys = &system, name = std::move(name),
                         on_failure = std::move(on_failure)](const caf::error& reason) {
    if (!expected_exit(reason))
      on_failure(name + " failed: " + sys->render(reason));
  });
}

} // namespace vrdns::actors
