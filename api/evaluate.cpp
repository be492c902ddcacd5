// evaluate() and Report: which tensors each selection and group gets
// (include/taxon/taxon.hpp), rendered as `taxon eval` renders them.
#include "api/eval_report.hpp"
#include "api/internal.hpp"
#include "api/report_json.hpp"
#include "runtime/model_dump.hpp"

namespace taxon {

Setting to_setting(const std::string& name, const OptionValue& value) {
  Setting out;
  out.name = name;
  if (const auto* text = std::get_if<std::string>(&value.value)) out.value = *text;
  else out.value = to_json(value).dump();
  if (const auto* integer = std::get_if<int64_t>(&value.value)) out.number = static_cast<double>(*integer);
  if (const auto* real = std::get_if<double>(&value.value)) out.number = *real;
  return out;
}

namespace {

std::vector<std::string> names(const TensorTable& table, const std::vector<std::size_t>& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (std::size_t row : rows) out.emplace_back(table.tensors[row].name);
  return out;
}

ReferenceShapes reference_of(const Model& model) { return reference_shapes(model.impl().table, model_name(model)); }

}  // namespace

Report evaluate(const Rules& rules, const Model& model, const EvaluateOptions& options) {
  if (!rules.ok()) throw Error("T0102", "the rules have errors; see Rules::findings()");
  auto impl = std::make_shared<Report::Impl>();
  impl->model = model.shared_impl();
  impl->rules_path = rules.impl().path;
  impl->model_name = model_name(model);
  std::optional<ReferenceShapes> reference;
  if (options.reference) reference = reference_of(*options.reference);
  EvalOptions eval_options{reference ? &*reference : nullptr};
  eval_options.threads = options.threads;
  impl->result = evaluate(rules.impl().file.program, impl->table(), eval_options);
  Diagnostics all = rules.impl().file.diagnostics;  // the front end's warnings come first
  all.append(impl->result.diagnostics);
  impl->result.diagnostics = all;

  Report report;
  const TensorTable& table = impl->table();
  const EvalResult& result = impl->result;
  const auto& declared = rules.impl().file.program.selections;  // evaluate() keeps their order
  const bool lists = options.tensor_lists;
  for (std::size_t s = 0; s < result.selections.size(); ++s) {
    report.selections.push_back({result.selections[s].name, {}, s < declared.size() && declared[s].freezes, {}});
    if (!lists) continue;
    report.selections.back().tensors = names(table, result.selections[s].tensors);
    report.selections.back().rows.assign(result.selections[s].tensors.begin(), result.selections[s].tensors.end());
  }
  for (const auto& group : result.groups) {
    GroupReport out;
    out.name = group.name;
    out.is_default = group.is_default;
    for (const auto& option : group.options)
      if (!option.computed) out.options.push_back(to_setting(option.key, option.value));
    out.rule = group.rule;
    out.set_by = group.set_by;
    if (lists) {
      out.tensors = names(table, group.tensors);
      out.rows.assign(group.tensors.begin(), group.tensors.end());
      out.frozen = names(table, group.frozen);
      for (const auto& entry : group.per_tensor) {
        std::vector<Setting> values;
        for (const auto& [key, value] : entry.values) values.push_back(to_setting(key, value));
        out.per_tensor.push_back(std::move(values));
      }
    }
    report.groups.push_back(std::move(out));
  }
  for (const auto& overlap : result.overlaps)
    report.overlaps.push_back({std::string(table.tensors[overlap.tensor].name), result.group_names(overlap.groups),
                               result.group_names(overlap.assigned)});
  report.findings = to_findings(result.diagnostics.items());
  report.impl = std::move(impl);
  return report;
}

std::string evaluation_plan(const Rules& rules, const Model& model, const EvaluateOptions& options) {
  if (!rules.ok()) throw Error("T0102", "the rules have errors; see Rules::findings()");
  std::optional<ReferenceShapes> reference;
  if (options.reference) reference = reference_of(*options.reference);
  EvaluationPlan plan =
      plan_evaluation(rules.impl().file.program, model.impl().table, EvalOptions{reference ? &*reference : nullptr});
  return render_evaluation_plan(plan, rules.impl().path, model_name(model));
}

bool Report::has_errors() const { return impl && impl->result.diagnostics.has_errors(); }

std::string Report::text(bool list_all) const {
  return render_eval_text(impl->result, impl->table(), impl->rules_path, impl->model_name, TextReportOptions{list_all});
}

std::string Report::json() const { return render_eval_json(impl->result, impl->table()) + "\n"; }

void Report::write_json(std::ostream& out) const {
  write_eval_json(impl->result, impl->table(), [&](std::string_view piece) { out.write(piece.data(), static_cast<std::streamsize>(piece.size())); });
  out << '\n';
}

}  // namespace taxon
