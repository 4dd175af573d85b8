#include "storage/memory_disk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vrdns::storage {

// A file opened on the memory disk. It points at the inode (not the name), so it keeps working
// after the file is renamed or removed, as an open POSIX descriptor does.
class memory_disk::handle final : public file {
public:
  handle(memory_disk& disk, std::string name, std::shared_ptr<inode> node)
    : disk_(disk), name_(std::move(name)), node_(std::move(node)), generation_(disk.generation_) {}

  io_error write_at(std::uint64_t offset, std::string_view bytes) override {
    std::lock_guard lock(disk_.mutex_);
    if (io_error e = check_alive("write"); !e.ok())
      return e;
    const bool full = disk_.enospc_;
    if (full)
      bytes = bytes.substr(0, std::min(bytes.size(), disk_.enospc_partial_));
    pending_op op{node_, true, offset, std::string(bytes)};
    if (!op.bytes.empty()) {
      apply(node_->current, op, op.bytes.size());
      disk_.pending_.push_back(std::move(op));
    }
    if (full)
      return {ENOSPC, "write " + name_ + ": " + std::strerror(ENOSPC)};
    return {};
  }

  io_result<std::string> read_at(std::uint64_t offset, std::size_t size) override {
    std::lock_guard lock(disk_.mutex_);
    if (io_error e = check_alive("read"); !e.ok())
      return io_result<std::string>::failure(std::move(e));
    const std::string& image = node_->current;
    if (offset >= image.size())
      return {std::string(), {}};
    return {image.substr(static_cast<std::size_t>(offset), size), {}};
  }

  io_result<std::uint64_t> size() override {
    std::lock_guard lock(disk_.mutex_);
    if (io_error e = check_alive("size"); !e.ok())
      return io_result<std::uint64_t>::failure(std::move(e));
    return {node_->current.size(), {}};
  }

  io_error truncate(std::uint64_t size) override {
    std::lock_guard lock(disk_.mutex_);
    if (io_error e = check_alive("truncate"); !e.ok())
      return e;
    pending_op op{node_, false, size, {}};
    apply(node_->current, op, 0);
    disk_.pending_.push_back(std::move(op));
    return {};
  }

  io_error sync() override {
    std::lock_guard lock(disk_.mutex_);
    if (io_error e = check_alive("sync"); !e.ok())
      return e;
    ++disk_.file_syncs_;
    const bool fail = disk_.eio_on_sync_;
    // On success this file's pending operations reach its durable image in order; on failure
    // they are dropped without reaching it (Linux marks the pages clean after a failed
    // writeback), so only the current image still has them.
    auto& pending = disk_.pending_;
    for (const pending_op& op : pending)
      if (op.target == node_ && !fail)
        apply(node_->durable, op, op.bytes.size());
    std::erase_if(pending, [&](const pending_op& op) { return op.target == node_; });
    if (fail)
      return {EIO, "fdatasync " + name_ + ": " + std::strerror(EIO)};
    return {};
  }

private:
  io_error check_alive(const char* what) const {
    if (generation_ != disk_.generation_)
      return {EIO, std::string(what) + " " + name_ + ": handle opened before a crash"};
    return {};
  }

  memory_disk& disk_;
  std::string name_;
  std::shared_ptr<inode> node_;
  std::uint64_t generation_;
};

void memory_disk::apply(std::string& image, const pending_op& op, std::size_t keep) {
  if (!op.is_write) {
    image.resize(static_cast<std::size_t>(op.offset));
    return;
  }
  const std::size_t n = std::min(keep, op.bytes.size());
  const auto offset = static_cast<std::size_t>(op.offset);
  if (image.size() < offset + n)
    image.resize(offset + n); // zero-fills a gap, like a sparse file
  std::copy_n(op.bytes.data(), n, image.data() + offset);
}

io_result<std::unique_ptr<file>> memory_disk::open(const std::string& name, bool create) {
  std::lock_guard lock(mutex_);
  using result = io_result<std::unique_ptr<file>>;
  auto it = current_dir_.find(name);
  if (it == current_dir_.end()) {
    if (!create)
      return result::failure({ENOENT, "open " + name + ": " + std::strerror(ENOENT)});
    it = current_dir_.emplace(name, std::make_shared<inode>()).first;
  }
  return {std::make_unique<handle>(*this, name, it->second), {}};
}

io_error memory_disk::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mutex_);
  auto it = current_dir_.find(from);
  if (it == current_dir_.end())
    return {ENOENT, "rename " + from + ": " + std::strerror(ENOENT)};
  auto node = it->second;
  current_dir_.erase(it);
  current_dir_[to] = std::move(node);
  return {};
}

io_error memory_disk::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (current_dir_.erase(name) == 0)
    return {ENOENT, "unlink " + name + ": " + std::strerror(ENOENT)};
  return {};
}

io_result<std::vector<std::string>> memory_disk::list() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, node] : current_dir_)
    names.push_back(name);
  return {std::move(names), {}};
}

io_error memory_disk::sync() {
  std::lock_guard lock(mutex_);
  ++directory_syncs_;
  durable_dir_ = current_dir_;
  return {};
}

void memory_disk::crash() {
  std::lock_guard lock(mutex_);
  crash_locked();
}

void memory_disk::crash_locked() {
  for (auto& [name, node] : durable_dir_)
    node->current = node->durable;
  current_dir_ = durable_dir_;
  pending_.clear();
  ++generation_;
}

bool memory_disk::tear_last_write(std::size_t keep) {
  std::lock_guard lock(mutex_);
  if (pending_.empty() || !pending_.back().is_write)
    return false;
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    const pending_op& op = pending_[i];
    const bool last = i + 1 == pending_.size();
    apply(op.target->durable, op, last ? keep : op.bytes.size());
  }
  crash_locked();
  return true;
}

bool memory_disk::corrupt(const std::string& name, std::uint64_t offset, unsigned bit) {
  std::lock_guard lock(mutex_);
  auto it = current_dir_.find(name);
  if (it == current_dir_.end() || bit > 7)
    return false;
  inode& node = *it->second;
  bool flipped = false;
  for (std::string* image : {&node.durable, &node.current}) {
    if (offset < image->size()) {
      (*image)[static_cast<std::size_t>(offset)] ^= static_cast<char>(1u << bit);
      flipped = true;
    }
  }
  return flipped;
}

std::optional<std::string> memory_disk::contents(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = current_dir_.find(name);
  if (it == current_dir_.end())
    return std::nullopt;
  return it->second->current;
}

std::optional<std::string> memory_disk::durable_contents(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = durable_dir_.find(name);
  if (it == durable_dir_.end())
    return std::nullopt;
  return it->second->durable;
}

} // namespace vrdns::storage
