// Domain names in uncompressed wire format: validation, case folding, hashing, text forms.
#include "dns/name.hpp"

#include <cassert>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace vrdns::dns {

std::size_t name_wire_length(const uint8_t* p, std::size_t avail) {
  std::size_t off = 0;
  while (true) {
    if (off >= avail) return 0;                    // truncated: no root label yet
    const uint8_t len = p[off];
    if (len == 0) {
      ++off;
      return off <= max_name_length ? off : 0;
    }
    // 0xC0 is a compression pointer, 0x40/0x80 are obsolete extended label types: none of
    // them may appear in an uncompressed name.
    if (len > max_label_length) return 0;
    off += 1 + std::size_t(len);
    if (off >= max_name_length) return 0;          // the root byte would push it past 255
  }
}

void name_fold(const uint8_t* src, std::size_t len, uint8_t* dst) {
  // Length bytes are <= 63 and so never in 'A'..'Z': folding every byte is label-safe.
  for (std::size_t i = 0; i < len; ++i) dst[i] = fold(src[i]);
}

std::string name_key(std::string_view owner) {
  std::string key(owner);
  auto* p = reinterpret_cast<uint8_t*>(key.data());
  name_fold(p, key.size(), p);
  return key;
}

uint64_t name_hash(const uint8_t* key, std::size_t len) {
  // Multiply-mix over 8-byte words (wyhash-like); callers hash one name per query, so this
  // keeps the per-byte cost well below byte-at-a-time FNV.
  constexpr uint64_t k0 = 0x9E3779B97F4A7C15ull, k1 = 0xBF58476D1CE4E5B9ull,
                     k2 = 0x94D049BB133111EBull;
  uint64_t h = k0 ^ (uint64_t(len) * k1);
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, key + i, 8);
    h = (h ^ w) * k1;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  for (std::size_t j = 0; i + j < len; ++j) tail |= uint64_t(key[i + j]) << (8 * j);
  h = (h ^ tail) * k2;
  // Final avalanche (splitmix64), so every output bit depends on every input bit: the HAMT
  // consumes the hash 5 bits at a time from the low end.
  h ^= h >> 30;
  h *= k1;
  h ^= h >> 27;
  h *= k2;
  h ^= h >> 31;
  return h;
}

unsigned name_label_count(std::string_view name) {
  unsigned n = 0;
  std::size_t off = 0;
  while (off < name.size() && name[off] != 0) {
    off += 1 + uint8_t(name[off]);
    ++n;
  }
  return n;
}

std::string_view name_parent(std::string_view name) {
  if (name.empty() || name[0] == 0) return name;
  const std::size_t skip = 1 + uint8_t(name[0]);
  assert(skip < name.size());
  return name.substr(skip);
}

bool name_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(uint8_t(a[i])) != fold(uint8_t(b[i]))) return false;
  return true;
}

bool name_is_at_or_below(std::string_view name, std::string_view ancestor) {
  // `ancestor` can only be the suffix of `name` as long as itself, and only if that suffix
  // starts on a label boundary ("xexample." is not below "example."): one walk over
  // `name`'s labels finds out, with no label counting of either name (this runs for every
  // record an UPDATE touches).
  if (ancestor.size() > name.size()) return false;
  const std::size_t start = name.size() - ancestor.size();
  std::size_t off = 0;
  while (off < start && name[off] != 0) off += 1 + uint8_t(name[off]);
  return off == start && name_equal(name.substr(start), ancestor);
}

namespace {

// Characters that have a meaning in master files and must be escaped inside a label.
bool needs_backslash(uint8_t c) {
  return c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
         c == '$';
}

}  // namespace

std::string name_to_text(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return ".";
  std::string out;
  std::size_t off = 0;
  while (off < wire.size() && wire[off] != 0) {
    const std::size_t len = uint8_t(wire[off]);
    for (std::size_t i = 1; i <= len && off + i < wire.size(); ++i) {
      const uint8_t c = uint8_t(wire[off + i]);
      if (c <= 0x20 || c >= 0x7F) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", unsigned(c));
        out += buf;
      } else {
        if (needs_backslash(c)) out += '\\';
        out += char(c);
      }
    }
    out += '.';
    off += 1 + len;
  }
  return out;
}

std::optional<std::string> name_from_text(std::string_view text, std::string_view origin) {
  if (text.empty()) return std::nullopt;
  if (text == "@") {
    if (origin.empty()) return std::nullopt;
    return std::string(origin);
  }
  if (text == ".") return std::string(1, '\0');

  std::string out;
  std::string label;
  bool absolute = false;
  auto end_label = [&]() -> bool {
    if (label.empty() || label.size() > max_label_length) return false;
    out += char(label.size());
    out += label;
    label.clear();
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (!end_label()) return std::nullopt;            // empty label ("a..b", ".a")
      if (i + 1 == text.size()) absolute = true;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      if (std::isdigit(uint8_t(text[i + 1]))) {
        if (i + 3 >= text.size()) return std::nullopt;   // \DDD needs three digits
        unsigned v = 0;
        for (std::size_t k = 1; k <= 3; ++k) {
          if (!std::isdigit(uint8_t(text[i + k]))) return std::nullopt;
          v = v * 10 + unsigned(text[i + k] - '0');
        }
        if (v > 255) return std::nullopt;
        label += char(v);
        i += 3;
      } else {
        label += text[i + 1];
        ++i;
      }
    } else {
      label += c;
    }
  }
  if (!absolute) {
    if (!end_label()) return std::nullopt;
    if (origin.empty()) {
      out += '\0';                                     // no origin: treat as absolute
    } else {
      out += origin;
    }
  } else {
    out += '\0';
  }
  if (name_wire_length(reinterpret_cast<const uint8_t*>(out.data()), out.size()) != out.size())
    return std::nullopt;
  return out;
}

}  // namespace vrdns::dns
