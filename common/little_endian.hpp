// Fixed-width little-endian fields: the byte layouts of the WAL record, the view state copy, the
// checkpoint meta (docs/storage.md) and the checkpoint blob (protocol/checkpoint.hpp). Callers
// check `at + bytes <= size` first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vrdns {

inline void put_le(std::string& out, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

// Appends the field at the end of `out`.
inline void append_le(std::string& out, std::uint64_t v, int bytes) {
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(bytes));
  put_le(out, at, v, bytes);
}

inline std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])} << (8 * i);
  return v;
}

} // namespace vrdns
