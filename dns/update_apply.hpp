// Applying an Update to a zone snapshot: RFC 2136 §3.2 (prerequisites) and §3.4.2 (updates).
//
// A pure function of (snapshot, update): every replica that applies the same log to the
// same zone gets the same zone, byte for byte. Cost is O(size of the update): prerequisites
// are point lookups, updates are ZoneEditor edits that path-copy only what they touch.
// An op batch uses the ZoneEditor overload instead: one editor for all the batch's UPDATEs
// of a zone, each made all or nothing by the editor's undo journal (mark/rollback/keep).
#pragma once

#include <cstdint>

#include "dns/update.hpp"
#include "dns/zone.hpp"

namespace vrdns::dns {

struct UpdateResult {
  ZonePtr zone;         ///< the new snapshot, or the input one when nothing changed / on error
  uint8_t rcode = 0;    ///< NOERROR, or YXDOMAIN/NXDOMAIN/YXRRSET/NXRRSET/NOTAUTH/SERVFAIL
  bool changed = false;
};

/// Checks the prerequisites atomically, then applies the updates in order with the rules
/// of §3.4.2 (never removes the apex SOA or the last apex NS; an SOA replaces the current
/// one only with a newer serial; CNAME and other data never meet; adds and deletes are
/// idempotent). If the zone's records changed and the update did not raise the serial
/// itself, the serial goes up by one (RFC 1982). All or nothing: on any error the input
/// zone comes back unchanged. `u.zone` must be `zone`'s apex (else NOTAUTH).
UpdateResult apply_update(const ZonePtr& zone, const Update& u);

struct EditResult {
  uint8_t rcode = 0;      ///< as UpdateResult::rcode
  bool changed = false;   ///< the records changed (and so did the serial)
};

/// The same UPDATE semantics on a zone still being edited, for an op batch that runs many
/// UPDATEs through one editor and seals it once: prerequisites see `ed`'s current state,
/// "changed" is judged against the state just before this UPDATE, and when the UPDATE does
/// not change the records (failure or no-op) `ed` comes back exactly as it was. Running
/// UPDATEs through this one after the other and then finish() gives the same zone as
/// chaining the ZonePtr overload. Uses `ed`'s mark (must be unmarked on entry).
EditResult apply_update(ZoneEditor& ed, const Update& u);

/// `zone` if its SOA serial is newer than `floor` (RFC 1982), else a copy whose serial is
/// floor + 1: what a readmitted zone gets (dns/zone_control.hpp), so that secondaries that
/// held it before see a newer version. Throws std::invalid_argument without an apex SOA.
ZonePtr with_serial_after(const ZonePtr& zone, uint32_t floor);

}  // namespace vrdns::dns
