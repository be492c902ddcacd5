#include "runtime/trainer.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "runtime/aten_dtype.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/input_error.hpp"
#include "runtime/materialize.hpp"
#include "runtime/rules_file.hpp"

namespace taxon {
namespace {

// LibTorch's class names: "torch::nn::LinearImpl" -> "Linear", "my::Block" -> "Block".
std::string short_type(std::string name) {
  if (auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

// A module's tensor as rules see it: the owning module's class, by path.
std::string owner_type(const std::map<std::string, std::string>& types, const std::string& name) {
  auto dot = name.rfind('.');
  auto found = types.find(dot == std::string::npos ? "" : name.substr(0, dot));
  return found == types.end() ? std::string() : found->second;
}

// Records for named tensors, in the order given (parameters, then buffers); ties marked.
struct TableBuilder {
  TensorTable table;
  std::unordered_map<const void*, std::size_t> first;  // TensorImpl -> first record

  void add(const std::string& name, const torch::Tensor& tensor, TensorKind kind, const std::string& module_type) {
    TensorRecord record;
    record.name = name;
    record.shape = tensor.sizes().vec();
    record.dtype = aten_dtype_name(tensor.scalar_type());
    record.kind = kind;
    auto dot = name.rfind('.');
    record.module = dot == std::string::npos ? "" : name.substr(0, dot);
    record.module_type = module_type;
    record.requires_grad = kind == TensorKind::parameter && tensor.requires_grad();
    auto [found, inserted] = first.emplace(tensor.unsafeGetTensorImpl(), table.tensors.size());
    if (!inserted) record.tied_to = found->second;
    table.tensors.push_back(std::move(record));
  }
};

// Every tensor of a module in the table's order: parameters, then buffers (ties included).
struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
  TensorKind kind;
};

std::vector<NamedTensor> named_tensors(torch::nn::Module& module) {
  std::vector<NamedTensor> out;
  for (const auto& item : module.named_parameters()) out.push_back({item.key(), item.value(), TensorKind::parameter});
  for (const auto& item : module.named_buffers()) out.push_back({item.key(), item.value(), TensorKind::buffer});
  return out;
}

std::vector<NamedTensor> named_tensors(const torch::jit::Module& module) {
  std::vector<NamedTensor> out;
  for (const auto& item : module.named_parameters()) out.push_back({item.name, item.value, TensorKind::parameter});
  for (const auto& item : module.named_buffers()) out.push_back({item.name, item.value, TensorKind::buffer});
  return out;
}

std::vector<torch::Tensor> tensors_only(const std::vector<NamedTensor>& named) {
  std::vector<torch::Tensor> out;
  for (const auto& item : named) out.push_back(item.tensor);
  return out;
}

std::string rendered(const Diagnostics& diagnostics) { return render_text(diagnostics.items(), 10); }

}  // namespace

std::optional<double> TrainerGroups::number(const TrainerGroup& group, std::initializer_list<std::string_view> keys) {
  for (const auto& option : group.options) {
    std::string key = option.key;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) continue;
    if (const auto* d = std::get_if<double>(&option.value.value)) return *d;
    if (const auto* i = std::get_if<int64_t>(&option.value.value)) return static_cast<double>(*i);
  }
  return std::nullopt;
}

struct TrainerRules::Impl {
  RuleFile rules;

