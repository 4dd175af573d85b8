#include "actors/vr_types.hpp"

#include "protocol/messages.hpp"

namespace vrdns::actors {

void add_vr_message_types(caf::actor_system_config& cfg) {
  using namespace vrdns::protocol;
  cfg.add_message_type<Request>("vrdns.Request");
  cfg.add_message_type<Prepare>("vrdns.Prepare");
  cfg.add_message_type<PrepareOk>("vrdns.PrepareOk");
  cfg.add_message_type<Commit>("vrdns.Commit");
  cfg.add_message_type<Reply>("vrdns.Reply");
  cfg.add_message_type<PrimarySuspected>("vrdns.PrimarySuspected");
  cfg.add_message_type<StartViewChange>("vrdns.StartViewChange");
  cfg.add_message_type<DoViewChange>("vrdns.DoViewChange");
  cfg.add_message_type<StartView>("vrdns.StartView");
  cfg.add_message_type<Recovery>("vrdns.Recovery");
  cfg.add_message_type<RecoveryResponse>("vrdns.RecoveryResponse");
  cfg.add_message_type<GetState>("vrdns.GetState");
  cfg.add_message_type<NewState>("vrdns.NewState");
}

const std::vector<std::string>& vr_message_type_names() {
  static const std::vector<std::string> names{
    "vrdns.Request",   "vrdns.Prepare",  "vrdns.PrepareOk",        "vrdns.Commit",
    "vrdns.Reply",     "vrdns.StartViewChange", "vrdns.DoViewChange", "vrdns.StartView",
    "vrdns.Recovery",  "vrdns.RecoveryResponse", "vrdns.GetState",   "vrdns.NewState", "vrdns.PrimarySuspected"};
  return names;
}

} // namespace vrdns::actors
