// `taxon lint` and `taxon explain`: what rules do that their author did not mean.
#include "tools/lint_command.hpp"

#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/explain.hpp"
#include "engine/lint.hpp"
#include "grammar/ir_to_tx.hpp"
#include "runtime/input_error.hpp"
#include "runtime/model_dump.hpp"
#include "tools/cli_common.hpp"
#include "taxon/taxon.hpp"

#ifndef TAXON_VERSION
#define TAXON_VERSION "unknown"
#endif

namespace taxon::cli {

void LintCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("lint", "Find mistakes in rule files, alone or against model dumps");
  command->footer(
      "Without a dump: syntax and type errors, unused or shadowed bindings, rules that are always\n"
      "true or never match, suspicious regexes (linnaeus's trailing-dot quirk, patterns Python\n"
      "backtracks on), redundant patterns, literal patterns an earlier group already covers.\n"
      "With --dump (repeatable): groups that overlap (an error in overlap mode: the tensor goes to\n"
      "two optimizers), rules that match nothing on every dump, parameters that fall through to\n"
      "the default group, groups fully shadowed by earlier ones.\n"
      "\n"
      "Examples:\n"
      "  taxon lint rules.tx\n"
      "  taxon lint config.yaml --dump vit.json --dump swin.json\n"
      "  taxon lint rules.tx --dump model.json --format sarif > taxon.sarif\n"
      "\n"
      "Exit status: 0 no error-level finding; 1 an error-level finding (a file that does not parse\n"
      "is one); 2 an unreadable file or a usage error.");
  command->add_option("RULES", rules, "Rule files (.tx, .yaml)")->required();
  command->add_option("--dump", dumps, "Model dump to check the rules against (repeatable)");
  command->add_option("--reference", reference, "Reference model dump for `initialization`/`new` rules");
  command->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json", "sarif"}))->capture_default_str();
  command->add_option("--max-errors", max_errors, "Findings shown in text before 'and N more'")->capture_default_str();
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int LintCommand::run() const {
  std::vector<Model> models;
  for (const auto& dump : dumps) models.push_back(Model::from_dump(dump));
  std::optional<Model> reference_model;
  if (!reference.empty()) reference_model = Model::from_dump(reference);
  LintReport report = lint(rules, models, EvaluateOptions{reference_model ? &*reference_model : nullptr});
  if (format == "json") {
    std::cout << report.json();
  } else if (format == "sarif") {
    std::cout << report.sarif();
  } else {
    std::cout << report.text(max_errors);
    std::cout << fmt::format("{}: {} error{}, {} warning{}\n", fmt::join(rules, ", "), report.errors,
                             report.errors == 1 ? "" : "s", report.warnings, report.warnings == 1 ? "" : "s");
  }
  return report.errors > 0 ? kAnswerNo : kDone;
}

void ExplainCommand::add_to(CLI::App& app) {
  CLI::App* command = app.add_subcommand("explain", "Show why one tensor lands where it does");
  command->footer(
      "For the tensor: every selection and group, whether it matched and why (each term of the rule\n"
      "with its own verdict), the captures of computed options, and the groups it finally joins.\n"
      "\n"
      "Example:\n"
      "  taxon explain rules.tx --dump model.json vit.layers.0.mlp.fc1.bias\n"
      "\n"
      "Exit status: 0 done; 2 the rules, the dump or the tensor name could not be found or read.");
  command->add_option("RULES", rules, "Rule file (.tx, .yaml)")->required();
  command->add_option("TENSOR", tensor, "Tensor name, as the dump lists it")->required();
  command->add_option("--dump", dump, "Model dump (model-dump/1 JSON)")->required();
  command->add_option("--reference", reference, "Reference model dump for `initialization`/`new` rules");
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

namespace {

void print_tree(std::string& out, const ExplainNode& node, std::size_t depth) {
  out += fmt::format("{}{} {}\n", std::string(4 + 2 * depth, ' '), node.matched ? "✓" : "✗", tx::describe_node(*node.predicate));
  for (const auto& child : node.children) print_tree(out, child, depth + 1);
}

}  // namespace

int ExplainCommand::run() const {
  RuleFile loaded = load_rule_file(rules);
  if (loaded.diagnostics.has_errors()) {
    print_diagnostics(loaded.diagnostics.items(), 5);
    return kCouldNot;
  }
  TensorTable table = read_model_dump(dump);
  std::size_t index = table.tensors.size();
  for (std::size_t i = 0; i < table.tensors.size(); ++i)
    if (table.tensors[i].name == tensor) index = i;
  if (index == table.tensors.size()) {
    std::vector<std::string> names;
    for (const auto& t : table.tensors) names.push_back(t.name);
    std::string suggestion = closest_match(tensor, names);
    throw InputError(code::no_such_tensor,
                     fmt::format("{}: no tensor named '{}'{}", dump, tensor,
                                 suggestion.empty() ? "; `taxon eval RULES --dump DUMP --all` lists every name"
                                                    : fmt::format("; did you mean '{}'?", suggestion)));
  }
  std::optional<ReferenceShapes> reference_shapes = load_reference(reference);
  EvalOptions options{reference_shapes ? &*reference_shapes : nullptr};
  Explanation explanation = explain(loaded.program, table, index, options);
  const TensorRecord& record = table.tensors[index];
  std::string out = fmt::format("{}  [{}] {} {}", tensor, fmt::join(record.shape, ", "), record.dtype,
                                record.kind == TensorKind::buffer    ? "buffer"
                                : record.kind == TensorKind::unknown ? "parameter or buffer"
                                                                     : "parameter");
  if (!record.module_type.empty()) out += fmt::format(", owned by {} ({})", record.module.empty() ? "the root" : record.module, record.module_type);
  if (record.kind == TensorKind::buffer)
    out += ", never trained (buffers take no gradient)\n";
  else if (record.kind == TensorKind::unknown)
    out += explanation.trainable ? " (a checkpoint does not say; rules see a parameter), not frozen by any rule\n"
                                 : " (a checkpoint does not say; rules see a parameter), frozen\n";
  else
    out += explanation.trainable ? ", trainable\n" : ", frozen\n";
  if (table.tensors[explanation.tensor].name != tensor)
    out += fmt::format("  tied to {}: rules see that name\n", table.tensors[explanation.tensor].name);
  if (explanation.match_name != table.tensors[explanation.tensor].name)
    out += fmt::format("  rules match the name as {}\n", explanation.match_name);

  if (!explanation.selections.empty()) out += "\nselections\n";
  for (const auto& verdict : explanation.selections) {
    out += fmt::format("  {}: {}\n", verdict.name,
                       !verdict.considered ? "not considered (it sees parameters only)" : verdict.matched ? "selected" : "not selected");
    if (verdict.considered) print_tree(out, verdict.tree, 0);
  }
  if (!explanation.groups.empty()) {
    out += fmt::format("\ngroups ({})\n", !explanation.groups_enabled ? "disabled: the default group takes every parameter"
                                          : explanation.mode == GroupMode::overlap ? "overlap mode" : "first-match mode");
    std::vector<std::string> joined, matched;
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
      if (verdict.joined) joined.push_back(verdict.name);
    }
    const auto& fallback = explanation.groups.back();
    if (fallback.joined) joined.push_back(fallback.name);
    if (joined.empty())
      out += fmt::format("\n=> joins no group{}\n", explanation.trainable ? "" : " (frozen parameters never reach the default group)");
    else
      out += fmt::format("\n=> joins {}{}\n", fmt::join(joined, ", "),
                         fallback.joined ? " (no other group took it)" : "");
    for (const auto& group : explanation.evaluation.groups) {
      if (std::find(joined.begin(), joined.end(), group.name) == joined.end()) continue;
      for (const auto& entry : group.per_tensor)
        if (entry.tensor == explanation.tensor)
          for (const auto& [key, value] : entry.values) out += fmt::format("   {}.{} = {}\n", group.name, key, to_json(value).dump());
    }
  }
  std::cout << out;
  return kDone;
}

}  // namespace taxon::cli
