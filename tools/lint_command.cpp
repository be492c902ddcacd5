// `taxon lint` and `taxon explain`: what rules do that their author did not mean.
#include "tools/lint_command.hpp"

#include <algorithm>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "taxon/taxon.hpp"
#include "tools/cli_common.hpp"
#include "tools/terminal_colour.hpp"
#include "tools/cli_inputs.hpp"

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
  command->add_option("RULES", rules, "Rule files (.tx, .yaml), or - for one on standard input")->required();
  add_lang_option(command, lang);
  command->add_option("--dump", dumps, "Model to check the rules against (repeatable): " "a model dump (model-dump/1 JSON), a checkpoint (.pt, .safetensors; no module types), or - for a dump on standard input");
  add_param_option(command, parameters);
  command->add_option("--reference", reference, "Reference model dump for `initialization`/`new` rules");
  command->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json", "sarif"}))->capture_default_str();
  command->add_option("--max-errors", max_errors, "Findings shown in text before 'and N more'")->capture_default_str();
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int LintCommand::run() const {
  std::vector<std::string> inputs = rules;
  inputs.insert(inputs.end(), dumps.begin(), dumps.end());
  inputs.push_back(reference);
  check_one_stdin(inputs);
  std::vector<Model> models;
  for (const auto& dump : dumps) models.push_back(read_model(dump));
  std::optional<Model> reference_model;
  if (!reference.empty()) reference_model = read_model(reference);
  EvaluateOptions options{reference_model ? &*reference_model : nullptr};
  // Rules from standard input are linted as one file: they have no path to read again.
  LintReport report = rules == std::vector<std::string>{"-"} ? lint(read_rules("-", lang, parameters), models, options)
                                                             : lint(rules, models, options, parameters);
  if (format == "json") {
    std::cout << report.json();
  } else if (format == "sarif") {
    std::cout << report.sarif();
  } else {
    std::cout << paint_diagnostics(report.text(max_errors), 1);
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
      "Examples:\n"
      "  taxon explain rules.tx --dump model.json vit.layers.0.mlp.fc1.bias\n"
      "  taxon explain rules.tx --dump model.json vit.head.weight --format json   for scripts\n"
      "\n"
      "Exit status (as `taxon eval`'s): 0 done; 1 an error-level finding stands (e.g. a layer_type\n"
      "rule on a dump without module types); 2 the rules, the dump or the tensor name could not be\n"
      "found or read.");
  command->add_option("RULES", rules, "Rule file (.tx, .yaml), a stdlib preset, or - for standard input")->required();
  add_lang_option(command, lang);
  command->add_option("TENSOR", tensor, "Tensor name, as the dump lists it")->required();
  command->add_option("--dump", dump, "Model: " "a model dump (model-dump/1 JSON), a checkpoint (.pt, .safetensors; no module types), or - for a dump on standard input")->required();
  command->add_option("--reference", reference, "Reference model dump for `initialization`/`new` rules");
  add_param_option(command, parameters);
  command->add_option("--format", format, "Output format")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  command->add_option("--max-errors", max_errors, "Diagnostics shown on stderr before 'and N more'")->capture_default_str();
  command->callback([this]() { throw CLI::RuntimeError(run()); });
}

int ExplainCommand::run() const {
  check_one_stdin({rules, dump, reference});
  Rules loaded = read_rules(rules, lang, parameters);
  if (!loaded.ok()) {
    std::cerr << paint_diagnostics(render_findings(loaded.findings(), max_errors), 2);
    return kCouldNot;
  }
  Model model = read_model(dump);
  std::optional<Model> reference_model;
  if (!reference.empty()) {
    // A misspelled name is reported before the reference is read, as ever: explain() throws
    // no_such_tensor before it evaluates anything.
    auto tensors = model.tensors();
    if (std::none_of(tensors.begin(), tensors.end(), [&](const ModelTensor& t) { return t.name == tensor; }))
      explain(loaded, model, tensor);
    reference_model = read_model(reference);
  }
  Explanation explanation = explain(loaded, model, tensor, EvaluateOptions{reference_model ? &*reference_model : nullptr});
  if (format == "json") {
    std::cout << explanation.json();
  } else {
    std::cout << explanation.text();
    std::cout.flush();
    std::cerr << paint_diagnostics(render_findings(explanation.findings, max_errors), 2);
  }
  return explanation.has_errors() ? kAnswerNo : kDone;
}

}  // namespace taxon::cli
