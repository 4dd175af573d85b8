// Writes a DNS message straight into a caller-owned buffer, with name compression
// (RFC 1035 §4.1.4). No allocation: the compression table is a small fixed array.
//
// Overflow is sticky: once a write would pass the current limit, it and every later write
// are ignored and ok() turns false. The caller checks ok() at a point where it can react
// (roll back to a mark and set TC, or drop an additional RRset) instead of after every byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vrdns::dns {

class WireWriter {
 public:
  /// `capacity` is the hard end of `buf`; the limit starts there and may only shrink below it.
  WireWriter(uint8_t* buf, std::size_t capacity) : buf_(buf), capacity_(capacity), limit_(capacity) {}

  std::size_t size() const { return pos_; }
  bool ok() const { return ok_; }
  const uint8_t* data() const { return buf_; }

  /// Writes beyond `limit` fail (used to keep room for the OPT record, or the UDP size).
  void set_limit(std::size_t limit) { limit_ = limit < capacity_ ? limit : capacity_; }
  std::size_t limit() const { return limit_; }

  /// Forgets everything written at or after `mark` (including compression targets there)
  /// and clears the overflow flag.
  void rollback(std::size_t mark);

  void put_u8(uint8_t v);
  void put_u16(uint16_t v);
  void put_u32(uint32_t v);
  void put_bytes(const void* p, std::size_t n);
  void put_bytes(std::string_view s) { put_bytes(s.data(), s.size()); }
  /// Overwrites two bytes already written (counts, RDLENGTH).
  void patch_u16(std::size_t at, uint16_t v);

  /// Writes a valid uncompressed wire name of `len` bytes. With `compress`, the longest
  /// suffix already in the message (compared case-insensitively) becomes a pointer, and the
  /// labels written here become targets for later names. Without it the name is written
  /// as is and is not a target (RDATA of types RFC 3597 §4 forbids compressing).
  void put_name(const uint8_t* name, std::size_t len, bool compress);
  void put_name(std::string_view name, bool compress) {
    put_name(reinterpret_cast<const uint8_t*>(name.data()), name.size(), compress);
  }

 private:
  bool room(std::size_t n);
  /// True if the name in the message at `offset` equals `name` (case-insensitive).
  bool matches_at(std::size_t offset, const uint8_t* name) const;
  /// `length`: the expanded length of the name from this label on (a cheap first filter).
  void remember(std::size_t offset, std::size_t length);

  static constexpr std::size_t max_targets = 128;

  uint8_t* buf_;
  std::size_t capacity_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  bool ok_ = true;
  // Offsets of label starts written with compression on, ascending (so rollback can cut).
  uint16_t targets_[max_targets] = {};
  uint8_t target_lengths_[max_targets] = {};
  std::size_t n_targets_ = 0;
};

}  // namespace vrdns::dns