  // Groups for a table whose rows are `tensors` (parameters and buffers); freezes by rule.
  TrainerGroups assign(const TensorTable& table, const std::vector<torch::Tensor>& tensors) const {
    EvalResult result = evaluate(rules.program, table);
    if (result.diagnostics.has_errors()) throw TrainerError("the rules cannot be evaluated on this module:\n" + rendered(result.diagnostics));
    TrainerGroups out;
    out.diagnostics = result.diagnostics;
    for (std::size_t s = 0; s < result.selections.size(); ++s) {
      const Selection& selection = rules.program.selections[s];
      std::vector<std::string> names;
      for (std::size_t i : result.selections[s].tensors) names.push_back(table.tensors[i].name);
      if (selection.freezes) {
        for (std::size_t i : result.selections[s].tensors)
          if (tensors[i].requires_grad()) tensors[i].requires_grad_(false);
        out.frozen.insert(out.frozen.end(), names.begin(), names.end());
      } else {
        out.selections.push_back(selection.name);
        out.selected.push_back(std::move(names));
      }
    }
    for (const auto& group : result.groups) {
      // Per-tensor values (layer-wise decay) split the group: one optimizer group per distinct value set.
      std::map<std::string, TrainerGroup> parts;
      std::vector<std::string> order;
      for (std::size_t k = 0; k < group.tensors.size(); ++k) {
        std::size_t i = group.tensors[k];
        std::vector<GroupOption> options;
        std::string suffix;
        for (const auto& option : group.options) {
          GroupOption effective = option;
          if (option.computed && k < group.per_tensor.size())
            for (const auto& [key, value] : group.per_tensor[k].values)
              if (key == option.key) {
                effective.value = value;
                effective.computed.reset();
                const double* number = std::get_if<double>(&value.value);
                suffix += fmt::format("{}{}={}", suffix.empty() ? "" : ",", key, number ? fmt::format("{:.6g}", *number) : "null");
              }
          options.push_back(std::move(effective));
        }
        std::string name = suffix.empty() ? group.name : fmt::format("{}[{}]", group.name, suffix);
        auto [part, inserted] = parts.try_emplace(name, TrainerGroup{name, {}, {}, std::move(options), group.is_default});
        if (inserted) order.push_back(name);
        part->second.names.push_back(table.tensors[i].name);
        part->second.parameters.push_back(tensors[i]);
      }
      if (order.empty()) out.groups.push_back(TrainerGroup{group.name, {}, {}, group.options, group.is_default});
      for (const auto& name : order) out.groups.push_back(std::move(parts.at(name)));
    }
    return out;
  }
};

TrainerRules::TrainerRules(const std::string& rule_file) : impl_(std::make_unique<Impl>()) {
  try {
    impl_->rules = load_rule_file(rule_file);
  } catch (const InputError& error) {
    throw TrainerError(fmt::format("error[{}]: {}", error.code(), error.what()));
  }
  if (impl_->rules.diagnostics.has_errors()) throw TrainerError(rendered(impl_->rules.diagnostics));
}

TrainerRules::~TrainerRules() = default;
TrainerRules::TrainerRules(TrainerRules&&) noexcept = default;

TensorTable TrainerRules::describe(torch::nn::Module& module) {
  // Module classes by path, walking children (no shared_ptr to the root needed).
  std::map<std::string, std::string> types;
  std::vector<std::pair<std::string, torch::nn::Module*>> stack{{"", &module}};
  TableBuilder builder;
  builder.table.has_module_types = true;
  while (!stack.empty()) {
    auto [path, current] = stack.back();
    stack.pop_back();
    types[path] = short_type(current->name());
    builder.table.modules.emplace_back(path, types[path]);
    auto children = current->named_children();
    for (auto it = children.end(); it != children.begin();) {
      --it;
      stack.emplace_back(path.empty() ? it->key() : path + "." + it->key(), it->value().get());
    }
  }
  for (const auto& item : named_tensors(module)) builder.add(item.name, item.tensor, item.kind, owner_type(types, item.name));
  builder.table.model = short_type(module.name());
  return builder.table;
}

TensorTable TrainerRules::describe(const torch::jit::Module& module) {
  std::map<std::string, std::string> types;
  TableBuilder builder;
  builder.table.has_module_types = true;
  for (const auto& item : module.named_modules()) {
    auto qualified = item.value.type()->name();
    types[item.name] = qualified ? qualified->name() : "";  // __torch__.models.Block -> Block
    builder.table.modules.emplace_back(item.name, types[item.name]);
  }
  for (const auto& item : named_tensors(module)) builder.add(item.name, item.tensor, item.kind, owner_type(types, item.name));
  builder.table.model = types[""];
  return builder.table;
}

TrainerGroups TrainerRules::assign(torch::nn::Module& module) const {
  return impl_->assign(describe(module), tensors_only(named_tensors(module)));
}

TrainerGroups TrainerRules::assign(torch::jit::Module& module) const {
  return impl_->assign(describe(module), tensors_only(named_tensors(module)));
}

LoadReport TrainerRules::load(torch::nn::Module& module, const std::vector<std::string>& checkpoints, const std::string& plan_name) const {
  std::vector<std::string> names;
  const CheckpointPlan* plan = find_plan(impl_->rules, plan_name, names);
  if (!plan)
    throw TrainerError(names.empty() ? "the rule file holds no `plan` block"
                                     : fmt::format("the rule file holds the plans {}; name one", fmt::join(names, ", ")));
  std::vector<std::string> inputs = checkpoints;
  if (inputs.empty() && plan->checkpoint_path) inputs.push_back(*plan->checkpoint_path);
  if (inputs.empty()) throw TrainerError("no checkpoint given, and the plan names none");

  MergedCheckpoints merged;
  try {
    ReadOptions options;
    if (!plan->sources.empty()) options.source_order = plan->sources;
    merged = read_merged_checkpoints(inputs, options);
  } catch (const InputError& error) {
    throw TrainerError(fmt::format("error[{}]: {}", error.code(), error.what()));
  }
  TensorTable target = describe(module);
  LoadReport report;
  report.plan = run_plan(*plan, merged.table, &target);
  if (report.plan.diagnostics.has_errors()) throw TrainerError(rendered(report.plan.diagnostics));
  if (report.plan.verdict.load_fails) {
    const PlanResult& plan = report.plan;
    std::string details;
    if (!plan.mismatched.empty()) {
      std::vector<std::string> shapes;
      for (const auto& m : plan.mismatched)
        shapes.push_back(fmt::format("{} {} vs {}", m.name, shape_text(m.source_shape), shape_text(m.target_shape)));
      details += fmt::format("; shape mismatch: {}", fmt::join(shapes, ", "));
    }
    if (!plan.missing.empty()) details += fmt::format("; missing: {}", fmt::join(plan.missing, ", "));
    if (!plan.unexpected.empty()) details += fmt::format("; unexpected: {}", fmt::join(plan.unexpected, ", "));
    throw TrainerError(fmt::format("{}{}; nothing was loaded ({})", fmt::join(plan.verdict.reasons, "; "), details,
                                   plan.verdict.hint));
  }

  std::map<std::string, torch::Tensor> destination;
  for (auto& item : named_tensors(module)) destination.emplace(std::move(item.name), std::move(item.tensor));
  Materializer materializer(report.plan.keys, [&](std::size_t row) -> const TensorData& { return merged.data(row); });
  // Everything is made and checked before the first copy: a failure leaves the module as it was.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  for (const auto& key : report.plan.keys) {
    auto found = destination.find(key.name);
    if (found == destination.end()) continue;  // unexpected keys of a non-strict load
    std::shared_ptr<const TensorData> made;
    try {
      made = materializer.make(key);
    } catch (const InputError& error) {
      throw TrainerError(fmt::format("{}: {}", key.name, error.what()));
    }
    auto type = aten_scalar_type(dtype_name(made->dtype));
    if (!type) throw TrainerError(fmt::format("{}: LibTorch 1.13 has no {} tensors", key.name, dtype_name(made->dtype)));
    if (found->second.sizes().vec() != made->shape)
      throw TrainerError(fmt::format("{} is {} in the checkpoint and {} in the module", key.name, shape_text(made->shape),
                                     shape_text(found->second.sizes().vec())));
    auto bytes = std::make_shared<std::vector<uint8_t>>(made->contiguous_bytes());
    torch::Tensor source = torch::from_blob(bytes->data(), made->shape, [bytes](void*) {}, torch::TensorOptions().dtype(*type));
    copies.emplace_back(found->second, source);
  }
  torch::NoGradGuard no_grad;
  for (auto& [into, from] : copies) into.copy_(from);
  report.loaded = copies.size();
  return report;
}

std::string TrainerRules::describe(const LoadReport& report) {
  const PlanResult& plan = report.plan;
  std::string out = fmt::format("loaded {} tensors", report.loaded);
  auto add = [&](std::string_view what, std::size_t count) {
    if (count) out += fmt::format("; {} {}", count, what);
  };
  add("renamed", plan.renamed.size());
  add("copied", plan.copied.size());
  add("tied as in the module", plan.tied.size());
  add("dropped", plan.dropped.size());
  add("made by split/fuse/stack/unstack", plan.surgery.size());
  add("skipped for shape", plan.skipped.size());
  add("of another shape", plan.mismatched.size());
  add("not in the module", plan.not_in_target.size());
  add("missing", plan.missing.size());
  add("unexpected", plan.unexpected.size());
  return out;
}

}  // namespace taxon
