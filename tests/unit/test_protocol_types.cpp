// Every VR message type must survive CAF's binary serialization, which is what crosses nodes.
// Local sends work without registration, so only this kind of test catches a type missing from
// add_vr_message_types (stack-notes §2.2: the remote side would silently receive `()`).
#define BOOST_TEST_MODULE test_protocol_types
#include <boost/test/unit_test.hpp>

#include "actors/vr_types.hpp"
#include "protocol/messages.hpp"

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

using namespace vrdns::protocol;

namespace {

const std::vector<log_entry> sample_log{{7, 1, "put a 1"}, {8, 3, std::string("\0bin\xff", 5)}};

struct registered_system {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  static caf::actor_system_config& prepare(caf::actor_system_config& c, bool register_types) {
    if (register_types)
      vrdns::actors::add_vr_message_types(c);
    return c;
  }
  explicit registered_system(bool register_types = true)
    : sys(prepare(cfg, register_types)) {}
};

// Serializes `x` as a message and reads it back; returns the deserialized message (empty on
// failure).
template <class T>
caf::message round_trip(caf::actor_system& sys, const T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto msg = caf::make_message(x);
  if (auto err = sink(msg))
    return {};
  caf::binary_deserializer source{sys, buf};
  caf::message out;
  if (auto err = source(out))
    return {};
  return out;
}

template <class T>
void check_round_trip(caf::actor_system& sys, const T& x) {
  auto out = round_trip(sys, x);
  BOOST_REQUIRE_MESSAGE(out.template match_elements<T>(), "type did not round-trip: " << caf::deep_to_string(x));
  BOOST_TEST(caf::deep_to_string(out.template get_as<T>(0)) == caf::deep_to_string(x));
}

} // namespace

BOOST_AUTO_TEST_CASE(every_message_type_round_trips) {
  registered_system s;
  auto& sys = s.sys;
  check_round_trip(sys, Request{"put a 1", 7, 3});
  check_round_trip(sys, Prepare{4, 9, 7, sample_log});
  check_round_trip(sys, PrepareOk{4, 9, 2});
  check_round_trip(sys, Commit{4, 8});
  check_round_trip(sys, Reply{4, 7, 3, "ok"});
  check_round_trip(sys, PrimarySuspected{5, 2});
  check_round_trip(sys, StartViewChange{5, 1});
  check_round_trip(sys, DoViewChange{5, 7, sample_log, 4, 9, 8, 1});
  check_round_trip(sys, StartView{5, 7, sample_log, 9, 8});
  check_round_trip(sys, Recovery{2, 0xdeadbeefcafeull});
  check_round_trip(sys, RecoveryResponse{5, 0xdeadbeefcafeull, true, 7, sample_log, 9, 8, 0, true});
  check_round_trip(sys, GetState{5, 1, 2});
  check_round_trip(sys, NewState{5, 1, {sample_log[1]}, 2, 1});
  check_round_trip(sys, GetCheckpoint{1234, 1u << 20, 2});
  check_round_trip(sys, CheckpointChunk{1234, 5000000, 0xfeedbeef, 1u << 20,
                                        std::string("\0chunk\xff", 7), 1});
  BOOST_TEST(vrdns::actors::vr_message_type_names().size() == 15u);
}

BOOST_AUTO_TEST_CASE(every_registered_name_is_known_to_the_actor_system) {
  registered_system s;
  for (const auto& name : vrdns::actors::vr_message_type_names())
    BOOST_TEST(static_cast<bool>(s.sys.types().make_value(name)), name);
}

// Negative control: without registration the same round trip fails, so the test above can fail.
BOOST_AUTO_TEST_CASE(unregistered_types_do_not_round_trip) {
  registered_system s(false);
  auto out = round_trip(s.sys, Commit{4, 8});
  BOOST_TEST(!out.match_elements<Commit>());
}
