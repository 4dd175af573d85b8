// libFuzzer entry point for the UPDATE path, i.e. the replicated state machine's input. Any
// byte string is parsed as an RFC 2136 UPDATE of configs/example.test.zone; what parses is
// encoded for the log, decoded, applied, checkpointed and answered from, and the target aborts
// unless:
//
// - the log form round-trips: decode(encode(u)) == u, and encode is a function of u;
// - applying is all or nothing and keeps the zone valid: unchanged zone (same snapshot, same
//   serial) unless it changed, the serial one up (or the update's own newer SOA) if it did,
//   and validate_zone holds (one apex SOA, apex NS, no CNAME beside other data);
// - the op-batch form (apply_update on a ZoneEditor, dns/zone_service.cpp's path) gives the
//   same rcode and change and, byte for byte, the same checkpoint as the single-update form
//   (the zone as it was when nothing changed), also for the UPDATE twice in one batch;
// - the changed zone's checkpoint (write_master_file) reads back (read_master_file) and
//   writes the same text again: a zone that an UPDATE can make but a restart cannot load
//   would stop every replica at its next restart;
// - queries for every name and type the update touched get a well-formed answer.
//
// A crash or a broken zone here would be no single node's problem: every replica executes
// the same log, so all of them would fail on the same op, and again on every restart.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/master_file.hpp"
#include "dns/name.hpp"
#include "dns/query_parser.hpp"
#include "dns/responder.hpp"
#include "dns/serial.hpp"
#include "dns/update.hpp"
#include "dns/update_apply.hpp"
#include "dns/update_reply.hpp"
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
  std::fprintf(stderr, "fuzz_update: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

/// The update's own SOA add, if it raises the serial (then the zone takes that serial).
bool raises_serial_itself(const Update& u, uint32_t old_serial, uint32_t new_serial) {
  for (const auto& op : u.updates) {
    if (op.kind != UpdateKind::add || op.rr.type != rrtype::SOA || op.rr.rdata.size() < 20)
      continue;
    const auto* p = reinterpret_cast<const uint8_t*>(op.rr.rdata.data() + op.rr.rdata.size() - 20);
    const uint32_t serial =
        uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    if (serial == new_serial && serial_less(old_serial, serial)) return true;
  }
  return false;
}

/// A query for `owner` `type` against `zone` gets an answer: at least a header, the ID
/// echoed, QR set, within the UDP size (fuzz_query checks answers in depth).
void check_answer(const ZonePtr& zone, const std::string& owner, uint16_t type) {
  if (owner.size() > max_name_length) return;
  static ServingState state;
  auto zones = std::make_shared<ZoneSet>();
  zones->zones.push_back(zone);
  state.zones = zones;
  state.has_state = true;
  std::vector<uint8_t> q = {0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), owner.begin(), owner.end());
  const uint16_t qtype = (type >= 128 && type <= 255) || type == rrtype::OPT ? rrtype::A : type;
  q.push_back(uint8_t(qtype >> 8));
  q.push_back(uint8_t(qtype));
  q.push_back(0);
  q.push_back(1);
  static std::vector<uint8_t> out(max_message_size);
  for (Transport t : {Transport::udp, Transport::tcp}) {
    const AnswerResult r = answer(state, q.data(), q.size(), t, out.data(), out.size());
    check(r.what != Disposition::drop, "a query for an updated name was dropped");
    check(r.length >= header_size && r.length <= out.size(), "answer length");
    check(out[0] == 0x12 && out[1] == 0x34 && (out[2] & 0x80), "answer header");
    if (t == Transport::udp) check(r.length <= 512, "UDP answer over 512 bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < header_size) return 0;
  std::vector<uint8_t> msg(data, data + size);
  msg[2] = uint8_t((msg[2] & 0x07) | (opcode::UPDATE << 3));   // QR clear, opcode UPDATE
  (void)make_update_reply(msg.data(), msg.size(), rcode::FORMERR);
  // The input's tail offered as an OPT: taken only when it is one.
  const std::size_t tail = size > 11 ? 11 + data[0] % (size - 11) : 0;
  (void)make_update_reply(msg.data(), msg.size(), rcode::BADVERS, data + tail, size - tail);

  const ZoneSet& zones = zone_set();
  Update u;
  const std::string_view key_name("\3key\0", 5);
  if (parse_update(msg.data(), msg.size(), zones, u, key_name) != rcode::NOERROR) return 0;

  // The log form.
  const std::string log_form = encode(u);
  check(encode(u) == log_form, "encode is not deterministic");
  Update decoded;
  check(decode(log_form, decoded), "decode rejected what encode made");
  check(decoded == u, "decode(encode(u)) != u");

  const ZonePtr& zone = zones.zones.front();
  const uint32_t old_serial = zone->serial();
  const UpdateResult r = apply_update(zone, u);
  check(r.zone != nullptr, "apply returned no zone");
  // The op-batch form: the same rcode and change; unchanged, the editor is as it was.
  ZoneEditor ed(zone);
  const EditResult e = apply_update(ed, u);
  check(e.rcode == r.rcode && e.changed == r.changed, "batch form: another result");
  const ZonePtr batch_zone = ed.finish();
  if (!r.changed) {
    check(r.zone == zone, "an unchanged zone is a new snapshot");
    check(write_master_file(*batch_zone) == write_master_file(*zone),
          "batch form: an unchanged zone changed");
    return 0;
  }
  check(r.rcode == rcode::NOERROR, "changed, but not NOERROR");
  const uint32_t new_serial = r.zone->serial();
  check(new_serial == serial_next(old_serial) || raises_serial_itself(u, old_serial, new_serial),
        "the serial did not go up by one");
  try {
    validate_zone(*r.zone, "fuzz");
  } catch (const ZoneError&) {
    fail("an UPDATE made an invalid zone");
  }

  const std::string text = write_master_file(*r.zone);
  check(write_master_file(*batch_zone) == text, "batch form: another zone");
  // The same UPDATE twice in one batch (one editor, the second after the first was kept)
  // equals applying it twice in a row.
  ZoneEditor twice(zone);
  (void)apply_update(twice, u);
  const EditResult e2 = apply_update(twice, u);
  const UpdateResult r2 = apply_update(r.zone, u);
  check(e2.rcode == r2.rcode && e2.changed == r2.changed, "batch of two: another result");
  check(write_master_file(*twice.finish()) == write_master_file(*r2.zone),
        "batch of two: another zone");

  // The checkpoint loads again, as the same zone.
  ZonePtr reread;
  try {
    reread = read_master_file(text, "fuzz checkpoint");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_update: %s\n", e.what());
    fail("the checkpoint of an updated zone does not load");
  }
  check(write_master_file(*reread) == text, "the checkpoint does not read back the same");

  for (const auto& op : u.updates) check_answer(r.zone, op.rr.owner, op.rr.type);
  return 0;
}
