// Hexadecimal text of bytes (RFC 3597 RDATA, checkpoint file names).
#pragma once

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

}  // namespace vrdns::dns
