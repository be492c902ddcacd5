// The trainer API (include/taxon/trainer.hpp): LibTorch modules described as
// taxon Models, and the public API's evaluate() and plan_application() applied
// to them in place. Nothing here reaches past include/taxon/ but the dtype table.
#include "taxon/trainer.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "runtime/aten_dtype.hpp"

namespace taxon {
namespace {

// LibTorch's class names: "torch::nn::LinearImpl" -> "Linear", "my::Block" -> "Block".
std::string short_type(std::string name) {
  if (auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

std::string parent_path(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

// Every tensor of a module in the order rules see them: parameters, then buffers (ties included).
struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
  bool is_parameter;
};

std::vector<NamedTensor> named_tensors(torch::nn::Module& module) {
  std::vector<NamedTensor> out;
  for (const auto& item : module.named_parameters()) out.push_back({item.key(), item.value(), true});
  for (const auto& item : module.named_buffers()) out.push_back({item.key(), item.value(), false});
  return out;
}

std::vector<NamedTensor> named_tensors(const torch::jit::Module& module) {
  std::vector<NamedTensor> out;
  for (const auto& item : module.named_parameters()) out.push_back({item.name, item.value, true});
  for (const auto& item : module.named_buffers()) out.push_back({item.name, item.value, false});
  return out;
}

// The model rules see: the tensors with their owners' classes (by module path), ties marked.
Model model_of(const std::vector<NamedTensor>& tensors, std::vector<ModelModule> modules, std::string name) {
  std::map<std::string, std::string> types;
  for (const auto& module : modules) types.emplace(module.path, module.type);
  std::unordered_map<const void*, std::string> first;  // TensorImpl -> the first name it had
  std::vector<ModelTensor> out;
  for (const auto& item : tensors) {
    ModelTensor tensor;
    tensor.name = item.name;
    tensor.shape = item.tensor.sizes().vec();
    tensor.dtype = aten_dtype_name(item.tensor.scalar_type());
    tensor.kind = item.is_parameter ? "parameter" : "buffer";
    tensor.module = parent_path(item.name);
    if (auto found = types.find(tensor.module); found != types.end()) tensor.module_type = found->second;
    tensor.requires_grad = item.is_parameter && item.tensor.requires_grad();
    auto [found, inserted] = first.emplace(item.tensor.unsafeGetTensorImpl(), item.name);
    if (!inserted) tensor.tied_to = found->second;
    out.push_back(std::move(tensor));
  }
  return Model(std::move(out), std::move(name), std::move(modules));
}

Rules checked(Rules rules) {
  if (!rules.ok()) throw TrainerError(render_findings(rules.findings(), 10));
  return rules;
}

Rules read_rules(const std::string& path) {
  try {
    return Rules::load(path);
  } catch (const Error& error) {
    throw TrainerError(fmt::format("error[{}]: {}", error.code(), error.what()));
  }
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("({})", fmt::join(shape, ", ")); }

// Groups for a module whose tensors are `tensors` (parameters and buffers); freezes by rule.
TrainerGroups assign_groups(const Rules& rules, const Model& model, const std::vector<NamedTensor>& tensors) {
  Report report = evaluate(rules, model);
  if (report.has_errors()) throw TrainerError("the rules cannot be evaluated on this module:\n" + render_findings(report.findings, 10));
  std::unordered_map<std::string, torch::Tensor> by_name;  // handles: freezing one freezes the module's
  for (const auto& item : tensors) by_name.emplace(item.name, item.tensor);
  TrainerGroups out;
  out.findings = report.findings;
  for (auto& selection : report.selections) {
    if (!selection.freezes) {
      out.selections.push_back(std::move(selection));
      continue;
    }
    for (const auto& name : selection.tensors)
      if (const torch::Tensor& tensor = by_name.at(name); tensor.requires_grad()) tensor.requires_grad_(false);
    out.frozen.insert(out.frozen.end(), selection.tensors.begin(), selection.tensors.end());
  }
  for (const auto& group : report.groups) {
    // Per-tensor values (layer-wise decay) split the group: one optimizer group per distinct value set.
    std::map<std::string, TrainerGroup> parts;
    std::vector<std::string> order;
    for (std::size_t k = 0; k < group.tensors.size(); ++k) {
      std::vector<Setting> options = group.options;
      std::string suffix;
      if (k < group.per_tensor.size())
        for (const auto& value : group.per_tensor[k]) {
          options.push_back(value);
          suffix += fmt::format("{}{}={}", suffix.empty() ? "" : ",", value.name,
                                value.number ? fmt::format("{:.6g}", *value.number) : "null");
        }
      std::string name = suffix.empty() ? group.name : fmt::format("{}[{}]", group.name, suffix);
      auto [part, inserted] = parts.try_emplace(name, TrainerGroup{name, {}, {}, std::move(options), group.is_default});
      if (inserted) order.push_back(name);
      part->second.names.push_back(group.tensors[k]);
      part->second.parameters.push_back(by_name.at(group.tensors[k]));
    }
    if (order.empty()) out.groups.push_back(TrainerGroup{group.name, {}, {}, group.options, group.is_default});
    for (const auto& name : order) out.groups.push_back(std::move(parts.at(name)));
  }
  return out;
}

}  // namespace

std::optional<double> TrainerGroups::number(const TrainerGroup& group, std::initializer_list<std::string_view> keys) {
  for (const auto& option : group.options) {
    std::string key = option.name;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (option.number && std::find(keys.begin(), keys.end(), key) != keys.end()) return option.number;
  }
  return std::nullopt;
}

TrainerRules::TrainerRules(const std::string& rule_file) : rules_(checked(read_rules(rule_file))) {}
TrainerRules::TrainerRules(Rules rules) : rules_(checked(std::move(rules))) {}

Model TrainerRules::describe(torch::nn::Module& module) {
  // Module classes by path, walking children depth first (no shared_ptr to the root needed).
  std::vector<ModelModule> modules;
  std::vector<std::pair<std::string, torch::nn::Module*>> stack{{"", &module}};
  while (!stack.empty()) {
    auto [path, current] = stack.back();
    stack.pop_back();
    modules.push_back({path, short_type(current->name())});
    auto children = current->named_children();
    for (auto it = children.end(); it != children.begin();) {
      --it;
      stack.emplace_back(path.empty() ? it->key() : path + "." + it->key(), it->value().get());
    }
  }
  return model_of(named_tensors(module), std::move(modules), short_type(module.name()));
}

Model TrainerRules::describe(const torch::jit::Module& module) {
  std::vector<ModelModule> modules;
  for (const auto& item : module.named_modules()) {
    auto qualified = item.value.type()->name();
    modules.push_back({item.name, qualified ? qualified->name() : ""});  // __torch__.models.Block -> Block
  }
  std::string name = modules.empty() ? "" : modules.front().type;
  return model_of(named_tensors(module), std::move(modules), std::move(name));
}

TrainerGroups TrainerRules::assign(torch::nn::Module& module) const {
  return assign_groups(rules_, describe(module), named_tensors(module));
}

TrainerGroups TrainerRules::assign(torch::jit::Module& module) const {
  return assign_groups(rules_, describe(module), named_tensors(module));
}

LoadReport TrainerRules::load(torch::nn::Module& module, const std::vector<std::string>& checkpoints, const std::string& plan) const {
  ApplyOptions options;
  options.plan = plan;
  options.checkpoints = checkpoints;
  options.target = describe(module);
  options.target_name = "the module";
  std::map<std::string, torch::Tensor, std::less<>> destination;  // looked up by the views' names
  for (auto& item : named_tensors(module)) destination.emplace(std::move(item.name), std::move(item.tensor));
  try {
    Application application = plan_application(rules_, options);
    if (!application.ok()) throw TrainerError(render_findings(application.findings(), 10));
    LoadReport report;
    report.plan = application.outcome();
    report.text = application.text();
    if (application.load_fails()) {
      const PlanOutcome& outcome = report.plan;
      std::string details;
      if (!outcome.mismatched.empty()) {
        std::vector<std::string> shapes;
        for (const auto& m : outcome.mismatched)
          shapes.push_back(fmt::format("{} {} vs {}", m.name, shape_text(m.checkpoint_shape), shape_text(m.target_shape)));
        details += fmt::format("; shape mismatch: {}", fmt::join(shapes, ", "));
      }
      if (!outcome.missing.empty()) details += fmt::format("; missing: {}", fmt::join(outcome.missing, ", "));
      if (!outcome.unexpected.empty()) details += fmt::format("; unexpected: {}", fmt::join(outcome.unexpected, ", "));
      throw TrainerError(fmt::format("{}{}; nothing was loaded ({})", fmt::join(application.reasons(), "; "), details,
                                     application.hint()));
    }
    // Everything is made and checked before the first copy: a failure leaves the module as it was.
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
    application.for_each_tensor(
        [&](const TensorView& made) {
          std::string name(made.name);
          const torch::Tensor& into = destination.find(name)->second;  // `wanted` let only these through
          auto type = aten_scalar_type(made.dtype);
          if (!type) throw TrainerError(fmt::format("{}: LibTorch has no {} tensors", name, made.dtype));
          std::vector<int64_t> shape(made.shape.begin(), made.shape.end());
          if (into.sizes().vec() != shape)
            throw TrainerError(fmt::format("{} is {} in the checkpoint and {} in the module", name, shape_text(shape),
                                           shape_text(into.sizes().vec())));
          torch::Tensor from = torch::empty(shape, torch::TensorOptions().dtype(*type));
          if (!made.data.empty()) std::memcpy(from.data_ptr(), made.data.data(), made.data.size());
          copies.emplace_back(into, std::move(from));
        },
        [&](std::string_view name) { return destination.contains(name); });  // a non-strict load's unexpected keys stay out
    torch::NoGradGuard no_grad;
    for (auto& [into, from] : copies) into.copy_(from);
    report.loaded = copies.size();
    return report;
  } catch (const Error& error) {
    throw TrainerError(fmt::format("error[{}]: {}", error.code(), error.what()));
  }
}

std::string TrainerRules::describe(const LoadReport& report) {
  const PlanOutcome& plan = report.plan;
  std::string out = fmt::format("loaded {} tensors", report.loaded);
  auto add = [&](std::string_view what, std::size_t count) {
    if (count) out += fmt::format("; {} {}", count, what);
  };
  add("renamed", plan.renamed.size());
  add("copied", plan.copied.size());
  add("tied as in the module", plan.tied.size());
  add("dropped", plan.dropped.size());
  add("made by split/fuse/stack/unstack", plan.made.size());
  add("skipped for shape", plan.skipped.size());
  add("of another shape", plan.mismatched.size());
  add("not in the module", plan.not_in_target.size());
  add("missing", plan.missing.size());
  add("unexpected", plan.unexpected.size());
  return out;
}

}  // namespace taxon
