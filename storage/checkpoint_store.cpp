#include "storage/checkpoint_store.hpp"

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"
#include "storage/op_file_name.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace vrdns::storage {

namespace {

constexpr std::string_view meta_magic = "VRCM";
constexpr std::uint32_t meta_version = 1;
constexpr std::size_t meta_header_size = 4 + 4 + 8 + 8 + 4;   // magic .. part_count
constexpr std::size_t meta_min_part_size = 2 + 1 + 8 + 4;     // a one-character name
constexpr std::string_view name_prefix = "checkpoint-";
constexpr std::string_view temp_suffix = ".tmp";

// A file of ours: "checkpoint-" + 20 digits + ('.' or '-') + anything. Its op, or nullopt for
// every other file of the directory (the WAL, the view record, whatever an operator put there).
std::optional<std::uint64_t> checkpoint_file_op(const std::string& name) {
  const std::size_t digits_end = name_prefix.size() + op_digits;
  if (name.size() <= digits_end + 1 || name.compare(0, name_prefix.size(), name_prefix) != 0)
    return std::nullopt;
  if (name[digits_end] != '.' && name[digits_end] != '-')
    return std::nullopt;
  return parse_op_digits(std::string_view(name).substr(name_prefix.size(), op_digits));
}

bool is_meta_file(const std::string& name) {
  const auto op = checkpoint_file_op(name);
  return op && name == checkpoint_store::meta_name(*op);
}

// Reads a whole file in bounded pieces, checksumming as it goes. `expected_size` has been
// checked against the file's real size, so the reservation is bounded by what the disk holds.
// false: the file ended early (it shrank since its size was taken).
io_result<bool> read_checksummed(file& f, std::uint64_t expected_size, std::size_t piece,
                                 std::string& out, std::uint32_t& crc) {
  out.clear();
  out.reserve(static_cast<std::size_t>(expected_size));
  crc = 0;
  while (out.size() < expected_size) {
    const auto want = static_cast<std::size_t>(
      std::min<std::uint64_t>(piece, expected_size - out.size()));
    auto got = f.read_at(out.size(), want);
    if (!got.ok())
      return io_result<bool>::failure(got.error);
    if (got.value.empty())
      return {false, {}};
    crc = crc32c_extend(crc, got.value.data(), got.value.size());
    out += got.value;
  }
  return {true, {}};
}

struct read_outcome {
  std::optional<protocol::checkpoint> checkpoint;
  std::optional<checkpoint_problem> problem;
};

// The checkpoint whose meta is `checkpoint-<op>.meta`, if it is complete and intact.
io_result<read_outcome> read_checkpoint(directory& dir, const checkpoint_options& options,
                                        std::uint64_t op) {
  using result = io_result<read_outcome>;
  const auto bad = [op](std::string file, std::string reason) {
    return result{read_outcome{std::nullopt, checkpoint_problem{op, std::move(file),
                                                                std::move(reason)}},
                  {}};
  };
  const std::string meta_file = checkpoint_store::meta_name(op);
  auto mf = dir.open(meta_file, false);
  if (!mf.ok())
    return result::failure(mf.error);
  auto meta_size = mf.value->size();
  if (!meta_size.ok())
    return result::failure(meta_size.error);
  if (meta_size.value > options.max_meta_size)
    return bad(meta_file, "meta of " + std::to_string(meta_size.value) + " bytes is above "
                            + std::to_string(options.max_meta_size));
  auto meta_bytes = mf.value->read_at(0, static_cast<std::size_t>(meta_size.value));
  if (!meta_bytes.ok())
    return result::failure(meta_bytes.error);
  std::string reason;
  auto meta = decode_checkpoint_meta(meta_bytes.value, options.max_parts, reason);
  if (!meta)
    return bad(meta_file, reason);
  if (meta->op_number != op)
    return bad(meta_file, "meta says op " + std::to_string(meta->op_number));

  protocol::checkpoint c;
  c.op_number = meta->op_number;
  c.view_number = meta->view_number;
  c.parts.reserve(meta->parts.size());
  for (const auto& p : meta->parts) {
    const std::string name = checkpoint_store::part_file_name(op, p.name);
    auto pf = dir.open(name, false);
    if (!pf.ok()) {
      if (pf.error.code == ENOENT)
        return bad(name, "part missing");
      return result::failure(pf.error);
    }
    auto size = pf.value->size();
    if (!size.ok())
      return result::failure(size.error);
    if (size.value != p.size)
      return bad(name, std::to_string(size.value) + " bytes where the meta records "
                         + std::to_string(p.size));
    protocol::snapshot_part part{p.name, {}};
    std::uint32_t crc = 0;
    auto whole = read_checksummed(*pf.value, p.size, options.piece_size, part.bytes, crc);
    if (!whole.ok())
      return result::failure(whole.error);
    if (!whole.value)
      return bad(name, "shorter than its size while being read");
    if (crc != p.crc)
      return bad(name, "CRC32C mismatch");
    c.parts.push_back(std::move(part));
  }
  return {read_outcome{std::move(c), std::nullopt}, {}};
}

} // namespace

