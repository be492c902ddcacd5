// explain(): why one tensor lands where it does (include/taxon/taxon.hpp), rendered as
// `taxon explain` renders it.
#include <algorithm>

#include <fmt/format.h>

#include "api/internal.hpp"
#include "api/report_json.hpp"
#include "engine/explain.hpp"
#include "grammar/ir_to_tx.hpp"
#include "runtime/model_dump.hpp"

namespace taxon {

// The text is rendered while the rules are at hand: the engine's verdicts point into their program,
// which the Explanation does not keep.
struct Explanation::Impl {
  std::string text;
  Diagnostics diagnostics;
};

namespace {

ExplainedTerm to_term(const ExplainNode& node) {
  ExplainedTerm term{tx::describe_node(*node.predicate), node.matched, {}};
  for (const auto& child : node.children) term.terms.push_back(to_term(child));
  return term;
}

RuleExplanation to_rule(const RuleVerdict& verdict) {
  RuleExplanation out;
  out.name = verdict.name;
  out.considered = verdict.considered;
  out.matched = verdict.matched;
  out.joined = verdict.joined;
  if (verdict.tree.predicate) out.predicate = to_term(verdict.tree);
  out.captures.assign(verdict.captures.begin(), verdict.captures.end());
  return out;
}

void print_tree(std::string& out, const ExplainNode& node, std::size_t depth) {
  out += fmt::format("{}{} {}\n", std::string(4 + 2 * depth, ' '), node.matched ? "✓" : "✗", tx::describe_node(*node.predicate));
  for (const auto& child : node.children) print_tree(out, child, depth + 1);
}

std::string render(const ExplainResult& explanation, const TensorTable& table, std::size_t asked) {
  const TensorRecord& record = table.tensors[asked];
  std::string_view rules_see = table.tensors[explanation.tensor].name;
  std::string out = fmt::format("{}  [{}] {} {}", record.name, fmt::join(record.shape, ", "), record.dtype,
                                record.kind == TensorKind::buffer    ? "buffer"
                                : record.kind == TensorKind::unknown ? "parameter or buffer"
                                                                     : "parameter");
  if (!record.module_type.empty())
    out += fmt::format(", owned by {} ({})", record.module.empty() ? "the root" : record.module, record.module_type);
  if (record.kind == TensorKind::buffer)
    out += ", never trained (buffers take no gradient)\n";
  else if (record.kind == TensorKind::unknown)
    out += explanation.trainable ? " (a checkpoint does not say; rules see a parameter), not frozen by any rule\n"
                                 : " (a checkpoint does not say; rules see a parameter), frozen\n";
  else
    out += explanation.trainable ? ", trainable\n" : ", frozen\n";
  if (rules_see != record.name) out += fmt::format("  tied to {}: rules see that name\n", rules_see);
  if (explanation.match_name != rules_see) out += fmt::format("  rules match the name as {}\n", explanation.match_name);

  if (!explanation.selections.empty()) out += "\nselections\n";
  for (const auto& verdict : explanation.selections) {
    out += fmt::format("  {}: {}\n", verdict.name,
                       !verdict.considered ? "not considered (it sees parameters only)" : verdict.matched ? "selected" : "not selected");
    if (verdict.considered) print_tree(out, verdict.tree, 0);
  }
  if (explanation.groups.empty()) return out;
  out += fmt::format("\ngroups ({})\n", !explanation.groups_enabled ? "disabled: the default group takes every parameter"
                                        : explanation.mode == GroupMode::overlap ? "overlap mode"
                                                                                 : "first-match mode");
  std::vector<std::string> joined;
  for (std::size_t g = 0; g + 1 < explanation.groups.size(); ++g) {
    const auto& verdict = explanation.groups[g];
    std::string state = !verdict.considered ? "not considered (groups see parameters only)"
                        : verdict.joined    ? "matches, joins it"
                        : verdict.matched   ? "matches, but an earlier group took it"
                                            : "no match";
    out += fmt::format("  {}: {}\n", verdict.name, state);
    if (verdict.considered) print_tree(out, verdict.tree, 0);
    if (!verdict.captures.empty()) {
      std::vector<std::string> parts;
      for (const auto& [name, value] : verdict.captures) parts.push_back(name + "=" + value);
      out += fmt::format("    captures: {}\n", fmt::join(parts, ", "));
    }
  }
  const auto& fallback = explanation.groups.back();
  if (!explanation.set_rules.empty()) out += "\nset rules (options for what they select, in whatever group it joins)\n";
  for (const auto& verdict : explanation.set_rules) {
    out += fmt::format("  {}: {}\n", verdict.name,
                       !verdict.considered ? "not considered (set rules see parameters only)"
                       : verdict.matched   ? "applies"
                                           : "does not apply");
    if (verdict.considered) print_tree(out, verdict.tree, 0);
    if (verdict.matched && !verdict.captures.empty()) {
      std::vector<std::string> parts;
      for (const auto& [name, value] : verdict.captures) parts.push_back(name + "=" + value);
      out += fmt::format("    captures: {}\n", fmt::join(parts, ", "));
    }
  }
  for (const auto& group : explanation.evaluation.groups)
    if (std::binary_search(group.tensors.begin(), group.tensors.end(), explanation.tensor)) joined.push_back(group.name);
  if (joined.empty())
    out += fmt::format("\n=> joins no group{}\n", explanation.trainable ? "" : " (frozen parameters never reach the default group)");
  else
    out += fmt::format("\n=> joins {}{}\n", fmt::join(joined, ", "), fallback.joined ? " (no other group took it)" : "");
  for (const auto& group : explanation.evaluation.groups) {
    if (std::find(joined.begin(), joined.end(), group.name) == joined.end()) continue;
    if (!group.set_by.empty()) {
      std::vector<std::string> options;
      for (const auto& option : group.options)
        if (!option.computed) options.push_back(option.key + " = " + to_json(option.value).dump());
      out += fmt::format("   {}: {}\n", group.name, fmt::join(options, ", "));
    }
    for (const auto& entry : group.per_tensor)
      if (entry.tensor == explanation.tensor)
        for (const auto& [key, value] : entry.values) out += fmt::format("   {}.{} = {}\n", group.name, key, to_json(value).dump());
  }
  return out;
}

}  // namespace

Explanation explain(const Rules& rules, const Model& model, const std::string& tensor, const EvaluateOptions& options) {
  if (!rules.ok()) throw Error("T0102", "the rules have errors; see Rules::findings()");
  return translating_errors([&] {
    const TensorTable& table = model.impl().table;
    std::size_t asked = table.tensors.size();
    for (std::size_t i = 0; i < table.tensors.size(); ++i)  // the last of a name given twice, as ever
      if (table.tensors[i].name == tensor) asked = i;
    if (asked == table.tensors.size()) {
      std::vector<std::string> names;
      for (const auto& record : table.tensors) names.emplace_back(record.name);
      std::string suggestion = closest_match(tensor, names);
      throw InputError(code::no_such_tensor,
                       fmt::format("{}: no tensor named '{}'{}", model_name(model), tensor,
                                   suggestion.empty() ? "; `taxon eval RULES --dump DUMP --all` lists every name"
                                                      : fmt::format("; did you mean '{}'?", suggestion)));
    }
    std::optional<ReferenceShapes> reference;
    if (options.reference) reference = reference_shapes(options.reference->impl().table, model_name(*options.reference));
    ExplainResult result = explain(rules.impl().file.program, table, asked, EvalOptions{reference ? &*reference : nullptr});

    Explanation out;
    out.tensor = to_model_tensor(table, asked);
    out.rules_see = table.tensors[result.tensor].name;
    out.match_name = result.match_name;
    out.trainable = result.trainable;
    for (const auto& verdict : result.selections) out.selections.push_back(to_rule(verdict));
    for (const auto& verdict : result.groups) out.groups.push_back(to_rule(verdict));
    for (const auto& verdict : result.set_rules) out.set_rules.push_back(to_rule(verdict));
    out.group_mode = result.mode == GroupMode::overlap ? "overlap" : "first-match";
    out.groups_enabled = result.groups_enabled;
    for (const auto& group : result.evaluation.groups) {
      if (!std::binary_search(group.tensors.begin(), group.tensors.end(), result.tensor)) continue;
      out.joined.push_back(group.name);
      auto declared = std::find_if(out.groups.begin(), out.groups.end(), [&](const RuleExplanation& rule) {
        return rule.name == group.rule;
      });
      for (const auto& entry : group.per_tensor)
        if (entry.tensor == result.tensor && declared != out.groups.end())
          for (const auto& [key, value] : entry.values) declared->per_tensor.push_back(to_setting(key, value));
    }
    Diagnostics diagnostics = rules.impl().file.diagnostics;  // the front end's warnings come first, as in evaluate()
    diagnostics.append(result.evaluation.diagnostics);
    out.findings = to_findings(diagnostics.items());
    out.impl = std::make_shared<const Explanation::Impl>(Explanation::Impl{render(result, table, asked), std::move(diagnostics)});
    return out;
  });
}

std::string Explanation::text() const { return impl ? impl->text : std::string(); }

bool Explanation::has_errors() const { return impl && impl->diagnostics.has_errors(); }

namespace {

nlohmann::ordered_json term_json(const ExplainedTerm& term) {
  nlohmann::ordered_json out = {{"term", term.text}, {"matched", term.matched}};
  if (!term.terms.empty()) {
    out["terms"] = nlohmann::ordered_json::array();
    for (const auto& child : term.terms) out["terms"].push_back(term_json(child));
  }
  return out;
}

// A computed option's value for the tensor: a number, or null where a capture was not one.
nlohmann::ordered_json setting_json(const Setting& setting) {
  if (setting.number) return *setting.number;
  return setting.value == "null" ? nlohmann::ordered_json() : nlohmann::ordered_json(setting.value);
}

nlohmann::ordered_json rules_json(const std::vector<RuleExplanation>& rules) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& rule : rules) {
    nlohmann::ordered_json entry = {{"name", rule.name}, {"considered", rule.considered}, {"matched", rule.matched},
                                    {"joined", rule.joined}};
    entry["predicate"] = rule.predicate ? term_json(*rule.predicate) : nlohmann::ordered_json();
    entry["captures"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : rule.captures) entry["captures"][name] = value;
    entry["per_tensor"] = nlohmann::ordered_json::object();
    for (const auto& setting : rule.per_tensor) entry["per_tensor"][setting.name] = setting_json(setting);
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace

std::string Explanation::json() const {
  nlohmann::ordered_json out;
  out["tensor"] = {{"name", tensor.name},   {"shape", tensor.shape},   {"dtype", tensor.dtype},
                   {"kind", tensor.kind},   {"module", tensor.module}, {"module_type", tensor.module_type}};
  out["rules_see"] = rules_see;
  out["match_name"] = match_name;
  out["trainable"] = trainable;
  out["group_mode"] = group_mode;
  out["groups_enabled"] = groups_enabled;
  out["selections"] = rules_json(selections);
  out["groups"] = rules_json(groups);
  out["set_rules"] = rules_json(set_rules);
  out["joined"] = joined;
  out["diagnostics"] = nlohmann::ordered_json::array();
  if (impl)
    for (const auto& diagnostic : impl->diagnostics.items()) out["diagnostics"].push_back(to_json(diagnostic));
  return out.dump(2) + "\n";
}

}  // namespace taxon
