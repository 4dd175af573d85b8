#include "dns/wire_writer.hpp"

#include <cassert>
#include <cstring>

#include "dns/name.hpp"

namespace vrdns::dns {

namespace {
// A pointer's 14-bit offset field: labels starting later cannot be compression targets.
constexpr std::size_t max_pointer_offset = 0x3FFF;
}  // namespace

bool WireWriter::room(std::size_t n) {
  if (!ok_ || n > limit_ - pos_) {
    ok_ = false;
    return false;
  }
  return true;
}

void WireWriter::rollback(std::size_t mark) {
  assert(mark <= pos_);
  pos_ = mark;
  while (n_targets_ > 0 && targets_[n_targets_ - 1] >= mark) --n_targets_;
  ok_ = true;
}

void WireWriter::put_u8(uint8_t v) {
  if (room(1)) buf_[pos_++] = v;
}

void WireWriter::put_u16(uint16_t v) {
  if (!room(2)) return;
  buf_[pos_++] = uint8_t(v >> 8);
  buf_[pos_++] = uint8_t(v);
}

void WireWriter::put_u32(uint32_t v) {
  if (!room(4)) return;
  buf_[pos_++] = uint8_t(v >> 24);
  buf_[pos_++] = uint8_t(v >> 16);
  buf_[pos_++] = uint8_t(v >> 8);
  buf_[pos_++] = uint8_t(v);
}

void WireWriter::put_bytes(const void* p, std::size_t n) {
  if (!room(n)) return;
  if (n > 0) std::memcpy(buf_ + pos_, p, n);
  pos_ += n;
}

void WireWriter::patch_u16(std::size_t at, uint16_t v) {
  assert(at + 2 <= pos_);
  buf_[at] = uint8_t(v >> 8);
  buf_[at + 1] = uint8_t(v);
}

void WireWriter::remember(std::size_t offset, std::size_t length) {
  if (offset > max_pointer_offset || n_targets_ == max_targets) return;
  assert(n_targets_ == 0 || targets_[n_targets_ - 1] < offset);
  assert(length >= 2 && length <= max_name_length);
  target_lengths_[n_targets_] = uint8_t(length);
  targets_[n_targets_++] = uint16_t(offset);
}

bool WireWriter::matches_at(std::size_t offset, const uint8_t* name) const {
  // The message bytes were written by us, so they are well formed; the hop bound only
  // guards against a bug turning into an endless loop.
  for (int hops = 0; hops < 128;) {
    uint8_t len = buf_[offset];
    if ((len & 0xC0) == 0xC0) {
      offset = (std::size_t(len & 0x3F) << 8) | buf_[offset + 1];
      ++hops;
      continue;
    }
    if (len != *name) return false;
    if (len == 0) return true;
    for (uint8_t i = 1; i <= len; ++i) {
      const uint8_t a = buf_[offset + i], b = name[i];
      if (a != b && fold(a) != fold(b)) return false;   // equal bytes are the common case
    }
    offset += std::size_t(len) + 1;
    name += std::size_t(len) + 1;
  }
  return false;
}

void WireWriter::put_name(const uint8_t* name, std::size_t len, bool compress) {
  assert(len >= 1 && len <= max_name_length && name[len - 1] == 0);
  if (!compress) {
    put_bytes(name, len);
    return;
  }
  // Find the longest suffix (earliest label start) already present.
  std::size_t cut = 0;            // bytes of `name` written as labels before the pointer
  std::size_t pointer = SIZE_MAX; // message offset of the matching suffix
  for (std::size_t at = 0; name[at] != 0; at += std::size_t(name[at]) + 1) {
    const std::size_t suffix_length = len - at;
    for (std::size_t t = 0; t < n_targets_; ++t) {
      if (target_lengths_[t] == suffix_length && matches_at(targets_[t], name + at)) {
        pointer = targets_[t];
        break;
      }
    }
    if (pointer != SIZE_MAX) {
      cut = at;
      break;
    }
  }
  if (pointer == SIZE_MAX) cut = len - 1;   // no match: every label, then the root byte

  const std::size_t needed = cut + (pointer == SIZE_MAX ? 1 : 2);
  if (!room(needed)) return;
  const std::size_t start = pos_;
  std::memcpy(buf_ + pos_, name, cut);
  pos_ += cut;
  if (pointer == SIZE_MAX) {
    buf_[pos_++] = 0;
  } else {
    buf_[pos_++] = uint8_t(0xC0 | (pointer >> 8));
    buf_[pos_++] = uint8_t(pointer);
  }
  for (std::size_t at = 0; at < cut; at += std::size_t(name[at]) + 1) remember(start + at, len - at);
}

}  // namespace vrdns::dns
