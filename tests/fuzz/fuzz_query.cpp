// libFuzzer entry point for the query path: any byte string handed to dns::answer() over UDP
// and TCP must produce either no reply or a well-formed reply that fits, and never crash.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "dns/responder.hpp"
#include "dns/zone.hpp"

namespace {

const vrdns::dns::ServingState& serving_state() {
  static const auto state = [] {
    auto s = std::make_shared<vrdns::dns::ServingState>();
    auto zones = std::make_shared<vrdns::dns::ZoneSet>();
    zones->zones.push_back(vrdns::dns::load_zone_file(
        VRDNS_SOURCE_DIR "/configs/example.test.zone", "example.test."));
    s->zones = zones;
    s->identity = "fuzz";
    s->version = "vrdns fuzz";
    s->status = "replica=0 view=0 status=normal primary=0 op=0 commit=0";
    return s;
  }();
  return *state;
}

void check_reply(const uint8_t* query, size_t size, const vrdns::dns::AnswerResult& r,
                 const uint8_t* out, size_t limit) {
  if (r.what == vrdns::dns::Disposition::drop) return;
  // A reply always carries at least a header that echoes the query's id with QR set.
  if (r.length < 12 || r.length > limit) std::abort();
  if (size >= 2 && std::memcmp(out, query, 2) != 0) std::abort();
  if ((out[2] & 0x80) == 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> out(vrdns::dns::max_message_size);
  const auto& state = serving_state();
  for (auto transport : {vrdns::dns::Transport::udp, vrdns::dns::Transport::tcp}) {
    auto r = vrdns::dns::answer(state, data, size, transport, out.data(), out.size());
    check_reply(data, size, r, out.data(), out.size());
  }
  return 0;
}
