#include "actors/vr_completion.hpp"

#include <utility>

namespace vrdns::actors {

vr_completion::vr_completion(function fn) {
  if (fn)
    once_ = std::make_shared<once>(std::move(fn));
}

vr_completion::operator bool() const {
  return once_ && once_->fn;
}

void vr_completion::operator()(const std::string* result) const {
  if (!*this)
    return;
  // Spent before it runs: a callback that drops the last copy must not run itself again.
  auto fn = std::exchange(once_->fn, nullptr);
  fn(result);
}

vr_completion::once::~once() {
  if (!fn)
    return;
  // A destructor must not throw; the callback's own failure to answer is all that is lost.
  try {
    fn(nullptr);
  } catch (...) {
  }
}

} // namespace vrdns::actors
