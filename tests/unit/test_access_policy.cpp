// app/access_policy: which keys may UPDATE and transfer which zone, from a node config parsed
// as the node reads its file ([update] allow, [transfer] allow and allow_addresses, [[zone]]
// update_allow, transfer_allow and transfer_allow_addresses).
#define BOOST_TEST_MODULE test_access_policy
#include <boost/test/unit_test.hpp>

#include <string>

#include "app/access_policy.hpp"
#include "config/config.hpp"
#include "dns/name.hpp"

using namespace vrdns;

namespace {

const std::string zone_file = std::string(VRDNS_SOURCE_DIR) + "/configs/example.test.zone";

std::string key(const std::string& name) {
  return "[[key]]\nname = \"" + name + "\"\nalgorithm = \"hmac-sha256\"\n"
         "secret = \"uqjV+TYQBrS28PCMsYonX//TMmtt4GFvzp50/uVRovI=\"\n";
}

app::AccessPolicyPtr policy(const std::string& zones, const std::string& transfer_extra = "") {
  const std::string text =
      "[cluster]\nreplicas = [\"127.0.0.1:7301\"]\n[node]\nreplica = 0\ndata_dir = \"/tmp/x\"\n"
      "[dns]\nlisten = [\"127.0.0.1:5301\"]\n" + key("global.") + key("zone-a.") + key("zone-b.") +
      "[update]\nallow = [\"global.\"]\n[transfer]\nallow = [\"global.\"]\n" + transfer_extra +
      zones;
  return app::access_policy_of(
      config::parse_config(text, "/etc/vrdns/node0.toml", config::ZoneFiles::defer));
}

std::string k(const char* text) { return dns::name_key(*dns::name_from_text(text)); }

}  // namespace

BOOST_AUTO_TEST_CASE(zones_without_lists_follow_the_global_ones) {
  const auto p = policy("[[zone]]\nname = \"example.test.\"\nfile = \"" + zone_file + "\"\n");
  BOOST_TEST(p->update_keys(k("example.test.")).find(k("global.")) != nullptr);
  BOOST_TEST(p->update_keys(k("example.test.")).find(k("zone-a.")) == nullptr);
  BOOST_TEST(p->transfer_keys(k("example.test.")).find(k("global.")) != nullptr);
  BOOST_TEST(p->may_update_any(k("global.")));
  BOOST_TEST(!p->may_update_any(k("zone-a.")));
}

BOOST_AUTO_TEST_CASE(a_zone_list_replaces_the_global_one_for_that_zone_only) {
  const auto p = policy("[[zone]]\nname = \"example.test.\"\nfile = \"" + zone_file +
                        "\"\nupdate_allow = [\"zone-a.\"]\ntransfer_allow = [\"zone-b.\"]\n"
                        "[[zone]]\nname = \"Other.TEST.\"\nfile = \"" + zone_file +
                        "\"\nupdate_allow = []\n");
  const auto& upd = p->update_keys(k("example.test."));
  BOOST_TEST(upd.find(k("zone-a.")) != nullptr);
  BOOST_TEST(upd.find(k("global.")) == nullptr);   // not the global list for this zone
  const auto& xfr = p->transfer_keys(k("example.test."));
  BOOST_TEST(xfr.find(k("zone-b.")) != nullptr);
  BOOST_TEST(xfr.find(k("global.")) == nullptr);
  BOOST_TEST(xfr.find(k("zone-a.")) == nullptr);
  // An empty list: nobody may UPDATE that zone (the apex matched without case).
  BOOST_TEST(p->update_keys(k("other.test.")).find(k("global.")) == nullptr);
  BOOST_TEST(p->transfer_keys(k("other.test.")).find(k("global.")) != nullptr);
  // A zone not listed at all: the global lists.
  BOOST_TEST(p->update_keys(k("elsewhere.test.")).find(k("global.")) != nullptr);
  BOOST_TEST(p->may_update_any(k("zone-a.")));
  BOOST_TEST(!p->may_update_any(k("zone-b.")));
}

BOOST_AUTO_TEST_CASE(a_zone_address_list_replaces_the_global_one_for_that_zone_only) {
  const auto p = policy("[[zone]]\nname = \"example.test.\"\nfile = \"" + zone_file +
                            "\"\ntransfer_allow_addresses = [\"198.51.100.7\", \"2001:db8::/32\"]\n"
                            "[[zone]]\nname = \"closed.test.\"\nfile = \"" + zone_file +
                            "\"\ntransfer_allow_addresses = []\n",
                        "allow_addresses = [\"192.0.2.0/24\"]\n");
  const auto& own = p->transfer_addresses_of(k("example.test."));
  BOOST_REQUIRE_EQUAL(own.size(), 2u);
  BOOST_TEST(own[0].to_string() == "198.51.100.7/32");
  BOOST_TEST(p->transfer_addresses_of(k("closed.test.")).empty());
  BOOST_REQUIRE_EQUAL(p->transfer_addresses_of(k("elsewhere.test.")).size(), 1u);
  BOOST_TEST(p->transfer_addresses_of(k("elsewhere.test."))[0].to_string() == "192.0.2.0/24");
  // The keys of that zone are still the global ones.
  BOOST_TEST(p->transfer_keys(k("example.test.")).find(k("global.")) != nullptr);
}

BOOST_AUTO_TEST_CASE(a_zone_list_names_configured_keys_only) {
  try {
    policy("[[zone]]\nname = \"example.test.\"\nfile = \"" + zone_file +
           "\"\nupdate_allow = [\"nokey.\"]\n");
    BOOST_FAIL("an unknown key was accepted");
  } catch (const config::ConfigError& e) {
    BOOST_TEST(e.key == "zone[0].update_allow");
    BOOST_TEST(std::string(e.what()).find("no [[key]] named \"nokey.\"") != std::string::npos);
  }
}
