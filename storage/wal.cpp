#include "storage/wal.hpp"

#include "storage/op_file_name.hpp"
#include "storage/wal_record.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace vrdns::storage {
namespace {

// prefix + 20 digits + suffix: "wal-<op>.log" (the op of the segment's first record) and
// "wal-reset-<op>" (the first op of a log being reset).
std::optional<std::uint64_t> parse_numbered_name(const std::string& name, std::string_view prefix,
                                                 std::string_view suffix) {
  if (name.size() != prefix.size() + op_digits + suffix.size()
      || name.compare(0, prefix.size(), prefix) != 0
      || name.compare(prefix.size() + op_digits, suffix.size(), suffix) != 0)
    return std::nullopt;
  return parse_op_digits(std::string_view(name).substr(prefix.size(), op_digits));
}

std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
  return parse_numbered_name(name, "wal-", ".log");
}

std::optional<std::uint64_t> parse_reset_marker(const std::string& name) {
  return parse_numbered_name(name, "wal-reset-", "");
}

// Is there, anywhere in `bytes`, a complete record with a good checksum and an op_number above
// `after`? Used to tell a torn tail (nothing valid was written after it) from corruption in
// the middle (something was). Only called once per recovery, on the first bad record.
bool valid_record_follows(std::string_view bytes, std::uint64_t after, std::uint32_t max_payload) {
  for (std::size_t at = 1; at + wal_header_size <= bytes.size(); ++at) {
    if (static_cast<unsigned char>(bytes[at]) != (wal_magic & 0xFFu))
      continue; // cheap pre-filter before decoding
    const wal_decoded d = decode_wal_record(bytes.substr(at), max_payload);
    if (d.status == wal_decode_status::ok && d.header.op_number > after)
      return true;
  }
  return false;
}

// One past the last non-zero byte of `bytes` (0 if all are zero). What lies after it is zero
// preallocation (wal_options::preallocate_chunk), not data.
std::size_t nonzero_end(std::string_view bytes) {
  // Whole blocks first: memcmp is fast even in an unoptimised build, and a tail is up to a
  // whole chunk (1 MiB) scanned at every open.
  static const char zero_block[4096] = {};
  std::size_t end = bytes.size();
  while (end >= sizeof zero_block
         && std::memcmp(bytes.data() + end - sizeof zero_block, zero_block, sizeof zero_block) == 0)
    end -= sizeof zero_block;
  while (end > 0 && bytes[end - 1] == '\0')
    --end;
  return end;
}

// Zeros for preallocation and for cutting a torn tail. Written in pieces of this size so
// neither needs a buffer as large as what it writes.
constexpr std::size_t zero_piece_size = 256u << 10;

io_error write_zeros(file& f, std::uint64_t from, std::uint64_t to) {
  static const std::string zeros(zero_piece_size, '\0');
  while (from < to) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(to - from, zeros.size()));
    if (io_error e = f.write_at(from, std::string_view(zeros).substr(0, n)); !e.ok())
      return e;
    from += n;
  }
  return {};
}

} // namespace

std::string wal::segment_name(std::uint64_t first_op) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "wal-%020" PRIu64 ".log", first_op);
  return buf;
}

std::string wal::reset_marker_name(std::uint64_t first_op) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "wal-reset-%020" PRIu64, first_op);
  return buf;
}

io_result<std::unique_ptr<wal>> wal::open(directory& dir, const wal_options& options,
                                          wal_recovery& recovered) {
  using result = io_result<std::unique_ptr<wal>>;
  if (options.first_op == 0)
    throw std::logic_error("wal: op numbers start at 1");
  recovered = {};
  std::unique_ptr<wal> log(new wal(dir, options));
  if (io_error e = log->recover(recovered); !e.ok())
    return result::failure(std::move(e));
  return {std::move(log), {}};
}

