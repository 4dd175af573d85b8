#include "actors/vr_types.hpp"

#include "protocol/messages.hpp"

namespace vrdns::actors {

namespace {

// Registers every VR message type with `cfg` when given one; always returns the wire names, so
// the list of types exists once.
std::vector<std::string> register_vr_types(caf::actor_system_config* cfg) {
  using namespace vrdns::protocol;
  std::vector<std::string> names;
  auto add = [&]<class T>(const char* name, T*) {
    names.emplace_back(name);
    if (cfg)
      cfg->add_message_type<T>(name);
  };
  add("vrdns.Request", static_cast<Request*>(nullptr));
  add("vrdns.Prepare", static_cast<Prepare*>(nullptr));
  add("vrdns.PrepareOk", static_cast<PrepareOk*>(nullptr));
  add("vrdns.Commit", static_cast<Commit*>(nullptr));
  add("vrdns.Reply", static_cast<Reply*>(nullptr));
  add("vrdns.PrimarySuspected", static_cast<PrimarySuspected*>(nullptr));
  add("vrdns.StartViewChange", static_cast<StartViewChange*>(nullptr));
  add("vrdns.DoViewChange", static_cast<DoViewChange*>(nullptr));
  add("vrdns.StartView", static_cast<StartView*>(nullptr));
  add("vrdns.Recovery", static_cast<Recovery*>(nullptr));
  add("vrdns.RecoveryResponse", static_cast<RecoveryResponse*>(nullptr));
  add("vrdns.GetState", static_cast<GetState*>(nullptr));
  add("vrdns.NewState", static_cast<NewState*>(nullptr));
  add("vrdns.GetCheckpoint", static_cast<GetCheckpoint*>(nullptr));
  add("vrdns.CheckpointChunk", static_cast<CheckpointChunk*>(nullptr));
  return names;
}

} // namespace

void add_vr_message_types(caf::actor_system_config& cfg) {
  register_vr_types(&cfg);
}

const std::vector<std::string>& vr_message_type_names() {
  static const std::vector<std::string> names = register_vr_types(nullptr);
  return names;
}

} // namespace vrdns::actors
