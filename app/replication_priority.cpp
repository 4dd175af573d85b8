#include "app/replication_priority.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "actors/log_line.hpp"

namespace vrdns::app {

ReplicationPriority::ReplicationPriority(int nice) : nice_(nice) {}

// Called by the thread that constructs the actor system, before CAF starts any thread.
void ReplicationPriority::init(caf::actor_system&) { base_ = current_thread_nice(); }

void ReplicationPriority::thread_started() {
  const int target = std::min(19, base_ + nice_);
  // PRIO_PROCESS with a thread id sets that one thread (Linux: niceness is per thread).
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), target) != 0
      && !warned_.exchange(true))
    actors::log_line("cannot lower the priority of the replication threads (replication.nice): "
                     + std::string(std::strerror(errno)));
}

int current_thread_nice() {
  errno = 0;   // -1 is a valid niceness: only errno tells an error
  const int n = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  return errno == 0 ? n : 0;
}

}  // namespace vrdns::app