io_error wal::recover(wal_recovery& out) {
  auto names = dir_.list();
  if (!names.ok())
    return names.error;
  // A reset marker: a reset() passed its commit point and then the node stopped. Finish it
  // (drop every segment, leave the empty log after the marker's op) before reading anything.
  std::vector<std::uint64_t> markers;
  std::vector<std::string> segment_names;
  for (const std::string& name : names.value) {
    if (auto op = parse_reset_marker(name))
      markers.push_back(*op);
    if (parse_segment_name(name))
      segment_names.push_back(name);
  }
  if (markers.size() > 1)
    return {EINVAL, "wal: " + std::to_string(markers.size()) + " reset markers (at most one "
                        "can exist: each reset finishes before the next begins)"};
  if (markers.size() == 1) {
    if (markers.front() == 0)
      return {EINVAL, "wal: reset marker claims op 0"};
    if (io_error e = finish_reset(markers.front(), segment_names); !e.ok())
      return e;
    segments_.clear(); // read back below like any log
    active_.reset();
    names = dir_.list();
    if (!names.ok())
      return names.error;
  }
  for (const std::string& name : names.value)
    if (auto op = parse_segment_name(name))
      segments_.push_back({*op, name, 0, 0});
  std::sort(segments_.begin(), segments_.end(),
            [](const segment& a, const segment& b) { return a.first_op < b.first_op; });
  if (segments_.empty()) {
    first_op_ = options_.first_op;
    durable_op_ = first_op_ - 1;
    return {};
  }

  first_op_ = segments_.front().first_op;
  if (first_op_ == 0)
    return {EINVAL, "wal: segment " + segments_.front().name + " claims op 0"};
  bool first_record = true;
  std::size_t stray_from = segments_.size(); // segments from here on lie past a corruption
  const auto corrupt = [&](std::uint64_t op, const segment& s, std::uint64_t offset,
                           std::string reason) {
    out.corruption = wal_corruption{op, s.name, offset, std::move(reason)};
    repair_op_ = op;
  };

  for (std::size_t i = 0; i < segments_.size() && !out.corruption; ++i) {
    segment& s = segments_[i];
    const bool last_segment = i + 1 == segments_.size();
    const std::uint64_t expected_first = first_op_ + index_.size();
    if (s.first_op != expected_first) {
      corrupt(expected_first, s, 0,
              "segment starts at op " + std::to_string(s.first_op) + ", expected "
                  + std::to_string(expected_first) + " (missing or overlapping segment)");
      stray_from = i;
      break;
    }
    auto f = dir_.open(s.name, false);
    if (!f.ok())
      return f.error;
    auto size = f.value->size();
    if (!size.ok())
      return size.error;
    auto data = f.value->read_at(0, static_cast<std::size_t>(size.value));
    if (!data.ok())
      return data.error;
    const std::string_view bytes = data.value;
    s.file_size = bytes.size();

    std::size_t offset = 0;
    while (offset < bytes.size()) {
      const std::uint64_t expected_op = first_op_ + index_.size();
      const wal_decoded d = decode_wal_record(bytes.substr(offset), options_.max_payload);
      std::string problem;
      if (d.status != wal_decode_status::ok)
        problem = to_string(d.status);
      else if (d.header.op_number != expected_op)
        problem = "op_number " + std::to_string(d.header.op_number) + " where "
                  + std::to_string(expected_op) + " belongs";
      else if (!first_record && d.header.prev_checksum != last_checksum_)
        problem = "broken chain: prev_checksum does not match the previous record";
      if (problem.empty()) {
        if (first_record)
          base_checksum_ = d.header.prev_checksum; // nothing older left to verify it against
        first_record = false;
        index_.push_back({offset, static_cast<std::uint32_t>(d.size), d.header.checksum});
        last_checksum_ = d.header.checksum;
        out.entries.push_back({d.header.op_number, d.header.view_number, std::string(d.payload)});
        offset += d.size;
        continue;
      }
      // Only zeros from a record boundary to the end of the file: the unused preallocation,
      // the clean end of this segment's data (in any segment: a closed one keeps its zero
      // tail; one that lost records shows up as a gap before the next segment's first op).
      const std::string_view rest = bytes.substr(offset);
      const std::size_t rest_nonzero = nonzero_end(rest);
      if (rest_nonzero == 0)
        break;
      // A bad record. It is the torn end of the last write only if nothing was written after
      // it: it is in the last segment (older segments were fsynced before the next one was
      // created) and no complete record follows it in that segment. Zeros followed by a valid
      // record are corruption too: a record was lost in the middle.
      if (!last_segment || valid_record_follows(rest, expected_op - 1, options_.max_payload)) {
        corrupt(expected_op, s, offset, problem);
        stray_from = i + 1;
      } else {
        out.torn_bytes = rest_nonzero;
        out.torn_reason = problem;
      }
      break;
    }
    s.data_size = offset;
  }

  if (out.corruption) {
    // Leave the disk as found: the caller decides between repair and stopping, and a person
    // investigating wants the evidence. Segments past the corruption are set aside (the
    // repairing truncate_after deletes them) so segments_ stays a contiguous, verified run.
    for (std::size_t i = stray_from; i < segments_.size(); ++i)
      stray_segments_.push_back(segments_[i].name);
    segments_.resize(stray_from);
    durable_op_ = written_op();
    return {};
  }
  // Cut the torn tail and make what was recovered durable: after a process crash (not a power
  // loss) it may still be only in the page cache. The torn bytes are overwritten with zeros,
  // not truncated away, so the preallocation after them stays. A crash before the fsync may
  // keep any part of that zeroing: what is left is still no valid record, torn again.
  if (io_error e = open_active(); !e.ok())
    return e;
  segment& last = segments_.back();
  assert(last.data_size + out.torn_bytes <= last.file_size);
  if (out.torn_bytes > 0)
    if (io_error e = write_zeros(*active_, last.data_size, last.data_size + out.torn_bytes);
        !e.ok())
      return e;
  if (io_error e = active_->sync(); !e.ok())
    return poison(std::move(e));
  durable_op_ = written_op();
  return {};
}

