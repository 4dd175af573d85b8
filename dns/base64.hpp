// Base64 (RFC 4648 §4, padded), for TSIG secrets in configs and keyrings.
#pragma once

#include <string>
#include <string_view>

namespace vrdns::dns {

/// Decodes standard padded base64 into `out`; false if malformed. Empty input is valid.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace vrdns::dns
