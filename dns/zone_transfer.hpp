// Outgoing zone transfers: the messages of an AXFR (RFC 5936), and of an IXFR (RFC 1995)
// answered with the SOA alone (the client is up to date), with the differences from the
// client's version when that version is still known, or else with the whole zone in AXFR form,
// which RFC 1995 §4 allows.
//
// A transfer reads one immutable zone snapshot (the ZonePtr it holds), so it is consistent
// however many UPDATEs commit meanwhile, and it is written one message at a time into the
// caller's buffer: a TCP worker produces the next message only when the connection has
// drained, so a big zone streams instead of piling up in memory, and the worker goes on
// answering its other connections in between. Pure: no I/O, no TSIG (the caller signs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/zone.hpp"

namespace vrdns::dns {

class WireWriter;

/// What a transfer's messages echo from its request.
struct TransferQuestion {
  uint16_t id = 0;
  bool rd = false;
  std::string qname;   ///< wire form, case as received
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool edns = false;   ///< the request had an OPT: every message gets one
};

class ZoneTransferWriter {
 public:
  /// `soa_only`: one message with the current SOA (an IXFR from a client that has it).
  ZoneTransferWriter(ZonePtr zone, TransferQuestion question, bool soa_only);
  /// An incremental IXFR from `older` (an earlier version of the same zone, the client's) to
  /// `zone`, as one condensed difference sequence (RFC 1995 §4): SOA(zone), SOA(older), the
  /// records only in `older`, SOA(zone), the records only in `zone`, SOA(zone).
  ZoneTransferWriter(ZonePtr zone, ZonePtr older, TransferQuestion question);

  /// Writes the next message into out[0, capacity) (at most 65535 bytes are used) and returns
  /// its length; 0 once the last message was written. Every message holds at least one record;
  /// a record too big for `capacity` even alone makes failed() true and ends the transfer.
  std::size_t next(uint8_t* out, std::size_t capacity);

  bool done() const { return stage_ == Stage::done; }
  bool incremental() const { return older_ != nullptr; }
  std::size_t removed() const { return removed_.size(); }
  std::size_t added() const { return added_.size(); }
  bool failed() const { return failed_; }
  std::size_t messages() const { return messages_; }
  std::size_t records() const { return records_; }
  uint32_t serial() const { return zone_->serial(); }

 private:
  enum class Stage { first_soa, old_soa, removals, new_soa, additions, body, last_soa, done };
  struct Item {   // one record of a difference; points into zone_ or older_
    const Node* node;
    const RRset* rrset;
    std::string_view rdata;
  };
  /// Writes the record at the cursor; false if it did not fit (nothing of it is kept).
  bool put_current(WireWriter& w);
  void advance();
  /// Moves the cursor to the next body record that exists, or to last_soa.
  void settle_body();

  ZonePtr zone_;
  ZonePtr older_;                    // incremental: the client's version
  std::vector<Item> removed_, added_;
  std::size_t item_ = 0;             // cursor in removed_ or added_
  TransferQuestion question_;
  bool soa_only_;
  Stage stage_ = Stage::first_soa;
  std::vector<const Node*> nodes_;   // with data; the apex first (pointers into zone_)
  std::size_t node_ = 0;             // body cursor: node, RRset in it, record in the RRset
  std::size_t rrset_ = 0;
  uint16_t record_ = 0;
  std::size_t rdata_offset_ = 0;     // of record_ in the RRset's rdatas
  bool failed_ = false;
  std::size_t messages_ = 0;
  std::size_t records_ = 0;
};

}  // namespace vrdns::dns
