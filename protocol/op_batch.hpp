// Several client ops carried by one VR Request: one log entry, one client_table slot, one
// Reply. A vr_client with batching on (vr_client_options::batch_max > 1) packs the calls that
// queued behind its outstanding request into one op batch; a service that accepts batches
// executes the parts in order, exactly as if they were consecutive log entries, and answers
// with the batch of their results (part i answers op i).
//
// Why: under load a node's UPDATEs otherwise pay, each on its own, a Request and a Reply
// message, a client_table update, a log entry and its WAL record header, a Prepare slot, and
// the client actor's timer ticks. Batching pays these once per batch.
//
// Layout (big-endian): u8 op_batch_tag, u32 count (>= 1), then count x (u32 length, bytes).
// A service tells a batch from a single op by the first byte, so its own op encodings must
// never start with op_batch_tag (the DNS service's start with a version byte of 1).
// Header-only, so dns/ (which does not link protocol/) can use it.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vrdns::protocol {

constexpr std::uint8_t op_batch_tag = 0xB1;

namespace op_batch_detail {

inline void put_u32(std::string& out, std::uint32_t v) {
  out += char(v >> 24);
  out += char((v >> 16) & 0xFF);
  out += char((v >> 8) & 0xFF);
  out += char(v & 0xFF);
}

// Reads a u32 at `pos` if 4 bytes remain.
inline bool get_u32(std::string_view in, std::size_t& pos, std::uint32_t& v) {
  if (in.size() - pos < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | std::uint8_t(in[pos++]);
  return true;
}

}  // namespace op_batch_detail

inline bool is_op_batch(std::string_view op) {
  return !op.empty() && std::uint8_t(op[0]) == op_batch_tag;
}

/// How many client ops `op` stands for: its count if it is an op batch, else 1. Reads only the
/// header (a log-length measure, not validation): a count the bytes cannot hold is capped.
inline std::uint64_t op_batch_parts(std::string_view op) {
  if (!is_op_batch(op)) return 1;
  std::size_t pos = 1;
  std::uint32_t count = 0;
  if (!op_batch_detail::get_u32(op, pos, count)) return 1;
  const std::uint64_t most = (op.size() - pos) / 4;
  return count == 0 ? 1 : std::min<std::uint64_t>(count, std::max<std::uint64_t>(most, 1));
}

/// Precondition: `parts` is not empty.
inline std::string encode_op_batch(const std::vector<std::string_view>& parts) {
  assert(!parts.empty());
  std::size_t size = 5;
  for (auto p : parts) size += 4 + p.size();
  std::string out;
  out.reserve(size);
  out += char(op_batch_tag);
  op_batch_detail::put_u32(out, std::uint32_t(parts.size()));
  for (auto p : parts) {
    assert(p.size() <= 0xFFFFFFFFu);
    op_batch_detail::put_u32(out, std::uint32_t(p.size()));
    out += p;
  }
  return out;
}

/// The parts (views into `in`). False, `parts` empty, on anything malformed: wrong tag, a count
/// of 0 or more parts than the bytes could hold, a length past the end, trailing bytes.
inline bool decode_op_batch(std::string_view in, std::vector<std::string_view>& parts) {
  parts.clear();
  if (!is_op_batch(in)) return false;
  std::size_t pos = 1;
  std::uint32_t count = 0;
  if (!op_batch_detail::get_u32(in, pos, count) || count == 0) return false;
  // Each part takes at least its 4-byte length: a count the input cannot hold is a lie, and is
  // refused before anything is reserved for it.
  if (count > (in.size() - pos) / 4) return false;
  parts.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    if (!op_batch_detail::get_u32(in, pos, len) || len > in.size() - pos) {
      parts.clear();
      return false;
    }
    parts.push_back(in.substr(pos, len));
    pos += len;
  }
  if (pos != in.size()) {
    parts.clear();
    return false;
  }
  return true;
}

}  // namespace vrdns::protocol
