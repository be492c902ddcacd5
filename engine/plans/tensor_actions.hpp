// The tensor actions a plan's `resize`, `resample` and `transform` steps name:
// which exist, the options each takes (type, values, when required), and the
// shape and dtype each produces. The front ends check options with it when
// rules are read; run_plan computes shapes with it. It knows every condition
// the actions library checks, so a plan that passes here cannot fail there:
// `--dry-run` and the real run reach one verdict.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ir.hpp"

namespace taxon {

enum class ActionOptionType { integer, number, boolean, string, integer_pair, integer_list };

struct ActionOptionSpec {
  std::string_view name;
  ActionOptionType type;
  std::vector<std::string_view> choices = {};  // strings: the values allowed (empty: any)
  int64_t min = std::numeric_limits<int64_t>::min();  // integers and pair items
};

struct TensorActionSpec {
  std::string_view name;
  std::vector<ActionOptionSpec> options;
  bool library = true;  // runs in libtaxon_actions.so (LibTorch); otherwise taxon moves the bytes itself
  std::string_view summary;
};

const std::vector<TensorActionSpec>& tensor_actions();
const TensorActionSpec* find_tensor_action(std::string_view name);

// A problem with an action's options, found without any tensor: an unknown
// key, a wrong type or value, a missing companion option. `key` names the
// option at fault (empty: the step as a whole).
struct OptionProblem {
  std::string key;
  std::string message, hint;
  bool unknown_option = false;  // no such option (T0802), rather than a bad value (T0113)
};
std::vector<OptionProblem> check_action_options(const TensorActionSpec& spec, const std::vector<GroupOption>& options);

// What an action makes of one tensor. `target` is the target's shape for
// the same key, when there is a target holding it.
struct ActionOutcome {
  std::vector<int64_t> shape;
  std::string dtype;
  std::vector<int64_t> args;  // transpose: the two dims (non-negative)
  std::string error, hint;    // set when the action cannot apply
  bool needs_target = false;  // the error is that no target shape is known
  bool unchanged = false;     // the action would give back its input (a resize to the same grid): the step leaves it
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
