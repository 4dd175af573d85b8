#include "tests/sim/kv_machine.hpp"

#include "protocol/op_batch.hpp"

#include <sstream>
#include <stdexcept>

namespace vrdns::sim {

std::string kv_machine::execute(const std::string& op) {
  if (!protocol::is_op_batch(op))
    return execute_one(op);
  std::vector<std::string_view> parts;
  if (!protocol::decode_op_batch(op, parts))
    return "error: malformed op batch";
  // Results are collected first: encode_op_batch takes views, which must outlive the call.
  std::vector<std::string> results;
  results.reserve(parts.size());
  for (auto part : parts)
    results.push_back(execute_one(std::string(part)));
  return protocol::encode_op_batch(std::vector<std::string_view>(results.begin(), results.end()));
}

std::string kv_machine::execute_one(const std::string& op) {
  // vr_client never nests batches. A nested one is refused before it is recorded: its binary
  // length bytes may hold a newline, which the one-op-per-line "executed" snapshot part cannot.
  if (protocol::is_op_batch(op))
    return "error: nested op batch";
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

namespace {

// One item per line; keys, values and ops never contain a newline (the simulator's ops).
struct frozen_kv final : protocol::frozen_service {
  std::map<std::string, std::string> data;
  std::set<std::string> executed;
  std::vector<protocol::snapshot_part> parts() const override {
    std::string d, e;
    for (const auto& [k, v] : data)
      d += k + " " + v + "\n";
    for (const auto& op : executed)
      e += op + "\n";
    return {{"data", d}, {"executed", e}};
  }
};

} // namespace

std::shared_ptr<const protocol::frozen_service> kv_machine::freeze() const {
  auto f = std::make_shared<frozen_kv>();
  f->data = data_;
  f->executed = executed_;
  return f;
}

void kv_machine::restore(const std::vector<protocol::snapshot_part>& parts) {
  if (parts.size() != 2 || parts[0].name != "data" || parts[1].name != "executed")
    throw std::invalid_argument("kv_machine: expected parts data and executed");
  std::map<std::string, std::string> data;
  std::istringstream in(parts[0].bytes);
  std::string k, v;
  while (in >> k >> v)
    data[k] = v;
  std::set<std::string> executed;
  std::istringstream ops(parts[1].bytes);
  for (std::string op; std::getline(ops, op);)
    executed.insert(op);
  data_ = std::move(data);
  executed_ = std::move(executed);
}

} // namespace vrdns::sim
