// Domain names in uncompressed wire format (RFC 1035 §3.1).
//
// Names are kept as std::string of wire bytes: length-prefixed labels ending in the root
// label (a single 0 byte). Two forms exist:
//   - "owner" form: case as loaded or as received (what we send back);
//   - "key" form: ASCII letters folded to lower case (what we compare and hash).
// Every function here assumes a *valid* name (labels <= 63, total <= 255) unless it says
// it validates. Validation happens once, where bytes enter from outside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vrdns::dns {

inline constexpr std::size_t max_name_length = 255;
inline constexpr std::size_t max_label_length = 63;

inline uint8_t fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

/// Length in bytes of the uncompressed name at `p` (including the root label), or 0 if the
/// bytes within [p, p+avail) are not a valid uncompressed name.
std::size_t name_wire_length(const uint8_t* p, std::size_t avail);

/// Lower-cases `len` bytes of a wire name from `src` into `dst` (may alias).
void name_fold(const uint8_t* src, std::size_t len, uint8_t* dst);
std::string name_key(std::string_view owner);

/// 64-bit hash of a key-form name. Stable within a process run only.
uint64_t name_hash(const uint8_t* key, std::size_t len);
inline uint64_t name_hash(std::string_view key) {
  return name_hash(reinterpret_cast<const uint8_t*>(key.data()), key.size());
}

/// Number of labels, not counting the root ("www.example." -> 2, "." -> 0).
unsigned name_label_count(std::string_view name);

/// The name with its first label removed; "." for ".". Returns a view into `name`.
std::string_view name_parent(std::string_view name);

/// True if `name` equals `ancestor` or lies below it (case-insensitive, label-aligned).
bool name_is_at_or_below(std::string_view name, std::string_view ancestor);

/// Case-insensitive equality.
bool name_equal(std::string_view a, std::string_view b);

/// True if the first label is "*".
inline bool name_is_wildcard(std::string_view name) {
  return name.size() >= 2 && uint8_t(name[0]) == 1 && name[1] == '*';
}

/// Presentation format ("www.example.test."), with RFC 1035 escapes.
std::string name_to_text(std::string_view wire);
/// Parses presentation format (absolute, or relative to `origin` if given); nullopt if invalid.
std::optional<std::string> name_from_text(std::string_view text, std::string_view origin = {});

}  // namespace vrdns::dns
