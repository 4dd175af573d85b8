// Writes the seeds of fuzz_decode into the directory given: one valid encoding of each thing
// it decodes (the UPDATEs of corpus_update/seed-* as log operations, their request and reply
// forms, a zone addition and removal, an op batch of them, a WAL payload, a client table, a
// checkpoint blob and meta, a view-state copy), and for the two behind a CRC32C also the bytes
// without it (fuzz_decode appends one). Build target make_decode_seeds; run it with
// tests/fuzz/corpus_decode after a format changes. Files are named seed-*; others are left.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/update.hpp"
#include "dns/update_request.hpp"
#include "dns/zone.hpp"
#include "dns/zone_add.hpp"
#include "dns/zone_control.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/op_batch.hpp"
#include "storage/checkpoint_store.hpp"
#include "storage/replica_store.hpp"
#include "storage/view_state.hpp"

using namespace vrdns;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  fs::create_directories(out);
  int written = 0;
  auto write = [&](const std::string& name, std::string_view bytes) {
    std::ofstream f(out / ("seed-" + name), std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
    ++written;
  };

  dns::ZoneSet zones;
  zones.zones.push_back(dns::load_zone_file(VRDNS_SOURCE_DIR "/configs/example.test.zone",
                                            "example.test."));
  std::vector<std::string> ops;
  for (const auto& entry : fs::directory_iterator(VRDNS_SOURCE_DIR "/tests/fuzz/corpus_update")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("seed-", 0) != 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> msg((std::istreambuf_iterator<char>(in)), {});
    dns::Update u;
    if (dns::parse_update(msg.data(), msg.size(), zones, u, std::string_view("\3key\0", 5)) != 0)
      continue;
    const std::string update = dns::encode(u);
    write("update-" + name.substr(5), update);
    dns::UpdateRequest r;
    r.client.address = std::string("\x7f\0\0\1", 4);
    r.client.port = 5353;
    r.client.dns_id = 0x4242;
    r.client.key_name = u.key_name;
    r.client.message_hash = dns::request_hash(msg.data(), msg.size());
    r.receive_time_ms = 1764000000000;
    r.update = update;
    write("request-" + name.substr(5), dns::encode(r));
    if (ops.size() < 3) ops.push_back(dns::encode(r));
  }
  write("reply", dns::encode(dns::UpdateReply{5}));
  const std::string apex = *dns::name_from_text("example.test.");
  dns::AddZoneRequest add;
  add.apex = apex;
  add.master_file = "$ORIGIN example.test.\n; end of zone, 0 records\n";
  write("add-zone", dns::encode(add));
  write("remove-zone",
        dns::encode(dns::ZoneControlRequest{dns::ZoneControlRequest::Action::remove, apex}));
  ops.push_back(dns::encode(add));
  write("op-batch", protocol::encode_op_batch(std::vector<std::string_view>(ops.begin(), ops.end())));
  write("log-entry", storage::encode_log_entry(protocol::log_entry{42, 7, ops.front()}));

  std::map<std::uint64_t, protocol::client_record> table;
  table[1] = {3, dns::encode(dns::UpdateReply{0}), 10};
  table[99] = {1, "", 0};
  const std::string client_table = protocol::encode_client_table(table);
  write("client-table", client_table);
  protocol::checkpoint c;
  c.op_number = 120;
  c.view_number = 3;
  c.parts = {{"clients", client_table}, {"zone-example.test", add.master_file}};
  const std::string blob = protocol::encode_checkpoint(c);
  write("checkpoint", blob);
  write("checkpoint-without-crc", std::string_view(blob).substr(0, blob.size() - 4));
  storage::checkpoint_meta meta;
  meta.op_number = 120;
  meta.view_number = 3;
  meta.parts = {{"clients", client_table.size(), 0x12345678}, {"zone-example.test", 50, 1}};
  const std::string meta_bytes = storage::encode_checkpoint_meta(meta);
  write("checkpoint-meta", meta_bytes);
  write("checkpoint-meta-without-crc",
        std::string_view(meta_bytes).substr(0, meta_bytes.size() - 4));
  storage::view_state vs;
  vs.replica_number = 1;
  vs.cluster_id = 0xABCDEF;
  vs.view_number = 4;
  vs.last_normal_view = 3;
  vs.commit_number = 118;
  write("view-state", storage::encode_view_state_copy(vs, 9));
  std::printf("wrote %d seeds to %s\n", written, out.c_str());
  return 0;
}
