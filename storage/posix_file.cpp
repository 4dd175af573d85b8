#include "storage/posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace vrdns::storage {
namespace {

io_error errno_error(const std::string& what, const std::string& name) {
  const int code = errno;
  return {code, what + " " + name + ": " + std::strerror(code)};
}

class posix_file final : public file {
public:
  posix_file(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~posix_file() override { ::close(fd_); }
  posix_file(const posix_file&) = delete;
  posix_file& operator=(const posix_file&) = delete;

  io_error write_at(std::uint64_t offset, std::string_view bytes) override {
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return errno_error("pwrite", name_);
      }
      // A short write is not an error by itself (signal, quota boundary): the next pwrite
      // either writes more or reports why it cannot (ENOSPC).
      p += n;
      left -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    return {};
  }

  io_result<std::string> read_at(std::uint64_t offset, std::size_t size) override {
    std::string out(size, '\0');
    std::size_t got = 0;
    while (got < size) {
      const ssize_t n = ::pread(fd_, out.data() + got, size - got,
                                static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return io_result<std::string>::failure(errno_error("pread", name_));
      }
      if (n == 0)
        break; // end of file
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return {std::move(out), {}};
  }

  io_result<std::uint64_t> size() override {
    struct stat st{};
    if (::fstat(fd_, &st) != 0)
      return io_result<std::uint64_t>::failure(errno_error("fstat", name_));
    return {static_cast<std::uint64_t>(st.st_size), {}};
  }

  io_error truncate(std::uint64_t size) override {
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno != EINTR)
        return errno_error("ftruncate", name_);
    }
    return {};
  }

  io_error sync() override {
    // fdatasync also flushes the file size when it changed, which is all an appended log
    // needs; the mtime it skips is irrelevant to recovery. Not retried on EINTR-like errors:
    // see the fsyncgate note in file.hpp.
    if (::fdatasync(fd_) != 0)
      return errno_error("fdatasync", name_);
    return {};
  }

private:
  std::string name_;
  int fd_;
};

} // namespace

io_result<std::unique_ptr<posix_directory>> posix_directory::open_path(const std::string& path,
                                                                       bool create) {
  using result = io_result<std::unique_ptr<posix_directory>>;
  if (create && ::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return result::failure(errno_error("mkdir", path));
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return result::failure(errno_error("open directory", path));
  return {std::unique_ptr<posix_directory>(new posix_directory(path, fd)), {}};
}

posix_directory::~posix_directory() { ::close(fd_); }

io_result<std::unique_ptr<file>> posix_directory::open(const std::string& name, bool create) {
  using result = io_result<std::unique_ptr<file>>;
  int flags = O_RDWR | O_CLOEXEC;
  if (create)
    flags |= O_CREAT;
  int fd;
  do {
    fd = ::openat(fd_, name.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return result::failure(errno_error("open", path_ + "/" + name));
  return {std::make_unique<posix_file>(path_ + "/" + name, fd), {}};
}

io_error posix_directory::rename(const std::string& from, const std::string& to) {
  if (::renameat(fd_, from.c_str(), fd_, to.c_str()) != 0)
    return errno_error("rename", path_ + "/" + from + " -> " + to);
  return {};
}

io_error posix_directory::remove(const std::string& name) {
  if (::unlinkat(fd_, name.c_str(), 0) != 0)
    return errno_error("unlink", path_ + "/" + name);
  return {};
}

io_result<std::vector<std::string>> posix_directory::list() {
  using result = io_result<std::vector<std::string>>;
  // fdopendir takes ownership of its descriptor, so it gets a duplicate of ours.
  const int dup_fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return result::failure(errno_error("dup", path_));
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    io_error e = errno_error("opendir", path_);
    ::close(dup_fd);
    return result::failure(std::move(e));
  }
  ::rewinddir(d); // the duplicate shares the read position with earlier listings
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      if (errno != 0) {
        io_error e = errno_error("readdir", path_);
        ::closedir(d);
        return result::failure(std::move(e));
      }
      break;
    }
    const std::string name = entry->d_name;
    if (name == "." || name == "..")
      continue;
    struct stat st{};
    if (::fstatat(fd_, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      names.push_back(name);
  }
  ::closedir(d);
  return {std::move(names), {}};
}

io_error posix_directory::sync() {
  if (::fsync(fd_) != 0)
    return errno_error("fsync directory", path_);
  return {};
}

void posix_directory::flush_all() { (void)::syncfs(fd_); }

} // namespace vrdns::storage