std::size_t wal::segment_of(std::uint64_t op) const {
  // The last segment whose first op is <= op.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), op,
                             [](std::uint64_t v, const segment& s) { return v < s.first_op; });
  if (it == segments_.begin())
    throw std::logic_error("wal: op " + std::to_string(op) + " before the first segment");
  return static_cast<std::size_t>(it - segments_.begin()) - 1;
}

io_error wal::open_active() {
  if (active_ || segments_.empty())
    return {};
  auto f = dir_.open(segments_.back().name, false);
  if (!f.ok())
    return f.error;
  active_ = std::move(f.value);
  return {};
}

io_error wal::create_segment(std::uint64_t first_op) {
  const std::string name = segment_name(first_op);
  auto f = dir_.open(name, true);
  if (!f.ok())
    return f.error;
  // The new name must be durable before records in it are acknowledged, or a crash could keep
  // the data but lose the file. A failed directory fsync is as final as a failed file fsync.
  if (io_error e = dir_.sync(); !e.ok())
    return poison(std::move(e));
  segments_.push_back({first_op, name, 0, 0});
  active_ = std::move(f.value);
  return {};
}

// Called after a batch was written to `seg`: tops its file up with zeros to the next multiple
// of preallocate_chunk past the data (at most segment_size), unless it already reaches past
// the data. So each extension writes at most one chunk (a sync on the replica's thread must
// not stall on 64 MiB of zeros), and the file size changes once per chunk. Best effort: the
// records are written already, and a failure here (full disk) costs only speed; a real I/O
// problem shows in the fsync that follows. The zeros never touch data: they start at or after
// data_size.
void wal::preallocate(segment& seg) {
  const std::uint64_t chunk = options_.preallocate_chunk;
  if (chunk == 0 || seg.file_size > seg.data_size || seg.data_size >= options_.segment_size)
    return;
  const std::uint64_t from = std::max(seg.file_size, seg.data_size);
  const std::uint64_t target = std::min(options_.segment_size, (seg.data_size / chunk + 1) * chunk);
  if (target <= from)
    return;
  assert(from >= seg.data_size && target <= options_.segment_size); // never over data
  if (write_zeros(*active_, from, target).ok()) {
    seg.file_size = target;
    return;
  }
  // A prefix may have been written: learn how far the file got (any size >= data_size is
  // safe to assume: the next extension rewrites zeros over zeros at worst).
  auto size = active_->size();
  seg.file_size = size.ok() ? std::max(size.value, seg.data_size) : seg.data_size;
}

