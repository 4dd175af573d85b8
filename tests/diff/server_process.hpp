// A DNS server child process for the differential test: started with posix_spawn in its own
// process group, its stdout+stderr collected by a reader thread, readiness awaited by a log
// line (an event, not a sleep), and stopped by PID when the object dies (RAII, so a failing
// test never leaves a server behind).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace vrdns::difftest {

class ServerProcess {
 public:
  /// Starts `argv[0]` (absolute path) with `argv`. Throws std::runtime_error if it cannot.
  ServerProcess(std::string name, std::vector<std::string> argv);
  ~ServerProcess();   ///< stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Waits until the output contains `ready` (true), or contains one of `failures`, or the
  /// process closed its output, or `timeout` passed (false; see log()).
  bool wait_for_line(const std::string& ready, const std::vector<std::string>& failures,
                     std::chrono::milliseconds timeout);

  /// SIGTERM, then SIGKILL to the process group if it has not exited within 3 s. Idempotent.
  /// Returns the wait status of the child (or -1 if it was already stopped).
  int stop();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  std::string log() const;   ///< everything it printed so far

 private:
  void read_output(int fd);

  std::string name_;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
};

}  // namespace vrdns::difftest
