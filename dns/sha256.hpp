// SHA-256 for state that must be identical on every replica (dedupe keys, checkpoint part
// names). Throws std::runtime_error if OpenSSL cannot provide it: replicas must never guess.
#pragma once

#include <array>
#include <string_view>

namespace vrdns::dns {

std::array<unsigned char, 32> sha256(std::string_view in);

}  // namespace vrdns::dns