std::string checkpoint_store::meta_name(std::uint64_t op) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "checkpoint-%020" PRIu64 ".meta", op);
  return buf;
}

std::string checkpoint_store::part_file_name(std::uint64_t op, std::string_view part) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "checkpoint-%020" PRIu64 "-", op);
  return std::string(buf).append(part);
}

std::string encode_checkpoint_meta(const checkpoint_meta& m) {
  std::string out;
  out.append(meta_magic);
  append_le(out, meta_version, 4);
  append_le(out, m.op_number, 8);
  append_le(out, m.view_number, 8);
  append_le(out, m.parts.size(), 4);
  for (const auto& p : m.parts) {
    append_le(out, p.name.size(), 2);
    out += p.name;
    append_le(out, p.size, 8);
    append_le(out, p.crc, 4);
  }
  append_le(out, crc32c(out), 4);
  return out;
}

std::optional<checkpoint_meta> decode_checkpoint_meta(std::string_view bytes,
                                                      std::uint32_t max_parts,
                                                      std::string& reason) {
  if (bytes.size() < meta_header_size + 4) {
    reason = "meta shorter than its header";
    return std::nullopt;
  }
  const std::size_t body = bytes.size() - 4;
  if (crc32c(bytes.substr(0, body)) != get_le(bytes, body, 4)) {
    reason = "meta CRC32C mismatch";
    return std::nullopt;
  }
  if (bytes.substr(0, 4) != meta_magic || get_le(bytes, 4, 4) != meta_version) {
    reason = "not a version 1 meta";
    return std::nullopt;
  }
  checkpoint_meta m;
  m.op_number = get_le(bytes, 8, 8);
  m.view_number = get_le(bytes, 16, 8);
  const std::uint64_t count = get_le(bytes, 24, 4);
  // Bounded twice before the reservation: by the configured limit and by the bytes present.
  if (count > max_parts || count > (body - meta_header_size) / meta_min_part_size) {
    reason = "part count " + std::to_string(count) + " out of bounds";
    return std::nullopt;
  }
  m.parts.reserve(static_cast<std::size_t>(count));
  std::set<std::string, std::less<>> seen;
  std::size_t at = meta_header_size;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (body - at < 2) {
      reason = "meta ends inside part " + std::to_string(i);
      return std::nullopt;
    }
    const auto name_length = static_cast<std::size_t>(get_le(bytes, at, 2));
    at += 2;
    if (body - at < name_length + 12) {
      reason = "meta ends inside part " + std::to_string(i);
      return std::nullopt;
    }
    checkpoint_meta::part p;
    p.name = std::string(bytes.substr(at, name_length));
    at += name_length;
    p.size = get_le(bytes, at, 8);
    p.crc = static_cast<std::uint32_t>(get_le(bytes, at + 8, 4));
    at += 12;
    if (!protocol::valid_part_name(p.name) || !seen.insert(p.name).second) {
      reason = "invalid or duplicate part name in meta";
      return std::nullopt;
    }
    m.parts.push_back(std::move(p));
  }
  if (at != body) {
    reason = "trailing bytes after the last part";
    return std::nullopt;
  }
  return m;
}

