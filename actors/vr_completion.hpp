// How a vr_submit call is answered: a callback that runs exactly once, even when the call is
// dropped unanswered.
//
// Why it answers by itself: a call's completion lives in a vr_client's state (or in the node's
// vr_submit_queue) until its Reply or its deadline. A client that terminates for any other
// reason (an exception in a handler, a kill at shutdown) destroys its state with the calls in
// it, and a plain callback would then never run: a TCP client would wait for its answer until
// the connection is swept, and the front end would hold the request meanwhile. Here the last
// copy of an uncalled completion answers nullptr (outcome unknown, SERVFAIL for an UPDATE),
// which is the truth: the op may or may not commit later.
//
// Copies share one callback: CAF may copy a message before a handler moves the completion out
// of it, and only the last copy to go may conclude that nobody will call it. Calling one copy
// spends them all.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

namespace vrdns::actors {

class vr_completion {
public:
  /// The result bytes, or nullptr when the outcome is unknown (timed out, or dropped).
  /// Must be cheap and must not block: it runs on whichever thread answers or drops the call.
  using function = std::function<void(const std::string* result)>;

  vr_completion() = default;
  vr_completion(function fn);   // NOLINT(google-explicit-constructor): vr_completion{lambda}

  /// True while the callback has not run yet.
  explicit operator bool() const;

  /// Runs the callback if no copy ran it yet; later calls do nothing. Not thread-safe against a
  /// concurrent call through another copy: one holder at a time answers a call.
  void operator()(const std::string* result) const;

private:
  struct once {
    function fn;
    once(function f) : fn(std::move(f)) {}
    once(const once&) = delete;
    once& operator=(const once&) = delete;
    ~once();   // runs fn(nullptr) if nobody called it
  };
  std::shared_ptr<once> once_;
};

} // namespace vrdns::actors

// Travels only between actors of one process (it holds a callback).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(vrdns::actors::vr_completion)
