// What became of an UPDATE, as far as its client can know (app/update_path.cpp): NOERROR means
// committed; SERVFAIL or silence means unknown (a retransmission or a slow commit may still
// apply it later); any other rcode means it was definitely never applied.
#pragma once

namespace vrdns::chaos {

enum class Outcome { acked, failed, unknown };

inline const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::acked: return "acked";
    case Outcome::failed: return "failed";
    case Outcome::unknown: return "unknown";
  }
  return "?";
}

}  // namespace vrdns::chaos
