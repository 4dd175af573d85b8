// libFuzzer entry point for runs of UPDATEs, as the log executes them: an input is up to 8
// UPDATE messages, each a 2-byte big-endian length and that many bytes (the last may be cut
// short), parsed against configs/example.test.zone. fuzz_update checks one UPDATE in depth;
// this target checks what only a sequence reaches (an UPDATE meeting the names, CNAMEs,
// serials and empty non-terminals earlier ones made or removed) and the promise an op batch
// rests on (dns/update_apply.hpp): the UPDATEs run one after the other through one
// ZoneEditor give, step by step, the same rcode and change as chaining apply_update on
// snapshots, and in the end the same zone. It aborts unless, after every step:
//
// - the rcodes and "changed" of the two forms agree;
// - an unchanged step keeps the snapshot, a changed one passes validate_zone and has a newer
//   serial (RFC 1982);
// and at the end, the editor's zone writes the same checkpoint as the chain's, and that
// checkpoint reads back to the same text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/master_file.hpp"
#include "dns/query_parser.hpp"
#include "dns/serial.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/zone.hpp"

namespace {

using namespace vrdns::dns;

const ZoneSet& zone_set() {
  static const auto zones = [] {
    auto z = std::make_shared<ZoneSet>();
    z->zones.push_back(load_zone_file(VRDNS_SOURCE_DIR "/configs/example.test.zone",
                                      "example.test."));
    return z;
  }();
  return *zones;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_update_sequence: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

constexpr std::size_t max_updates = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ZoneSet& zones = zone_set();
  const std::string_view key_name("\3key\0", 5);
  std::vector<Update> updates;
  std::size_t at = 0;
  while (at + 2 <= size && updates.size() < max_updates) {
    const std::size_t length = std::min<std::size_t>(std::size_t(data[at]) << 8 | data[at + 1],
                                                     size - at - 2);
    std::vector<uint8_t> msg(data + at + 2, data + at + 2 + length);
    at += 2 + length;
    if (msg.size() < header_size) continue;
    msg[2] = uint8_t((msg[2] & 0x07) | (opcode::UPDATE << 3));   // QR clear, opcode UPDATE
    Update u;
    if (parse_update(msg.data(), msg.size(), zones, u, key_name) == rcode::NOERROR)
      updates.push_back(std::move(u));
  }
  if (updates.empty()) return 0;

  ZonePtr chained = zones.zones.front();
  ZoneEditor editor(chained);
  for (const Update& u : updates) {
    const uint32_t old_serial = chained->serial();
    const UpdateResult r = apply_update(chained, u);
    const EditResult e = apply_update(editor, u);
    check(r.zone != nullptr, "apply returned no zone");
    check(e.rcode == r.rcode && e.changed == r.changed, "the batch form gave another result");
    if (!r.changed) {
      check(r.zone == chained, "an unchanged step made a new snapshot");
      continue;
    }
    check(r.rcode == rcode::NOERROR, "changed, but not NOERROR");
    check(serial_less(old_serial, r.zone->serial()), "a change without a newer serial");
    try {
      validate_zone(*r.zone, "fuzz");
    } catch (const ZoneError&) {
      fail("a sequence of UPDATEs made an invalid zone");
    }
    chained = r.zone;
  }
  const std::string text = write_master_file(*chained);
  check(write_master_file(*editor.finish()) == text, "the batch form made another zone");
  ZonePtr reread;
  try {
    reread = read_master_file(text, "fuzz checkpoint");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_update_sequence: %s\n", e.what());
    fail("the checkpoint after a sequence does not load");
  }
  check(write_master_file(*reread) == text, "the checkpoint does not read back the same");
  return 0;
}
