// The option keys a parameter group may carry, so that a typo (`wieght_decay`) is caught where
// it is written instead of silently reaching no optimizer.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace taxon {

// What torch.optim's built-in optimizers keep in a param group: torch 1.13's, as
// tests/data/options/torch_optim_keys.json lists them (checked by option_keys_test), and the
// ones later releases added (`decoupled_weight_decay`: Adam and AdamW in 2.x).
inline constexpr std::array<std::string_view, 30> kTorchOptimizerKeys = {
    "alpha",      "amsgrad",        "betas",        "capturable",     "centered",
    "dampening",  "decoupled_weight_decay", "differentiable", "eps", "etas",
    "foreach",    "fused",          "history_size", "initial_accumulator_value", "lambd",
    "line_search_fn", "lr",         "lr_decay",     "max_eval",       "max_iter",
    "maximize",   "momentum",       "momentum_decay", "nesterov",     "rho",
    "step_sizes", "t0",             "tolerance_change", "tolerance_grad", "weight_decay"};

// What taxon, its trainer API and the recipes it reproduces read from a group besides those:
// lr_mult (taxon, mmengine), lr_multiplier, lr_scale (timm), decay_mult (mmengine), the
// optimizer's name, and the group's name (timm and Lightning log it).
inline constexpr std::array<std::string_view, 6> kTaxonOptionKeys = {"lr_mult",    "lr_multiplier", "lr_scale",
                                                                     "decay_mult", "optimizer",     "name"};

// linnaeus reads FILTER and these three from a parameter group (optimizers/build.py) and ignores
// the rest; `taxon convert` writes them as options, in linnaeus's spelling.
inline constexpr std::array<std::string_view, 3> kLinnaeusOptionKeys = {"OPTIMIZER", "WEIGHT_DECAY", "LR_MULTIPLIER"};

// Every key above, for membership and for "did you mean".
inline const std::vector<std::string>& known_option_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out(kTorchOptimizerKeys.begin(), kTorchOptimizerKeys.end());
    out.insert(out.end(), kTaxonOptionKeys.begin(), kTaxonOptionKeys.end());
    out.insert(out.end(), kLinnaeusOptionKeys.begin(), kLinnaeusOptionKeys.end());
    return out;
  }();
  return keys;
}

inline bool known_option_key(std::string_view key) {
  const auto& keys = known_option_keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace taxon
