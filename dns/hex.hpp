// Hexadecimal text of bytes (RFC 3597 RDATA, checkpoint file names, cookie secrets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vrdns::dns {

inline void append_hex(std::string& out, std::string_view bytes, bool upper = true) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
}

/// The bytes `text` spells in hexadecimal (either case, no separators); nullopt if it is not
/// an even number of hex digits.
inline std::optional<std::string> hex_decode(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi << 4 | lo);
  }
  return out;
}

}  // namespace vrdns::dns