io_error wal::remove_segment_file(const std::string& name) {
  if (io_error e = dir_.remove(name); !e.ok())
    return e;
  // One directory fsync per removed segment, so a crash in the middle of several removals
  // leaves a contiguous run of segments (never a hole that recovery would call corruption).
  // Removals happen only on view changes and checkpoints, so the cost does not matter.
  if (io_error e = dir_.sync(); !e.ok())
    return poison(std::move(e));
  return {};
}

std::uint32_t wal::tail_checksum() const {
  if (!pending_.empty())
    return wal_record_checksum(pending_.back());
  return index_.empty() ? base_checksum_ : index_.back().checksum;
}

io_error wal::poison(io_error e) {
  failed_ = e;
  return e;
}

void wal::append(std::uint64_t op_number, std::uint64_t view_number, std::string_view payload) {
  if (repair_op_)
    throw std::logic_error("wal: append while op " + std::to_string(*repair_op_)
                           + " is corrupt (truncate_after it first)");
  if (op_number != last_op() + 1)
    throw std::logic_error("wal: append of op " + std::to_string(op_number) + " after "
                           + std::to_string(last_op()));
  if (payload.size() > options_.max_payload)
    throw std::logic_error("wal: payload of " + std::to_string(payload.size())
                           + " bytes above max_payload");
  pending_.push_back(encode_wal_record(op_number, view_number, last_checksum_, payload));
  last_checksum_ = wal_record_checksum(pending_.back());
}

io_result<std::uint64_t> wal::sync() {
  using result = io_result<std::uint64_t>;
  if (!failed_.ok())
    return result::failure(failed_);
  if (pending_.empty() && durable_op_ == written_op())
    return {durable_op_, {}};

  if (io_error e = open_active(); !e.ok())
    return result::failure(std::move(e));
  // No need to cut what a failed write left behind (trim_needed_): the retry writes the very
  // same records at the very same offsets over it. Only truncate_after changes the buffer.

  std::size_t next = 0; // first pending record not written yet
  io_error write_error;
  while (next < pending_.size()) {
    const std::uint64_t op = written_op() + 1;
    if (segments_.empty()) {
      if (io_error e = create_segment(op); !e.ok()) {
        write_error = std::move(e);
        break;
      }
    } else if (segments_.back().data_size > 0
               && segments_.back().data_size + pending_[next].size() > options_.segment_size) {
      // Roll over: the closed segment is made durable before the next one exists, so recovery
      // may assume every segment but the last is complete.
      if (written_op() > durable_op_) {
        if (io_error e = active_->sync(); !e.ok())
          return result::failure(poison(std::move(e)));
        durable_op_ = written_op();
      }
      if (io_error e = create_segment(op); !e.ok()) {
        write_error = std::move(e);
        break;
      }
    }
    segment& seg = segments_.back();
    // One write for every record that fits into this segment.
    std::string batch;
    std::size_t end = next;
    while (end < pending_.size()
           && (batch.empty()
               || seg.data_size + batch.size() + pending_[end].size() <= options_.segment_size))
      batch += pending_[end++];
    if (io_error e = active_->write_at(seg.data_size, batch); !e.ok()) {
      trim_needed_ = true;
      // A prefix may have extended the file: the size is needed only as a hint (see
      // preallocate), so a failed size() keeps the old one.
      if (auto size = active_->size(); size.ok())
        seg.file_size = std::max(seg.file_size, size.value);
      write_error = std::move(e);
      break;
    }
    for (std::size_t i = next; i < end; ++i) {
      const std::string& rec = pending_[i];
      index_.push_back(
          {seg.data_size, static_cast<std::uint32_t>(rec.size()), wal_record_checksum(rec)});
      seg.data_size += rec.size();
    }
    seg.file_size = std::max(seg.file_size, seg.data_size);
    preallocate(seg); // before the fsync below, which then makes the new size durable too
    next = end;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(next));
  if (!write_error.ok())
    return result::failure(std::move(write_error)); // still buffered: a later sync retries

  if (io_error e = active_->sync(); !e.ok())
    return result::failure(poison(std::move(e)));
  durable_op_ = written_op();
  return {durable_op_, {}};
}

