#include "actors/log_saver.hpp"

#include <stdexcept>
#include <utility>

namespace vrdns::actors {

log_saver::log_saver(bool background, std::function<void(std::uint64_t)> notify)
    : background_(background), notify_(std::move(notify)) {
  if (background_)
    thread_ = std::thread([this] { run(); });
}

log_saver::~log_saver() {
  if (!background_)
    return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();   // run() finishes a job it has begun before it looks at stopping_
}

std::uint64_t log_saver::start(std::function<bool()> job) {
  if (busy_)
    throw std::logic_error("log_saver: a save is already running");
  busy_ = true;
  const std::uint64_t seq = ++seq_;
  if (!background_) {
    job_ = std::move(job);   // runs in finish(): a crash before then loses it, as it would
    notify_(seq);
    return seq;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = std::move(job);
    done_ = false;
  }
  cv_.notify_all();
  return seq;
}

bool log_saver::finish() {
  if (!busy_)
    throw std::logic_error("log_saver: no save to finish");
  if (!background_) {
    busy_ = false;
    auto job = std::move(job_);
    job_ = nullptr;
    return job();
  }
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return done_; });
  busy_ = false;
  done_ = false;
  if (error_)
    std::rethrow_exception(std::exchange(error_, nullptr));
  return result_;
}

void log_saver::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || job_; });
    if (!job_)
      return;   // stopping, nothing left to run
    auto job = std::move(job_);
    job_ = nullptr;
    const std::uint64_t seq = seq_;   // start() wrote it before handing over the job
    lock.unlock();
    bool result = false;
    std::exception_ptr error;
    try {
      result = job();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    result_ = result;
    error_ = error;
    done_ = true;
    cv_.notify_all();
    lock.unlock();
    notify_(seq);
    lock.lock();
  }
}

} // namespace vrdns::actors
