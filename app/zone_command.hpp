// `vrdns zone remove|readmit NAME --config FILE [--key KEY] [--server HOST:PORT]`: the
// operator's side of dns/zone_control.hpp. Reads the node's config for where to send (its
// first [dns] listen address unless --server) and which key signs (the first of
// [control] allow unless --key), sends the signed control message over TCP, checks that the
// answer is signed by the node, and says what the cluster did.
#pragma once

#include <string_view>
#include <vector>

namespace vrdns::app {

/// `args` follow "zone". Prints one line (stdout on success, stderr otherwise) and returns
/// the exit status: 0 done, 1 refused or failed, 2 usage error.
int run_zone_command(const std::vector<std::string_view>& args);

}  // namespace vrdns::app