// Any error below leaves the files and the in-memory index possibly out of step, and these
// operations are rare (view change, checkpoint): an error makes the log unusable (poison), and
// the node recovers from what is on disk.
io_error wal::truncate_after(std::uint64_t op) {
  if (!failed_.ok())
    return failed_;
  if (op + 1 < first_op_)
    throw std::logic_error("wal: truncate_after(" + std::to_string(op) + ") below first op "
                           + std::to_string(first_op_));
  if (repair_op_ && op >= *repair_op_)
    throw std::logic_error("wal: truncate_after(" + std::to_string(op)
                           + ") keeps the corrupt op " + std::to_string(*repair_op_));
  if (op >= last_op() && !repair_op_)
    return {};

  if (op >= written_op()) {
    // Only buffered records go; nothing on disk changes (unless a failed write left bytes
    // behind, which are cut durably below).
    pending_.resize(static_cast<std::size_t>(op - written_op()));
    last_checksum_ = tail_checksum();
    if (!trim_needed_ && !repair_op_)
      return {};
  } else {
    pending_.clear();
  }

  // Newest first, the segments past the one op+1 belongs in go (those past a corruption first):
  // a crash in the middle leaves a shorter log, never one with a hole.
  while (!stray_segments_.empty()) {
    if (io_error e = remove_segment_file(stray_segments_.back()); !e.ok())
      return poison(std::move(e));
    stray_segments_.pop_back();
  }
  if (!segments_.empty()) {
    const std::uint64_t keep_op = std::min(op, written_op());
    const std::size_t keep = segment_of(keep_op + 1);
    while (segments_.size() > keep + 1) {
      active_.reset();
      if (io_error e = remove_segment_file(segments_.back().name); !e.ok())
        return poison(std::move(e));
      segments_.pop_back();
    }
    segment& seg = segments_.back();
    const std::uint64_t new_size =
        seg.first_op == keep_op + 1
            ? 0
            : index_[keep_op - first_op_].offset + index_[keep_op - first_op_].size;
    if (io_error e = open_active(); !e.ok())
      return poison(std::move(e));
    // The file is cut at the new data end, preallocation and all: one atomic size change, where
    // zeroing the dropped records in place could leave some of them readable after a crash in
    // the middle. The next sync preallocates again.
    if (io_error e = active_->truncate(new_size); !e.ok())
      return poison(std::move(e));
    // Durable before anything is appended again: otherwise a crash could bring back records of
    // the replaced suffix behind new ones.
    if (io_error e = active_->sync(); !e.ok())
      return poison(std::move(e));
    seg.data_size = new_size;
    seg.file_size = new_size;
    index_.resize(static_cast<std::size_t>(keep_op + 1 - first_op_));
  }
  trim_needed_ = false;
  repair_op_.reset();
  last_checksum_ = tail_checksum();
  durable_op_ = std::min(durable_op_, written_op());
  return {};
}

