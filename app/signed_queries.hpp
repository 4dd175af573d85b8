// TSIG for ordinary queries (RFC 8945 §5.2, §5.3): a query signed with one of the node's keys
// gets its answer signed with the same key; a bad signature, an unknown key or a stale time
// gets NOTAUTH with the TSIG error, as for UPDATEs. Queries need no permission: any configured
// key may sign them. This is what lets BIND use a key with `primaries { ... key k; }`: it checks
// the SOA with a signed query before it transfers.
#pragma once

#include <memory>

#include "app/access_policy.hpp"
#include "net/signed_query_hook.hpp"

namespace vrdns::app {

/// `policy` holds the keys (a reload replaces them).
net::SignedQueryHandler make_signed_query_handler(
    std::shared_ptr<const CurrentAccessPolicy> policy);

}  // namespace vrdns::app
