// Runs tensor actions through stdlib's libtaxon_actions.so, loaded with dlopen
// on first use (the only LibTorch in a `taxon` process, and only when needed).
#pragma once

#include <string>
#include <vector>

#include "engine/ir.hpp"
#include "runtime/tensor_data.hpp"

namespace taxon {

// The action's result as a new tensor (owned bytes). `options` are the plan
// step's; throws InputError: T0610 when the library cannot be loaded, T0807 when the action fails.
// Loads the library now, so that a run fails before it reports success when
// the library is missing. Throws InputError (T0610).
void require_actions_library();

TensorData run_action(const std::string& action, const std::vector<GroupOption>& options, const TensorData& input,
                      const std::vector<int64_t>& target_shape);

}  // namespace taxon