io_error wal::truncate_before(std::uint64_t op) {
  if (!failed_.ok())
    return failed_;
  // Oldest first, and never the last segment: the log always keeps the segment it appends to.
  while (segments_.size() > 1 && segments_[1].first_op <= op) {
    // A failed unlink left the segment where it was: nothing changed, the log stays usable and
    // a later call retries. Only a failed directory fsync is final.
    if (io_error e = dir_.remove(segments_.front().name); !e.ok())
      return e;
    if (io_error e = dir_.sync(); !e.ok())
      return poison(std::move(e));
    const std::uint64_t new_first = segments_[1].first_op;
    const std::size_t dropped = static_cast<std::size_t>(new_first - first_op_);
    base_checksum_ = index_[dropped - 1].checksum;
    index_.erase(index_.begin(), index_.begin() + static_cast<std::ptrdiff_t>(dropped));
    first_op_ = new_first;
    segments_.erase(segments_.begin());
  }
  release_index_memory();
  return {};
}

void wal::release_index_memory() {
  // vector::erase keeps the capacity: without this the index would stay as large as the
  // longest log ever held, however much truncate_before dropped.
  if (index_.capacity() > 1024 && index_.capacity() > 2 * index_.size())
    std::vector<record_location>(index_.begin(), index_.end()).swap(index_);
}

io_error wal::reset(std::uint64_t after_op) {
  if (!failed_.ok())
    return failed_;
  if (after_op == UINT64_MAX)
    throw std::logic_error("wal: reset past the last op number");
  const std::uint64_t first = after_op + 1;
  // The commit point: once the marker's name is durable, a reopen finishes the reset whatever
  // else survived; before it, nothing on disk has changed and the old log is intact.
  auto marker = dir_.open(reset_marker_name(first), true);
  if (!marker.ok())
    return poison(std::move(marker.error));
  if (io_error e = dir_.sync(); !e.ok())
    return poison(std::move(e));
  std::vector<std::string> old;
  for (const segment& s : segments_)
    old.push_back(s.name);
  old.insert(old.end(), stray_segments_.begin(), stray_segments_.end());
  active_.reset();
  if (io_error e = finish_reset(first, old); !e.ok())
    return poison(std::move(e));
  return {};
}

// Steps 2..4 of a reset whose marker (`wal-reset-<first>`) is durable: removes `old_segments`,
// creates the new log's empty first segment, removes the marker; the in-memory state becomes
// the empty log after first - 1. Called by reset() and by recover() after a crash inside one.
io_error wal::finish_reset(std::uint64_t first, const std::vector<std::string>& old_segments) {
  // Any order will do: with the marker durable, none of these is part of the log any more. A
  // segment already named wal-<first>.log goes too: it may hold records of the old log.
  for (const std::string& name : old_segments)
    if (io_error e = dir_.remove(name); !e.ok() && e.code != ENOENT)
      return e;
  if (io_error e = dir_.sync(); !e.ok())
    return e;
  // An empty first segment tells a reopen where the log starts before anything is appended.
  const std::string name = segment_name(first);
  auto f = dir_.open(name, true);
  if (!f.ok())
    return f.error;
  if (io_error e = dir_.sync(); !e.ok())
    return e;
  // Only now may the marker go: a reopen that still finds it repeats steps 2..4, which deletes
  // the new segment too, so nothing may be appended to it before the marker's removal is
  // durable (reset() returns only after that).
  if (io_error e = dir_.remove(reset_marker_name(first)); !e.ok())
    return e;
  if (io_error e = dir_.sync(); !e.ok())
    return e;

  segments_.assign(1, segment{first, name, 0, 0});
  active_ = std::move(f.value);
  first_op_ = first;
  std::vector<record_location>().swap(index_); // clear() would keep the old log's capacity
  pending_.clear();
  last_checksum_ = 0;
  base_checksum_ = 0; // the first record of the new log is not checked against anything
  durable_op_ = first - 1;
  trim_needed_ = false;
  repair_op_.reset();
  stray_segments_.clear();
  return {};
}

} // namespace vrdns::storage
