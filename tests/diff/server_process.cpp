#include "tests/diff/server_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace vrdns::difftest {

ServerProcess::ServerProcess(std::string name, std::vector<std::string> argv)
    : name_(std::move(name)) {
  int fds[2];
  // CLOEXEC so that servers started later do not inherit this pipe: otherwise the reader
  // would never see EOF while a sibling server lives.
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + std::string(strerror(errno)));

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);   // dup2 clears CLOEXEC on 1 and 2
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group: NSD forks helpers; a forced stop kills the whole group we created.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid_ = -1;
    throw std::runtime_error(name_ + ": cannot start " + argv[0] + ": " + strerror(rc));
  }
  reader_ = std::thread([this, fd = fds[0]] { read_output(fd); });
}

ServerProcess::~ServerProcess() { stop(); }

void ServerProcess::read_output(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lk(mu_);
    if (n <= 0) {
      eof_ = true;
      cv_.notify_all();
      break;
    }
    output_.append(buf, std::size_t(n));
    cv_.notify_all();
  }
  close(fd);
}

bool ServerProcess::wait_for_line(const std::string& ready,
                                  const std::vector<std::string>& failures,
                                  std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  bool failed = false;
  bool ok = cv_.wait_for(lk, timeout, [&] {
    // Failures first: a server may log an error (e.g. a bad zone) and start anyway.
    for (const auto& f : failures)
      if (output_.find(f) != std::string::npos) failed = true;
    return failed || eof_ || output_.find(ready) != std::string::npos;
  });
  return ok && !failed && output_.find(ready) != std::string::npos;
}

std::string ServerProcess::log() const {
  std::lock_guard<std::mutex> lk(mu_);
  return output_;
}

int ServerProcess::stop() {
  int status = -1;
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGTERM);
    // pidfd lets us wait for exit with a timeout without polling waitpid in a sleep loop.
    int pfd = int(syscall(SYS_pidfd_open, pid_, 0));
    bool gone = false;
    if (pfd >= 0) {
      pollfd p{pfd, POLLIN, 0};
      gone = poll(&p, 1, 3000) == 1;
      close(pfd);
    }
    if (!gone) kill(-pid_, SIGKILL);   // the group we created at spawn
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    // Helpers of the main process (NSD's xfrd/server) normally exit with it; make sure.
    kill(-pid_, SIGKILL);
    exited_ = true;
  }
  if (reader_.joinable()) reader_.join();
  return status;
}

}  // namespace vrdns::difftest
