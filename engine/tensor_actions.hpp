// The tensor actions a plan's `resize`, `resample` and `transform` steps name:
// which exist, the options each takes, and the shape and dtype each produces.
// The language checks names and options with it; run_plan computes shapes
// with it, so a plan's report is right before a byte moves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir.hpp"

namespace taxon {

struct TensorActionSpec {
  std::string_view name;
  std::vector<std::string_view> options;
  bool library = true;  // runs in libtaxon_actions.so (LibTorch); otherwise taxon moves the bytes itself
  std::string_view summary;
};

const std::vector<TensorActionSpec>& tensor_actions();
const TensorActionSpec* find_tensor_action(std::string_view name);

// What an action makes of one tensor. `target` is the target's shape for
// the same key, when there is a target holding it.
struct ActionOutcome {
  std::vector<int64_t> shape;
  std::string dtype;
  std::vector<int64_t> args;  // transpose: the two dims (non-negative)
  std::string error, hint;    // set when the action cannot apply
  bool needs_target = false;  // the error is that no target shape is known
};
ActionOutcome action_outcome(std::string_view action, const std::vector<GroupOption>& options,
                             const std::vector<int64_t>& shape, const std::string& dtype,
                             const std::vector<int64_t>* target);

// Option lookups shared by the language and the plan runner.
const OptionValue* find_option(const std::vector<GroupOption>& options, std::string_view key);
std::optional<int64_t> int_option(const std::vector<GroupOption>& options, std::string_view key);
std::optional<std::vector<int64_t>> int_list_option(const std::vector<GroupOption>& options, std::string_view key);
std::optional<std::string> string_option(const std::vector<GroupOption>& options, std::string_view key);

}  // namespace taxon