io_result<std::optional<protocol::checkpoint>> checkpoint_store::load_latest(
  directory& dir, const checkpoint_options& options, std::vector<checkpoint_problem>& corrupt) {
  using result = io_result<std::optional<protocol::checkpoint>>;
  corrupt.clear();
  auto names = dir.list();
  if (!names.ok())
    return result::failure(names.error);
  std::vector<std::uint64_t> ops;
  for (const std::string& name : names.value)
    if (is_meta_file(name))
      ops.push_back(*checkpoint_file_op(name));
  std::sort(ops.rbegin(), ops.rend());
  for (std::uint64_t op : ops) {
    auto r = read_checkpoint(dir, options, op);
    if (!r.ok())
      return result::failure(r.error);
    if (r.value.checkpoint)
      return {std::move(r.value.checkpoint), {}};
    corrupt.push_back(std::move(*r.value.problem));
  }
  return {std::nullopt, {}};
}

io_result<std::unique_ptr<checkpoint_store>> checkpoint_store::open(
  directory& dir, std::optional<protocol::checkpoint>& latest, checkpoint_load_report& report,
  const checkpoint_options& options) {
  using result = io_result<std::unique_ptr<checkpoint_store>>;
  if (options.piece_size == 0)
    throw std::logic_error("checkpoint_store: piece_size 0");
  report = {};
  latest.reset();
  auto loaded = load_latest(dir, options, report.corrupt);
  if (!loaded.ok())
    return result::failure(loaded.error);
  latest = std::move(loaded.value);

  std::unique_ptr<checkpoint_store> store(new checkpoint_store(dir, options));
  if (latest) {
    store->latest_op_ = latest->op_number;
    store->latest_files_.push_back(meta_name(latest->op_number));
    for (const auto& p : latest->parts)
      store->latest_files_.push_back(part_file_name(latest->op_number, p.name));
  }

  // Everything else of ours goes: metas first (with the directory fsynced), so that a crash in
  // the middle never leaves a meta whose parts are gone.
  auto names = dir.list();
  if (!names.ok())
    return result::failure(names.error);
  const std::set<std::string> keep(store->latest_files_.begin(), store->latest_files_.end());
  std::vector<std::string> metas, others;
  for (const std::string& name : names.value) {
    if (!checkpoint_file_op(name) || keep.contains(name))
      continue;
    (is_meta_file(name) ? metas : others).push_back(name);
  }
  for (const auto* group : {&metas, &others}) {
    for (const std::string& name : *group)
      if (io_error e = dir.remove(name); !e.ok())
        return result::failure(e);
    if (!group->empty())
      if (io_error e = dir.sync(); !e.ok())
        return result::failure(e);
  }
  report.leftovers_removed = metas.size() + others.size();
  return {std::move(store), {}};
}

std::optional<std::uint64_t> checkpoint_store::latest_op() const {
  std::lock_guard lock(mutex_);
  return latest_op_;
}

io_error checkpoint_store::write_file(const std::string& name, std::string_view bytes,
                                      bool sync) {
  auto f = dir_.open(name, true);
  if (!f.ok())
    return f.error;
  // From scratch: a leftover of a failed attempt under the same name must not survive past
  // the new size, and pages of a failed fsync are never relied on.
  if (io_error e = f.value->truncate(0); !e.ok())
    return e;
  for (std::size_t at = 0; at < bytes.size(); at += options_.piece_size)
    if (io_error e = f.value->write_at(at, bytes.substr(at, options_.piece_size)); !e.ok())
      return e;
  return sync ? f.value->sync() : io_error{};
}

