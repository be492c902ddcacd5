// taxon inside a LibTorch trainer. Compile a rule file once; then, for a
// torch::nn::Module (or a TorchScript module):
//   - assign(): named parameter groups (per-tensor options such as layer-wise
//     decay split a group), and `freeze` rules applied (requires_grad off);
//   - optimizer_groups<torch::optim::AdamWOptions>(defaults): the groups as
//     torch::optim param groups, each with its lr and weight decay;
//   - load(): a checkpoint through one of the file's plans into the module,
//     in place, with the report `taxon apply` gives.
// Link taxon::trainer (find_package(taxon)); only this header needs LibTorch.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "engine/evaluate.hpp"
#include "engine/plans/plan.hpp"
#include "engine/tensor_table.hpp"

namespace taxon {

// The rules, a plan or a load could not be used: the message holds the
// rendered diagnostics (file, line, caret, hint).
class TrainerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One parameter group, ready for an optimizer.
struct TrainerGroup {
  std::string name;  // the rule's; "blocks[lr_mult=0.5625]" when per-tensor options split it
  std::vector<std::string> names;
  std::vector<torch::Tensor> parameters;
  std::vector<GroupOption> options;  // lr, lr_mult, weight_decay, ... as the rules give them
  bool is_default = false;
};

struct TrainerGroups {
  std::vector<TrainerGroup> groups;     // in the file's order, the default group last
  std::vector<std::string> frozen;      // what `freeze` rules froze
  std::vector<std::string> selections;  // (name: tensors) of `select` rules, e.g. GradNorm exclusions
  std::vector<std::vector<std::string>> selected;
  Diagnostics diagnostics;              // warnings from evaluation (overlaps, groups matching nothing)

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

// What load() did: the plan's report (renamed, dropped, skipped, missing,
// unexpected, ...) and how many tensors were copied into the module.
struct LoadReport {
  PlanResult plan;
  std::size_t loaded = 0;
};

class TrainerRules {
 public:
  // Reads and compiles a rule file (.tx or .yaml). Throws TrainerError.
  explicit TrainerRules(const std::string& rule_file);
  ~TrainerRules();
  TrainerRules(TrainerRules&&) noexcept;

  // The module as rules see it: every parameter and buffer (ties marked),
  // the owning module's class (LinearImpl is "Linear"), requires_grad.
  static TensorTable describe(torch::nn::Module& module);
  static TensorTable describe(const torch::jit::Module& module);

  // Evaluates the rules on the module, freezes what `freeze` names, and
  // returns the groups. Throws TrainerError on an error-level finding.
  TrainerGroups assign(torch::nn::Module& module) const;
  TrainerGroups assign(torch::jit::Module& module) const;

  // Runs `plan` (the file's only plan when empty) over the checkpoints
  // (merged in order) with the module as the target, and copies the result
  // into the module's parameters and buffers in place. Throws TrainerError
  // when the plan fails, or a strict load would (nothing is copied then).
  LoadReport load(torch::nn::Module& module, const std::vector<std::string>& checkpoints, const std::string& plan = {}) const;

  // The report as `taxon apply` words it, for logs.
  static std::string describe(const LoadReport& report);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taxon
