#include "dns/zone_transfer.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "dns/record.hpp"
#include "dns/rr_writer.hpp"
#include "dns/wire_writer.hpp"

namespace vrdns::dns {

namespace {

constexpr uint16_t opt_udp_size = 1232;

uint16_t rdata_length_at(const RRset& rrset, std::size_t offset) {
  const auto* p = reinterpret_cast<const uint8_t*>(rrset.rdatas.data()) + offset;
  return uint16_t((p[0] << 8) | p[1]);
}

}  // namespace

ZoneTransferWriter::ZoneTransferWriter(ZonePtr zone, TransferQuestion question, bool soa_only)
    : zone_(std::move(zone)), question_(std::move(question)), soa_only_(soa_only) {
  assert(zone_);
  if (soa_only_) return;
  nodes_.reserve(zone_->node_count());
  const Node* apex = &zone_->apex_node();
  nodes_.push_back(apex);
  zone_->for_each_node([&](const Node& n) {
    if (&n != apex && !n.rrsets.empty()) nodes_.push_back(&n);
  });
}

ZoneTransferWriter::ZoneTransferWriter(ZonePtr zone, ZonePtr older, TransferQuestion question)
    : zone_(std::move(zone)), older_(std::move(older)), question_(std::move(question)),
      soa_only_(false) {
  assert(zone_ && older_);
  zone_->for_each_difference(*older_, [&](bool added, const Node& n, const RRset& rs,
                                          std::string_view rdata) {
    (added ? added_ : removed_).push_back(Item{&n, &rs, rdata});
  });
}

void ZoneTransferWriter::settle_body() {
  while (node_ < nodes_.size()) {
    const Node& n = *nodes_[node_];
    while (rrset_ < n.rrsets.size()) {
      const RRset& r = n.rrsets[rrset_];
      // The apex SOA opens and closes the transfer; it is not part of the body.
      if (record_ < r.count && !(node_ == 0 && r.type == rrtype::SOA)) return;
      ++rrset_;
      record_ = 0;
      rdata_offset_ = 0;
    }
    ++node_;
    rrset_ = 0;
  }
  stage_ = Stage::last_soa;
}

bool ZoneTransferWriter::put_current(WireWriter& w) {
  const std::size_t mark = w.size();
  if (stage_ == Stage::first_soa || stage_ == Stage::new_soa || stage_ == Stage::last_soa) {
    put_rrset(w, zone_->apex(), zone_->soa(), rrclass::IN, zone_->soa().ttl);
  } else if (stage_ == Stage::old_soa) {
    put_rrset(w, older_->apex(), older_->soa(), rrclass::IN, older_->soa().ttl);
  } else if (stage_ == Stage::removals || stage_ == Stage::additions) {
    const Item& it = (stage_ == Stage::removals ? removed_ : added_)[item_];
    put_record(w, it.node->owner, it.rrset->type, rrclass::IN, it.rrset->ttl, it.rdata);
  } else {
    const Node& n = *nodes_[node_];
    const RRset& r = n.rrsets[rrset_];
    const uint16_t len = rdata_length_at(r, rdata_offset_);
    put_record(w, n.owner, r.type, rrclass::IN, r.ttl,
               std::string_view(r.rdatas.data() + rdata_offset_ + 2, len));
  }
  if (w.ok()) return true;
  w.rollback(mark);
  return false;
}

void ZoneTransferWriter::advance() {
  switch (stage_) {
    case Stage::first_soa:
      if (soa_only_) {
        stage_ = Stage::done;
        return;
      }
      if (older_) {
        stage_ = Stage::old_soa;
        return;
      }
      stage_ = Stage::body;
      settle_body();
      return;
    case Stage::old_soa:
      item_ = 0;
      stage_ = removed_.empty() ? Stage::new_soa : Stage::removals;
      return;
    case Stage::removals:
      if (++item_ == removed_.size()) stage_ = Stage::new_soa;
      return;
    case Stage::new_soa:
      item_ = 0;
      stage_ = added_.empty() ? Stage::last_soa : Stage::additions;
      return;
    case Stage::additions:
      if (++item_ == added_.size()) stage_ = Stage::last_soa;
      return;
    case Stage::body: {
      const RRset& r = nodes_[node_]->rrsets[rrset_];
      rdata_offset_ += 2 + rdata_length_at(r, rdata_offset_);
      ++record_;
      settle_body();
      return;
    }
    case Stage::last_soa:
      stage_ = Stage::done;
      return;
    case Stage::done:
      return;
  }
}

std::size_t ZoneTransferWriter::next(uint8_t* out, std::size_t capacity) {
  if (stage_ == Stage::done) return 0;
  capacity = std::min<std::size_t>(capacity, 65535);
  const std::size_t reserve = question_.edns ? opt_rr_size : 0;
  WireWriter w(out, capacity);
  w.set_limit(capacity > reserve ? capacity - reserve : 0);
  w.put_u16(question_.id);
  w.put_u8(uint8_t(0x80 | 0x04 | (question_.rd ? 0x01 : 0)));   // QR, opcode QUERY, AA
  w.put_u8(0);                                                   // NOERROR
  for (int i = 0; i < 4; ++i) w.put_u16(0);                      // counts, patched below
  // RFC 5936 §2.2.1: the question is copied into the first message; later ones may carry it
  // too, which every client accepts, and which keeps each message self-describing.
  w.put_name(question_.qname, true);
  w.put_u16(question_.qtype);
  w.put_u16(question_.qclass);
  if (!w.ok()) {
    failed_ = true;
    stage_ = Stage::done;
    return 0;
  }
  uint16_t answers = 0;
  while (stage_ != Stage::done && answers < 0xffff) {
    if (!put_current(w)) break;
    ++answers;
    advance();
  }
  if (answers == 0) {   // one record larger than a whole message: cannot be sent
    failed_ = true;
    stage_ = Stage::done;
    return 0;
  }
  uint16_t additional = 0;
  w.set_limit(capacity);
  if (question_.edns) {
    put_opt(w, opt_udp_size, 0, false);
    ++additional;
  }
  assert(w.ok());
  w.patch_u16(4, 1);
  w.patch_u16(6, answers);
  w.patch_u16(10, additional);
  ++messages_;
  records_ += answers;
  return w.size();
}

}  // namespace vrdns::dns
