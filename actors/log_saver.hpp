// Runs a replica's log saves (append + fsync, protocol::persistence::save_log) one at a time on
// a thread of its own, so the replica goes on handling messages while the disk syncs.
//
// Why: an fsync takes 0.15 ms on an idle disk and 0.5-0.6 ms while three co-located replicas
// sync at once. Done on the replica's thread, it blocked the primary for half of its time under
// an UPDATE load: PrepareOks, commits and Replies waited behind the primary's own fsync, which
// VR does not need them to (the primary's copy counts only once saved, see replica_normal.cpp
// try_commit). A backup keeps appending the next Prepares during the sync, and the next save
// takes all of them (group commit).
//
// The replica must not call the persistence itself while a save runs (one thread at a time):
// it calls finish() first, which waits for the running save.
//
// Inline mode (background = false, the simulator): start() only reports the completion through
// `notify` (a message the replica sends itself) and the job runs when finish() is called for
// it, on the caller's thread. So a replica that crashes before handling that message has not
// saved, messages can arrive while a save "runs", and all of it replays from a seed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace vrdns::actors {

class log_saver {
public:
  // `notify(seq)` is called once per job when it has finished: on the saver's thread (background)
  // or inside start() (inline). It must not block.
  log_saver(bool background, std::function<void(std::uint64_t seq)> notify);
  ~log_saver();   // waits for a running job, then stops the thread
  log_saver(const log_saver&) = delete;
  log_saver& operator=(const log_saver&) = delete;

  // Starts `job` (true: saved). Precondition: !busy(). Returns the job's sequence number (the
  // one `notify` receives).
  std::uint64_t start(std::function<bool()> job);
  // Waits for the job started last (inline: runs it) and returns its result, or rethrows what it
  // threw.
  // Precondition: busy(). Afterwards !busy().
  bool finish();
  // A job was started and not yet finish()ed (in the background it may have completed meanwhile).
  bool busy() const { return busy_; }
  std::uint64_t seq() const { return seq_; }

private:
  void run();

  const bool background_;
  const std::function<void(std::uint64_t)> notify_;
  bool busy_ = false;       // the owner's view: started, not finished (owner's thread only)
  std::uint64_t seq_ = 0;   // of the job started last (owner's thread only)

  std::mutex mutex_;
  std::condition_variable cv_;
  std::function<bool()> job_;   // set: a job to run (guarded by mutex_)
  bool done_ = false;           // the job has completed (guarded by mutex_)
  bool result_ = false;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread thread_;          // last: started after the members it uses
};

} // namespace vrdns::actors
