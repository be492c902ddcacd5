// taxon inside a LibTorch trainer: the rules of include/taxon/taxon.hpp applied
// to a torch::nn::Module (or a TorchScript module) in place.
//
//   taxon::TrainerRules rules("groups.tx");        // read and checked once; throws TrainerError
//   taxon::TrainerGroups groups = rules.assign(*net); // `freeze` rules applied (requires_grad off)
//   torch::optim::AdamW optimizer(groups.optimizer_groups(torch::optim::AdamWOptions(1e-3)),
//                                 torch::optim::AdamWOptions(1e-3));
//   taxon::LoadReport loaded = rules.load(*net, {"ddp.pt"}, "unwrap_ddp");
//   std::cout << taxon::TrainerRules::describe(loaded) << "\n";
//
// assign() gives one group per rule group, split where per-tensor options (layer-wise decay) give
// tensors different values, each with its options (lr, lr_mult, weight_decay). load() runs one of
// the file's plans over checkpoints with the module as the target and copies the result into the
// module's parameters and buffers; the verdict is the one `taxon apply` reaches, so a load PyTorch
// would refuse copies nothing.
//
// Link taxon::trainer (find_package(taxon)); this header and its library need LibTorch, the rest
// of taxon does not.
#pragma once

#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "taxon/taxon.hpp"

namespace taxon {

// The rules, a plan or a load could not be used. what() says why: the rendered findings (file,
// line, caret, hint), or the error a file gave ("error[T0601]: ...").
class TrainerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One parameter group, ready for an optimizer.
struct TrainerGroup {
  std::string name;  // the rule's; "blocks[lr_mult=0.5625]" when per-tensor options split it
  std::vector<std::string> names;
  std::vector<torch::Tensor> parameters;
  std::vector<Setting> options;  // lr, lr_mult, weight_decay, ... as the rules give them for these tensors
  bool is_default = false;
};

struct TrainerGroups {
  std::vector<TrainerGroup> groups;            // in the file's order, the default group last
  std::vector<std::string> frozen;             // what `freeze` rules froze
  std::vector<SelectionReport> selections;     // `select` rules, e.g. GradNorm exclusions
  std::vector<Finding> findings;               // warnings (overlaps, groups matching nothing)

  // The groups with trainable parameters as torch::optim param groups: each
  // starts from `defaults` and takes the group's `lr`, `lr_mult` (times
  // defaults.lr()) and `weight_decay` (also LR_MULTIPLIER / WEIGHT_DECAY, as
  // linnaeus spells them). Options is AdamWOptions, AdamOptions, SGDOptions, ...
  template <typename Options>
  std::vector<torch::optim::OptimizerParamGroup> optimizer_groups(const Options& defaults) const {
    std::vector<torch::optim::OptimizerParamGroup> out;
    for (const auto& group : groups) {
      std::vector<torch::Tensor> trainable;
      for (const auto& parameter : group.parameters)
        if (parameter.requires_grad()) trainable.push_back(parameter);
      if (trainable.empty()) continue;
      Options options = defaults;
      if (auto lr = number(group, {"lr"})) options.lr(*lr);
      if (auto mult = number(group, {"lr_mult", "lr_multiplier"})) options.lr(defaults.lr() * *mult);
      if (auto decay = number(group, {"weight_decay"})) options.weight_decay(*decay);
      out.emplace_back(std::move(trainable), std::make_unique<Options>(options));
    }
    return out;
  }

  // A numeric option of the group, by any of `keys` (compared without case).
  static std::optional<double> number(const TrainerGroup& group, std::initializer_list<std::string_view> keys);
};

// What load() did: the plan's outcome (renamed, dropped, skipped, missing, ...), how many
// tensors were copied into the module, and the report as `taxon apply` prints it.
struct LoadReport {
  PlanOutcome plan;
  std::size_t loaded = 0;
  std::string text;
};

class TrainerRules {
 public:
  // Reads a rule file (.tx or .yaml), or takes rules already loaded. Throws TrainerError
  // when they cannot be read or hold an error.
  explicit TrainerRules(const std::string& rule_file);
  explicit TrainerRules(Rules rules);

  const Rules& rules() const { return rules_; }

  // The module as rules see it: every parameter and buffer (ties marked), each
  // module's class (LinearImpl is "Linear"; a TorchScript __torch__.a.Block is "Block").
  static Model describe(torch::nn::Module& module);
  static Model describe(const torch::jit::Module& module);

  // Evaluates the rules on the module, freezes what `freeze` names, and
  // returns the groups. Throws TrainerError on an error-level finding.
  TrainerGroups assign(torch::nn::Module& module) const;
  TrainerGroups assign(torch::jit::Module& module) const;

  // Runs `plan` (the file's only plan when empty) over the checkpoints (merged in order; the
  // plan's own `from` when none) with the module as the target, and copies the result into the
  // module's parameters and buffers. Throws TrainerError when the plan fails or the load would;
  // every tensor is made and checked before the first copy, so the module is then unchanged.
  LoadReport load(torch::nn::Module& module, const std::vector<std::string>& checkpoints, const std::string& plan = {}) const;

  // One line for logs: "loaded 291 tensors; 291 renamed".
  static std::string describe(const LoadReport& report);

 private:
  Rules rules_;
};

}  // namespace taxon
