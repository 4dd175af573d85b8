// libFuzzer entry point for every decoder of bytes a node reads back or receives: the log's
// operations (an UPDATE, its request and reply, a zone addition or removal, an op batch), a
// WAL entry's payload, a checkpoint blob and its client table, a checkpoint's meta file and a
// view-state copy. Each input goes to every decoder; those behind a CRC32C (the checkpoint
// blob and meta) get it twice, as it is and with a valid CRC appended, so that their parsing
// is reached too. The target aborts unless, whenever a decoder accepts the bytes, what it
// decoded encodes to bytes that decode to the same value and encode to the same bytes again.
// With ASan and UBSan this also checks that no length is used before it is checked.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/crc32c.hpp"
#include "dns/update.hpp"
#include "dns/update_request.hpp"
#include "dns/zone_add.hpp"
#include "dns/zone_control.hpp"
#include "protocol/checkpoint.hpp"
#include "protocol/op_batch.hpp"
#include "storage/checkpoint_store.hpp"
#include "storage/replica_store.hpp"
#include "storage/view_state.hpp"

namespace {

using namespace vrdns;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_decode: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// decode(in, T&) -> bool decoders: accepted bytes round-trip through encode.
template <class T>
void bool_decoder(std::string_view in, const char* what) {
  T value;
  if (!dns::decode(in, value)) return;
  const std::string once = dns::encode(value);
  T again;
  check(dns::decode(once, again), what);
  check(again == value, what);
  check(dns::encode(again) == once, what);
}

// decode(in) -> optional<T> decoders.
template <class Decode, class Encode>
void optional_decoder(std::string_view in, Decode decode, Encode encode, const char* what) {
  const auto value = decode(in);
  if (!value) return;
  const std::string once = encode(*value);
  const auto again = decode(once);
  check(again.has_value(), what);
  check(*again == *value, what);
  check(encode(*again) == once, what);
}

std::string with_crc(std::string_view in) {
  std::string out(in);
  const uint32_t crc = crc32c(in);
  for (int i = 0; i < 4; ++i) out += char(crc >> (8 * i));   // little-endian, as they store it
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  bool_decoder<dns::Update>(in, "Update");
  bool_decoder<dns::UpdateRequest>(in, "UpdateRequest");
  bool_decoder<dns::UpdateReply>(in, "UpdateReply");
  bool_decoder<dns::AddZoneRequest>(in, "AddZoneRequest");
  bool_decoder<dns::ZoneControlRequest>(in, "ZoneControlRequest");

  std::vector<std::string_view> parts;
  if (protocol::decode_op_batch(in, parts)) {
    const std::string once = protocol::encode_op_batch(parts);
    std::vector<std::string_view> again;
    check(protocol::decode_op_batch(once, again) && again == parts, "op batch");
  }

  optional_decoder(in, storage::decode_log_entry, storage::encode_log_entry, "log entry");
  optional_decoder(in, protocol::decode_client_table, protocol::encode_client_table,
                   "client table");
  auto view_state = [](std::string_view b) { return storage::decode_view_state_copy(b); };
  auto view_state_encode = [](const std::pair<storage::view_state, std::uint64_t>& v) {
    return storage::encode_view_state_copy(v.first, v.second);
  };
  optional_decoder(in, view_state, view_state_encode, "view state copy");

  const std::string crc_in = with_crc(in);
  for (std::string_view bytes : {in, std::string_view(crc_in)}) {
    optional_decoder(bytes, protocol::decode_checkpoint, protocol::encode_checkpoint,
                     "checkpoint blob");
    std::string reason;
    auto meta = [&reason](std::string_view b) {
      return storage::decode_checkpoint_meta(b, 64, reason);
    };
    optional_decoder(bytes, meta, storage::encode_checkpoint_meta, "checkpoint meta");
  }
  return 0;
}
