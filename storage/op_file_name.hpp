// File names that carry an op_number as 20 decimal digits ("wal-<op>.log",
// "checkpoint-<op>.meta", ...): the zero padding makes them sort like the numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vrdns::storage {

inline constexpr std::size_t op_digits = 20;

// The value of `digits` (exactly op_digits decimal digits), or nullopt for anything else,
// including a value above UINT64_MAX: file names come from the disk, not from us.
inline std::optional<std::uint64_t> parse_op_digits(std::string_view digits) {
  if (digits.size() != op_digits)
    return std::nullopt;
  std::uint64_t op = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (op > (UINT64_MAX - d) / 10)
      return std::nullopt;
    op = op * 10 + d;
  }
  return op;
}

} // namespace vrdns::storage