io_error checkpoint_store::write_part(std::uint64_t op, const protocol::snapshot_part& part,
                                      std::uint32_t& crc) {
  // The checksum is taken from the caller's bytes (not read back): it records what was meant
  // to be written, so anything the disk changes later fails the check at load.
  crc = crc32c(part.bytes);
  // Not synced here: write() syncs every part once all are written, after one flush_all()
  // (a node with 2,000 zones spent seconds in 2,000 write+fdatasync rounds per checkpoint).
  return write_file(part_file_name(op, part.name), part.bytes, false);
}

void checkpoint_store::remove_quietly(const std::vector<std::string>& names) {
  // Newest file first (the meta before the parts). No fsync: a name that comes back after a
  // crash is a leftover the next open() removes.
  for (auto it = names.rbegin(); it != names.rend(); ++it)
    if (io_error e = dir_.remove(*it); !e.ok() && e.code != ENOENT)
      stale_.push_back(*it);
}

io_error checkpoint_store::write(const protocol::checkpoint& c) {
  std::set<std::string_view> names;
  for (const auto& p : c.parts)
    if (!protocol::valid_part_name(p.name) || !names.insert(p.name).second)
      throw std::logic_error("checkpoint_store: invalid or duplicate part name '" + p.name + "'");

  std::lock_guard lock(mutex_);
  if (latest_op_ && c.op_number <= *latest_op_)
    return {};

  checkpoint_meta meta{c.op_number, c.view_number, {}};
  std::vector<std::string> attempt; // files of this attempt, in creation order
  const auto give_up = [&](io_error e) {
    remove_quietly(attempt);
    return e;
  };
  for (const auto& p : c.parts) {
    attempt.push_back(part_file_name(c.op_number, p.name));
    std::uint32_t crc = 0;
    if (io_error e = write_part(c.op_number, p, crc); !e.ok())
      return give_up(std::move(e));
    meta.parts.push_back({p.name, p.bytes.size(), crc});
  }
  // The parts' data, then their names, must be durable before the meta that points at them.
  // Each part's own fdatasync is what counts (and reports its errors); the flush before makes
  // them cheap.
  dir_.flush_all();
  for (const auto& p : c.parts) {
    auto f = dir_.open(part_file_name(c.op_number, p.name), false);
    if (!f.ok())
      return give_up(std::move(f.error));
    if (io_error e = f.value->sync(); !e.ok())
      return give_up(std::move(e));
  }
  if (io_error e = dir_.sync(); !e.ok())
    return give_up(std::move(e));
  const std::string final_name = meta_name(c.op_number);
  const std::string temp_name = final_name + std::string(temp_suffix);
  attempt.push_back(temp_name);
  if (io_error e = write_file(temp_name, encode_checkpoint_meta(meta), true); !e.ok())
    return give_up(std::move(e));
  if (io_error e = dir_.rename(temp_name, final_name); !e.ok())
    return give_up(std::move(e));
  attempt.back() = final_name;
  // The commit point: from here a crash keeps the new checkpoint.
  if (io_error e = dir_.sync(); !e.ok())
    return give_up(std::move(e));

  // The previous checkpoint and the leftovers of failed attempts go, metas first (as in open).
  // A failure here does not undo the write: whatever is left is removed later.
  const std::set<std::string> now(attempt.begin(), attempt.end());
  std::vector<std::string> old_metas, old_others;
  for (const auto* group : {&latest_files_, &stale_})
    for (const std::string& name : *group)
      if (!now.contains(name))
        (is_meta_file(name) ? old_metas : old_others).push_back(name);
  stale_.clear();
  for (const auto* group : {&old_metas, &old_others}) {
    bool removed = false;
    for (const std::string& name : *group) {
      io_error e = dir_.remove(name);
      if (e.ok())
        removed = true;
      else if (e.code != ENOENT)
        stale_.push_back(name);
    }
    if (removed)
      (void)dir_.sync(); // only makes the removal durable sooner; open() removes leftovers too
  }

  latest_op_ = c.op_number;
  latest_files_.assign(1, final_name);
  latest_files_.insert(latest_files_.end(), attempt.begin(), attempt.end() - 1);
  return {};
}

} // namespace vrdns::storage
