// ZoneService state <-> checkpoint parts (dns/zone_checkpoint.hpp).
#include "dns/zone_checkpoint.hpp"


#include <algorithm>
#include <cassert>
#include <set>
#include <stdexcept>

#include "dns/bytes.hpp"
#include "dns/hex.hpp"
#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/sha256.hpp"

namespace vrdns::dns {

namespace {

constexpr std::string_view service_magic = "VRZS";
// Version 2 adds the removed zones; a state without any is still written as version 1, which
// older builds read.
constexpr uint8_t service_version_1 = 1;
constexpr uint8_t service_version_2 = 2;
constexpr std::size_t dedupe_entry_size = 8 + 8 + 8 + 1;
constexpr std::string_view zone_suffix = ".zone";
constexpr std::size_t max_part_name = 200;   // protocol::valid_part_name

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("checkpoint: " + what);
}

std::string encode_service(const ZoneServiceState& s, const std::vector<std::string>& zone_parts) {
  ByteWriter w;
  w.reserve(service_magic.size() + 1 + 8 + 4 + zone_parts.size() * 32 + 8 +
            s.dedupe.size() * dedupe_entry_size);
  w.str() += service_magic;
  w.u8(s.removed.empty() ? service_version_1 : service_version_2);
  w.u64(s.newest_time_ms);
  w.u32(uint32_t(zone_parts.size()));
  for (const std::string& name : zone_parts) {
    assert(name.size() <= max_part_name);
    w.u8(uint8_t(name.size()));
    w.name(name);   // raw bytes
  }
  if (!s.removed.empty()) {
    w.u32(uint32_t(s.removed.size()));
    for (const ZoneService::Tombstone& t : s.removed) {
      assert(!t.apex.empty() && t.apex.size() <= 255);
      w.u8(uint8_t(t.apex.size()));
      w.name(t.apex);
      w.u32(t.serial);
      w.u8(t.readmitted ? 1 : 0);
    }
  }
  w.u64(s.dedupe.size());
  for (const ZoneService::DedupeEntry& e : s.dedupe) {
    w.u64(e.key.hi);
    w.u64(e.key.lo);
    w.u64(e.time_ms);
    w.u8(e.rcode);
  }
  return std::move(w.str());
}

/// Fills out.newest_time_ms and out.dedupe; returns the zone part names listed.
std::vector<std::string> decode_service(std::string_view bytes, ZoneServiceState& out) {
  if (!bytes.starts_with(service_magic)) bad("service.bin: bad magic");
  ByteReader r(bytes.substr(service_magic.size()));
  const uint8_t version = r.u8();
  if (version != service_version_1 && version != service_version_2)
    bad("service.bin: unknown version");
  out.newest_time_ms = r.u64();
  const uint32_t zone_count = r.u32();
  std::vector<std::string> zone_parts;
  for (uint32_t i = 0; i < zone_count && r.ok(); ++i) {
    const uint8_t len = r.u8();
    std::string name;
    for (uint8_t k = 0; k < len && r.ok(); ++k) name += char(r.u8());
    if (r.ok()) zone_parts.push_back(std::move(name));
  }
  if (version == service_version_2) {
    const uint32_t removed_count = r.u32();
    for (uint32_t i = 0; i < removed_count && r.ok(); ++i) {
      const uint8_t len = r.u8();
      std::string apex;
      for (uint8_t k = 0; k < len && r.ok(); ++k) apex += char(r.u8());
      const uint32_t serial = r.u32();
      const uint8_t readmitted = r.u8();
      const auto* p = reinterpret_cast<const uint8_t*>(apex.data());
      if (r.ok() && (apex.empty() || name_wire_length(p, apex.size()) != apex.size()))
        bad("service.bin: a removed zone's apex is not a valid name");
      if (r.ok() && readmitted > 1) bad("service.bin: a removed zone's flag is not 0 or 1");
      if (r.ok()) out.removed.push_back({std::move(apex), serial, readmitted == 1});
    }
  }
  const uint64_t count = r.u64();
  // Checked before reserving: a corrupt count must not make us allocate.
  if (!r.ok() || count != r.remaining() / dedupe_entry_size ||
      r.remaining() % dedupe_entry_size != 0)
    bad("service.bin: truncated, or the dedupe count does not match the entries");
  out.dedupe.reserve(std::size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    ZoneService::DedupeEntry e;
    e.key.hi = r.u64();
    e.key.lo = r.u64();
    e.time_ms = r.u64();
    e.rcode = r.u8();
    if (e.time_ms > out.newest_time_ms) bad("service.bin: dedupe entry newer than the newest op");
    if (!out.dedupe.empty() && e.time_ms < out.dedupe.back().time_ms)
      bad("service.bin: dedupe entries out of order");
    out.dedupe.push_back(e);
  }
  assert(r.done());
  return zone_parts;
}

std::string hex_sha256_128(std::string_view in) {
  const auto md = sha256(in);
  std::string out;
  append_hex(out, std::string_view(reinterpret_cast<const char*>(md.data()), 16), false);
  return out;
}

}  // namespace

