#include "protocol/checkpoint.hpp"

#include "common/crc32c.hpp"
#include "common/little_endian.hpp"

#include <set>

namespace vrdns::protocol {

namespace {

constexpr std::string_view blob_magic = "VRCP";
constexpr std::uint32_t blob_version = 1;

// Reads fixed-width fields and length-prefixed strings from untrusted bytes: every read checks
// that the bytes are there, and a failed read makes every later one fail too.
class reader {
public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == in_.size(); }
  std::uint64_t get(int bytes) {
    if (!ok_ || in_.size() - pos_ < static_cast<std::size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    const std::uint64_t v = get_le(in_, pos_, bytes);
    pos_ += static_cast<std::size_t>(bytes);
    return v;
  }
  std::string_view take(std::uint64_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto s = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace

bool valid_part_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name.front() == '.')
    return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string encode_checkpoint(const checkpoint& c) {
  std::size_t size = 4 + 4 + 8 + 8 + 4 + 4;
  for (const auto& p : c.parts)
    size += 2 + p.name.size() + 8 + p.bytes.size();
  std::string out;
  out.reserve(size);
  out.append(blob_magic);
  append_le(out, blob_version, 4);
  append_le(out, c.op_number, 8);
  append_le(out, c.view_number, 8);
  append_le(out, c.parts.size(), 4);
  for (const auto& p : c.parts) {
    append_le(out, p.name.size(), 2);
    out.append(p.name);
    append_le(out, p.bytes.size(), 8);
    out.append(p.bytes);
  }
  append_le(out, crc32c(out), 4);
  return out;
}

std::optional<checkpoint> decode_checkpoint(std::string_view blob) {
  if (blob.size() < 4 + 4 + 8 + 8 + 4 + 4)
    return std::nullopt;
  const auto body = blob.substr(0, blob.size() - 4);
  reader tail(blob.substr(blob.size() - 4));
  if (crc32c(body) != tail.get(4))
    return std::nullopt;
  reader r(body);
  if (r.take(4) != blob_magic || r.get(4) != blob_version)
    return std::nullopt;
  checkpoint c;
  c.op_number = r.get(8);
  c.view_number = r.get(8);
  const auto count = r.get(4);
  std::set<std::string_view> names;
  // Each part takes at least 11 bytes: a corrupt count cannot make us reserve much.
  for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
    const auto name = r.take(r.get(2));
    const auto bytes = r.take(r.get(8));
    if (!r.ok() || !valid_part_name(name) || !names.insert(name).second)
      return std::nullopt;
    c.parts.push_back(snapshot_part{std::string(name), std::string(bytes)});
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return c;
}

namespace {
// A client_table part starts with its count, or with this marker and then the count of the
// second form, whose entries also carry the op that last executed each client's request. No
// table holds 2^64 - 1 clients, so the two forms cannot be confused.
constexpr std::uint64_t client_table_v2 = ~std::uint64_t(0);
} // namespace

std::string encode_client_table(const std::map<std::uint64_t, client_record>& table) {
  std::string out;
  append_le(out, client_table_v2, 8);
  append_le(out, table.size(), 8);
  for (const auto& [client_id, rec] : table) {
    append_le(out, client_id, 8);
    append_le(out, rec.request_number, 8);
    append_le(out, rec.op_number, 8);
    append_le(out, rec.result.size(), 4);
    out.append(rec.result);
  }
  return out;
}

std::optional<std::map<std::uint64_t, client_record>> decode_client_table(std::string_view bytes) {
  reader r(bytes);
  auto count = r.get(8);
  // The first form (vrdns before session 15): no op numbers, read as 0 (heard longest ago).
  const bool with_ops = count == client_table_v2;
  if (with_ops)
    count = r.get(8);
  std::map<std::uint64_t, client_record> table;
  for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
    const auto client_id = r.get(8);
    client_record rec;
    rec.request_number = r.get(8);
    if (with_ops)
      rec.op_number = r.get(8);
    rec.result = std::string(r.take(r.get(4)));
    if (r.ok() && !table.emplace(client_id, std::move(rec)).second)
      return std::nullopt;   // the same client twice: not something encode produces
  }
  if (!r.ok() || !r.at_end())
    return std::nullopt;
  return table;
}

} // namespace vrdns::protocol
