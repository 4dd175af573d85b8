#include "tests/sim/kv_machine.hpp"

#include <sstream>

namespace vrdns::sim {

std::string kv_machine::execute(const std::string& op) {
  if (!executed_.insert(op).second && duplicate_.empty())
    duplicate_ = op;
  std::istringstream in(op);
  std::string verb, key, arg;
  in >> verb >> key >> arg;
  if (verb == "put") {
    data_[key] = arg;
    return "ok";
  }
  if (verb == "get") {
    auto it = data_.find(key);
    return it == data_.end() ? std::string() : it->second;
  }
  return "error: unknown op";
}

// Format: one "key value" per line. Keys and values never contain blanks (the simulator's ops).
std::string kv_machine::snapshot() const {
  std::string out;
  for (const auto& [k, v] : data_)
    out += k + " " + v + "\n";
  return out;
}

void kv_machine::restore(const std::string& snapshot) {
  data_.clear();
  std::istringstream in(snapshot);
  std::string k, v;
  while (in >> k >> v)
    data_[k] = v;
}

} // namespace vrdns::sim
