// The real disk: storage/file.hpp over POSIX file descriptors (pwrite, pread, fdatasync, the
// *at() calls relative to one directory descriptor). EINTR is retried, short writes continue,
// every error comes back as an io_error carrying errno and its text.
#pragma once

#include "storage/file.hpp"

#include <string>

namespace vrdns::storage {

class posix_directory final : public directory {
public:
  // Opens `path` (creating it, not its parents, if `create` and it is missing). The directory
  // descriptor is kept open: every file is opened relative to it, and sync() fsyncs it.
  static io_result<std::unique_ptr<posix_directory>> open_path(const std::string& path,
                                                               bool create);
  ~posix_directory() override;
  posix_directory(const posix_directory&) = delete;
  posix_directory& operator=(const posix_directory&) = delete;

  io_result<std::unique_ptr<file>> open(const std::string& name, bool create) override;
  io_error rename(const std::string& from, const std::string& to) override;
  io_error remove(const std::string& name) override;
  io_result<std::vector<std::string>> list() override;
  io_error sync() override;
  // syncfs(2), its result ignored: one journal commit for the whole filesystem, so that the
  // fdatasync of each of thousands of files written just before costs little. Its errors are
  // not the caller's to judge (they may be any file's of the filesystem, and kernels before
  // 5.17 drop some); each file's own fdatasync reports that file's.
  void flush_all() override;

  const std::string& path() const { return path_; }

private:
  posix_directory(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

} // namespace vrdns::storage
