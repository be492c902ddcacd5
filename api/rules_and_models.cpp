// Rules and Model: the front door's inputs (include/taxon/taxon.hpp).
#include <fmt/format.h>

#include "api/internal.hpp"
#include "engine/source.hpp"
#include "runtime/model_dump.hpp"

namespace taxon {

Finding to_finding(const Diagnostic& diagnostic) {
  Finding out;
  out.code = diagnostic.code;
  out.level = diagnostic.severity == Severity::error     ? Level::error
              : diagnostic.severity == Severity::warning ? Level::warning
                                                         : Level::note;
  out.message = diagnostic.message;
  out.hint = diagnostic.hint;
  if (diagnostic.span.file) out.file = diagnostic.span.file->path;
  if (diagnostic.span.has_position()) {
    out.line = static_cast<int>(diagnostic.span.line);
    out.column = static_cast<int>(diagnostic.span.col);
  }
  out.rendered = render_text(diagnostic);
  return out;
}

std::vector<Finding> to_findings(const std::vector<Diagnostic>& diagnostics) {
  std::vector<Finding> out;
  out.reserve(diagnostics.size());
  for (const auto& diagnostic : diagnostics) out.push_back(to_finding(diagnostic));
  return out;
}

std::string render_findings(const std::vector<Finding>& findings, std::size_t max_shown) {
  std::string out;
  std::size_t shown = std::min(max_shown, findings.size());
  for (std::size_t i = 0; i < shown; ++i) out += findings[i].rendered;
  if (findings.size() > shown) out += fmt::format("and {} more (raise --max-errors to see them)\n", findings.size() - shown);
  return out;
}

Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Model::Model(std::vector<ModelTensor> tensors, std::string name, std::vector<ModelModule> modules) {
  auto impl = std::make_shared<Impl>();
  impl->table.model = std::move(name);
  impl->table.has_module_types = !modules.empty();
  for (auto& module : modules) {
    if (!module.ancestry.empty()) impl->table.module_mro.insert_or_assign(module.path, std::move(module.ancestry));
    if (!module.alias_of.empty()) impl->table.module_alias_of.insert_or_assign(module.path, std::move(module.alias_of));
    impl->table.add_module(module.path, module.type);
  }
  std::unordered_map<std::string_view, std::size_t> index;
  for (auto& tensor : tensors) {
    TensorRecord record;
    record.name = impl->table.text(tensor.name);
    record.shape = impl->table.dims(tensor.shape);
    record.dtype = impl->table.text(tensor.dtype);
    if (tensor.kind == "buffer") record.kind = TensorKind::buffer;
    else if (tensor.kind == "unknown") record.kind = TensorKind::unknown;
    else if (tensor.kind != "parameter")
      throw Error(std::string(code::malformed_dump),
                  fmt::format("tensor \"{}\": kind must be parameter, buffer or unknown, not \"{}\"", record.name, tensor.kind));
    impl->table.has_unknown_kinds |= record.kind == TensorKind::unknown;
    record.module = impl->table.text(tensor.module);
    record.module_type = impl->table.text(tensor.module_type);
    impl->table.has_module_types |= !record.module_type.empty();
    record.requires_grad = tensor.requires_grad;
    record.persistent = tensor.persistent;
    if (!tensor.tied_to.empty()) {
      auto found = index.find(tensor.tied_to);
      if (found == index.end())
        throw Error(std::string(code::malformed_dump),
                    fmt::format("tensor \"{}\" is tied to \"{}\", which comes nowhere before it", record.name, tensor.tied_to));
      record.tied_to = found->second;
    }
    index.emplace(record.name, impl->table.tensors.size());
    impl->table.tensors.push_back(std::move(record));
  }
  impl_ = std::move(impl);
}

Model Model::from_dump(const std::string& path) {
  return translating_errors([&] { return Model(std::make_shared<const Impl>(Impl{read_model_dump(path), path, {}})); });
}

std::size_t Model::size() const { return impl_->table.tensors.size(); }

std::vector<ModelModule> Model::modules() const {
  std::vector<ModelModule> out;
  for (const auto& [path, type] : impl_->table.modules) {
    auto mro = impl_->table.module_mro.find(path);
    auto first = impl_->table.module_alias_of.find(path);
    out.push_back({std::string(path), std::string(type), mro != impl_->table.module_mro.end() ? mro->second : std::vector<std::string>{},
                   first != impl_->table.module_alias_of.end() ? first->second : std::string()});
  }
  return out;
}

ModelTensor to_model_tensor(const TensorTable& table, std::size_t row) {
  const TensorRecord& record = table.tensors[row];
  ModelTensor tensor;
  tensor.name = record.name;
  tensor.shape = record.shape.to_vector();
  tensor.dtype = record.dtype;
  tensor.kind = record.kind == TensorKind::buffer ? "buffer" : record.kind == TensorKind::unknown ? "unknown" : "parameter";
  tensor.module = record.module;
  tensor.module_type = record.module_type;
  tensor.requires_grad = record.requires_grad;
  tensor.persistent = record.persistent;
  if (record.tied_to) tensor.tied_to = table.tensors[*record.tied_to].name;
  return tensor;
}

std::vector<ModelTensor> Model::tensors() const {
  std::vector<ModelTensor> out;
  out.reserve(impl_->table.tensors.size());
  for (std::size_t row = 0; row < impl_->table.tensors.size(); ++row) out.push_back(to_model_tensor(impl_->table, row));
  return out;
}

Rules::Rules(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Rules Rules::load(const std::string& path, const RuleParameters& parameters) {
  return translating_errors(
      [&] { return Rules(std::make_shared<const Impl>(Impl{load_rule_file(path, parameters), path})); });
}

bool Rules::ok() const { return !impl_->file.diagnostics.has_errors(); }

std::vector<Finding> Rules::findings() const { return to_findings(impl_->file.diagnostics.items()); }

std::vector<std::string> Rules::plans() const {
  std::vector<std::string> names;
  for (const auto& plan : impl_->file.checkpoint_plans) names.push_back(plan.name);
  return names;
}

std::vector<std::string> stdlib_presets() { return stdlib_preset_names(); }

}  // namespace taxon

namespace taxon {

Rules Rules::parse(const std::string& text, const std::string& name, const RuleParameters& parameters) {
  bool yaml = name.ends_with(".yaml") || name.ends_with(".yml");
  return parse(text, yaml ? RulesLanguage::yaml : RulesLanguage::tx, name, parameters);
}

}  // namespace taxon
