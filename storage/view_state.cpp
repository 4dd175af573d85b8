#include "storage/view_state.hpp"
#include "common/little_endian.hpp"

#include "common/crc32c.hpp"

#include <cerrno>
#include <stdexcept>

namespace vrdns::storage {
namespace {

constexpr std::uint32_t view_state_magic = 0x53565256u; // "VRVS" in file byte order
constexpr std::uint16_t view_state_version = 1;
constexpr std::size_t record_bytes = 64; // the rest of the copy is zero


// Bytes 0..7 and 12..end of the copy: everything but the checksum field.
std::uint32_t copy_checksum(std::string_view copy) {
  std::uint32_t crc = crc32c(copy.substr(0, 8));
  return crc32c_extend(crc, copy.data() + 12, copy.size() - 12);
}

} // namespace

std::uint64_t cluster_identity(const std::vector<std::string>& replica_addresses) {
  // FNV-1a over length-prefixed addresses: stable across builds and hosts (std::hash is not),
  // and the length prefix keeps {"ab","c"} apart from {"a","bc"}.
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ull;
  };
  for (const std::string& a : replica_addresses) {
    const std::uint64_t n = a.size();
    for (int i = 0; i < 8; ++i)
      mix(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : a)
      mix(static_cast<unsigned char>(c));
  }
  return h;
}

std::string encode_view_state_copy(const view_state& s, std::uint64_t sequence) {
  std::string out(view_state_copy_size, '\0');
  put_le(out, 0, view_state_magic, 4);
  put_le(out, 4, view_state_version, 2);
  put_le(out, 12, s.replica_number, 4);
  put_le(out, 16, sequence, 8);
  put_le(out, 24, s.cluster_id, 8);
  put_le(out, 32, s.view_number, 8);
  put_le(out, 40, s.last_normal_view, 8);
  put_le(out, 48, s.commit_number, 8);
  put_le(out, 56, static_cast<std::uint8_t>(s.status), 1);
  put_le(out, 8, copy_checksum(out), 4);
  return out;
}

std::optional<std::pair<view_state, std::uint64_t>> decode_view_state_copy(std::string_view bytes) {
  if (bytes.size() != view_state_copy_size || get_le(bytes, 0, 4) != view_state_magic
      || get_le(bytes, 4, 2) != view_state_version)
    return std::nullopt;
  if (copy_checksum(bytes) != get_le(bytes, 8, 4))
    return std::nullopt;
  const auto status = get_le(bytes, 56, 1);
  if (status > static_cast<std::uint8_t>(durable_status::recovering))
    return std::nullopt;
  view_state s;
  s.replica_number = static_cast<std::uint32_t>(get_le(bytes, 12, 4));
  s.cluster_id = get_le(bytes, 24, 8);
  s.view_number = get_le(bytes, 32, 8);
  s.last_normal_view = get_le(bytes, 40, 8);
  s.commit_number = get_le(bytes, 48, 8);
  s.status = static_cast<durable_status>(status);
  return std::make_pair(s, get_le(bytes, 16, 8));
}

io_result<std::unique_ptr<view_state_store>> view_state_store::open(
    directory& dir, std::uint32_t replica_number, std::uint64_t cluster_id,
    std::optional<view_state>& current) {
  using result = io_result<std::unique_ptr<view_state_store>>;
  current.reset();
  std::unique_ptr<view_state_store> store(new view_state_store(dir, replica_number, cluster_id));

  auto names = dir.list();
  if (!names.ok())
    return result::failure(names.error);
  bool exists = false;
  for (const std::string& n : names.value) {
    if (n == temp_name) {
      // Left by a first write that did not finish: it never counted.
      if (io_error e = dir.remove(temp_name); !e.ok())
        return result::failure(std::move(e));
    }
    exists = exists || n == file_name;
  }
  if (!exists)
    return {std::move(store), {}};

  auto f = dir.open(file_name, false);
  if (!f.ok())
    return result::failure(f.error);
  auto bytes = f.value->read_at(0, 2 * view_state_copy_size);
  if (!bytes.ok())
    return result::failure(bytes.error);
  std::optional<std::pair<view_state, std::uint64_t>> best;
  for (std::size_t copy = 0; copy < 2; ++copy) {
    const std::size_t at = copy * view_state_copy_size;
    if (bytes.value.size() < at + view_state_copy_size)
      continue;
    auto decoded =
        decode_view_state_copy(std::string_view(bytes.value).substr(at, view_state_copy_size));
    if (decoded && (!best || decoded->second > best->second))
      best = decoded;
  }
  if (!best)
    return result::failure(
        {EBADMSG, std::string(file_name) + ": both copies are corrupt; the replica cannot know "
                                           "what it promised and must not start"});
  if (best->first.replica_number != replica_number || best->first.cluster_id != cluster_id)
    return result::failure(
        {EINVAL, std::string(file_name) + ": written by replica "
                     + std::to_string(best->first.replica_number) + " of cluster "
                     + std::to_string(best->first.cluster_id) + ", not replica "
                     + std::to_string(replica_number) + " of cluster "
                     + std::to_string(cluster_id)});
  store->current_ = best->first;
  store->sequence_ = best->second;
  store->file_ = std::move(f.value);
  current = store->current_;
  return {std::move(store), {}};
}

io_error view_state_store::write(const view_state& next) {
  if (!failed_.ok())
    return failed_;
  if (next.replica_number != replica_number_ || next.cluster_id != cluster_id_)
    throw std::logic_error("view_state: identity of the replica changed");
  if (next.last_normal_view > next.view_number)
    throw std::logic_error("view_state: last_normal_view above view_number");
  if (current_ && (next.view_number < current_->view_number
                   || next.last_normal_view < current_->last_normal_view))
    throw std::logic_error("view_state: going back from view "
                           + std::to_string(current_->view_number) + " to "
                           + std::to_string(next.view_number));

  // Every attempt gets a fresh sequence number, even one that fails halfway, so two valid
  // copies with equal sequence numbers always hold the same record.
  const std::string copy = encode_view_state_copy(next, ++sequence_);
  if (!file_) {
    // First write: build the whole file under a temporary name and rename it into place, so
    // the file either does not exist or has two valid copies.
    auto f = dir_.open(temp_name, true);
    if (!f.ok())
      return f.error;
    if (io_error e = f.value->write_at(0, copy + copy); !e.ok())
      return e;
    if (io_error e = f.value->sync(); !e.ok())
      return failed_ = e;
    if (io_error e = dir_.rename(temp_name, file_name); !e.ok())
      return e;
    if (io_error e = dir_.sync(); !e.ok())
      return failed_ = e;
    file_ = std::move(f.value);
  } else {
    // In place, one copy at a time, each synced before the other is touched: at every instant
    // at least one copy on disk is valid (see the header comment).
    for (std::size_t at : {std::size_t{0}, view_state_copy_size}) {
      if (io_error e = file_->write_at(at, copy); !e.ok())
        return e;
      if (io_error e = file_->sync(); !e.ok())
        return failed_ = e;
    }
  }
  current_ = next;
  return {};
}

} // namespace vrdns::storage
