// Big-endian byte strings for the replicated state: the VR log entries (encoded UPDATEs and
// their envelopes) and the service snapshot. ByteReader never reads past its input: every
// get_* checks the remaining length first and, once anything failed, keeps failing, so a
// decoder can read a whole structure and test ok() once at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/name.hpp"

namespace vrdns::dns {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_ += char(v); }
  void u16(uint16_t v) {
    out_ += char(v >> 8);
    out_ += char(v & 0xFF);
  }
  void u32(uint32_t v) {
    u16(uint16_t(v >> 16));
    u16(uint16_t(v & 0xFFFF));
  }
  void u64(uint64_t v) {
    u32(uint32_t(v >> 32));
    u32(uint32_t(v & 0xFFFFFFFFu));
  }
  /// A 32-bit length, then the bytes.
  void bytes(std::string_view s) {
    u32(uint32_t(s.size()));
    out_ += s;
  }
  /// A 16-bit length, then the bytes (RDATA); the caller guarantees size <= 65535.
  void bytes16(std::string_view s) {
    u16(uint16_t(s.size()));
    out_ += s;
  }
  /// A wire name is self-delimiting: written as is.
  void name(std::string_view wire) { out_ += wire; }

  /// Room for `n` more bytes, when the caller knows the size (saves regrowing the buffer).
  void reserve(std::size_t n) { out_.reserve(out_.size() + n); }

  std::string& str() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  uint8_t u8() {
    if (!need(1)) return 0;
    return uint8_t(in_[pos_++]);
  }
  uint16_t u16() {
    const uint16_t hi = u8();
    return uint16_t((hi << 8) | u8());
  }
  uint32_t u32() {
    const uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  uint64_t u64() {
    const uint64_t hi = u32();
    return (hi << 32) | u32();
  }
  std::string bytes() {
    const uint32_t len = u32();
    if (!need(len)) return {};
    std::string s(in_.substr(pos_, len));
    pos_ += len;
    return s;
  }
  std::string bytes16() {
    const uint16_t len = u16();
    if (!need(len)) return {};
    std::string s(in_.substr(pos_, len));
    pos_ += len;
    return s;
  }
  /// An uncompressed wire name (validated: labels <= 63, total <= 255).
  std::string name() {
    if (!ok_) return {};
    const std::size_t len =
        name_wire_length(reinterpret_cast<const uint8_t*>(in_.data()) + pos_, in_.size() - pos_);
    if (len == 0) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, len));
    pos_ += len;
    return s;
  }

  /// Marks the input as malformed (for checks the caller makes on decoded values).
  void fail() { ok_ = false; }
  bool ok() const { return ok_; }
  /// True if everything was read without error and nothing is left over.
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

 private:
  bool need(std::size_t n) {
    if (ok_ && in_.size() - pos_ >= n) return true;
    ok_ = false;
    return false;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace vrdns::dns