std::string zone_part_name(std::string_view apex) {
  const std::string key = name_key(apex);
  if (key.size() <= 1) return "_root" + std::string(zone_suffix);
  std::string out;
  for (std::size_t off = 0; off < key.size() && key[off] != 0; off += 1 + uint8_t(key[off])) {
    if (off > 0) out += '.';
    for (std::size_t i = 1; i <= uint8_t(key[off]); ++i) {
      const uint8_t c = uint8_t(key[off + i]);
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
        out += char(c);
      } else {
        out += '_';
        append_hex(out, std::string_view(&key[off + i], 1));
      }
    }
  }
  out += zone_suffix;
  if (out.size() > max_part_name) out = "_long-" + hex_sha256_128(key) + std::string(zone_suffix);
  return out;
}

std::vector<protocol::snapshot_part> checkpoint_parts(const ZoneServiceState& s) {
  std::vector<protocol::snapshot_part> parts;
  std::vector<std::string> zone_parts;
  parts.reserve(s.zones.size() + 1);
  for (const ZonePtr& z : s.zones) {
    parts.push_back({zone_part_name(z->apex()), write_master_file(*z)});
    zone_parts.push_back(parts.back().name);
  }
  parts.push_back({std::string(service_part_name), encode_service(s, zone_parts)});
  return parts;
}

ZoneServiceState read_checkpoint_parts(const std::vector<protocol::snapshot_part>& parts) {
  ZoneServiceState out;
  const auto service = std::find_if(parts.begin(), parts.end(), [](const auto& p) {
    return p.name == service_part_name;
  });
  if (service == parts.end()) bad("no service.bin part");
  // Every zone part listed, once; nothing else.
  const std::vector<std::string> listed = decode_service(service->bytes, out);
  std::set<std::string_view> expected(listed.begin(), listed.end());
  if (expected.size() != listed.size()) bad("service.bin lists a zone part twice");
  if (parts.size() != listed.size() + 1) bad("missing, duplicate or unknown parts");
  for (const protocol::snapshot_part& p : parts) {
    if (&p == &*service) continue;
    if (expected.erase(p.name) != 1) bad("unknown or duplicate part " + p.name);
    ZonePtr z;
    try {
      z = read_master_file(p.bytes, p.name);
    } catch (const ZoneError& e) {
      bad(e.what());
    }
    if (zone_part_name(z->apex()) != p.name)
      bad(p.name + " holds the zone " + name_to_text(z->apex()));
    out.zones.push_back(std::move(z));
  }
  assert(expected.empty());
  // Tombstones: in apex key order (as written), none twice, none a zone of the checkpoint.
  std::set<std::string> live;
  for (const ZonePtr& z : out.zones) live.insert(z->apex_key());
  std::string previous;
  for (const ZoneService::Tombstone& t : out.removed) {
    std::string key = name_key(t.apex);
    if (!previous.empty() && !(previous < key))
      bad("service.bin: removed zones out of order or listed twice");
    if (live.count(key)) bad("service.bin: " + name_to_text(t.apex) + " is removed and a zone");
    previous = std::move(key);
  }
  return out;
}

}  // namespace vrdns::dns
